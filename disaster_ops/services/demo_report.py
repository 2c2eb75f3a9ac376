"""What a headless demo run did, from the database and the aerial worker's figures.

Ground error compares each stored drone detection with the nearest hazard planted on
the synthetic ground (same kind), in metres; the truth is known because the demo
planted it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from disaster_ops.storage.db import get_engine
from disaster_ops.storage.models import Camera, Detection, Incident, MissionStatus
from disaster_ops.storage.models import Mission as MissionRow
from geo.crs import LocalFrame

FAR_M = 15.0


@dataclass(frozen=True)
class Spread:
    median: float | None
    p95: float | None
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        if not values:
            return cls(None, None, 0)
        a = np.asarray(values, float)
        return cls(round(float(np.median(a)), 3), round(float(np.percentile(a, 95)), 3), len(values))


@dataclass(frozen=True)
class DemoReport:
    cameras: int
    incidents_by_kind: dict[str, int]
    incidents_by_source_kind: dict[str, int]
    incidents_corroborated_by_drone: int
    missions_planned: int
    missions_completed: int
    aerial_frames: int
    aerial_frames_unreferenced: int
    aerial_detections: int
    aerial_ground_error_m: dict
    aerial_far_detections: int  # more than FAR_M from every planted hazard: false alarms
    frame_to_incident_s: dict
    planted_hazards: int
    duration_s: float

    def to_dict(self) -> dict:
        return asdict(self)


def ground_errors_m(detections: list[tuple[str, float, float]], planted) -> list[float]:
    """Distance (m) from each detection to the nearest planted hazard of its kind."""
    out = []
    for kind, lat, lon in detections:
        cands = [h for h in planted if h.kind == kind]
        if not cands:
            continue
        f = LocalFrame.tangent(lat, lon)
        out.append(min(math.hypot(*(float(v) for v in f.to_xy_m(h.lat, h.lon))) for h in cands))
    return out


def demo_report(*, planted, aerial: dict | None, duration_s: float, engine: Engine | None = None) -> DemoReport:
    aerial = aerial or {}
    with Session(engine or get_engine()) as s:
        cameras = s.exec(select(func.count()).select_from(Camera)).one()
        incidents = s.exec(select(Incident.id, Incident.kind)).all()
        pairs = s.exec(select(Detection.incident_id, Detection.source_kind).distinct()).all()
        drone_dets = s.exec(select(Detection.kind, Detection.ground_lat, Detection.ground_lon)
                            .where(Detection.source_kind == "drone")).all()
        missions = s.exec(select(MissionRow.status)).all()
    by_source: dict[int, set[str]] = {}
    for inc_id, kind in pairs:
        by_source.setdefault(inc_id, set()).add(str(getattr(kind, "value", kind)))
    src_counts = Counter(k for kinds in by_source.values() for k in kinds)
    located = [(k, la, lo) for k, la, lo in drone_dets if la is not None and lo is not None]
    errors = ground_errors_m(located, planted)
    statuses = [str(getattr(m, "value", m)) for m in missions]
    return DemoReport(
        cameras=int(cameras),
        incidents_by_kind=dict(Counter(k for _i, k in incidents)),
        incidents_by_source_kind=dict(src_counts),
        incidents_corroborated_by_drone=sum(1 for k in by_source.values() if "drone" in k and len(k) > 1),
        missions_planned=len(statuses),
        missions_completed=statuses.count(MissionStatus.COMPLETED.value),
        aerial_frames=int(aerial.get("frames", 0)),
        aerial_frames_unreferenced=int(aerial.get("unreferenced", 0)),
        aerial_detections=len(drone_dets),
        aerial_ground_error_m=asdict(Spread.of(errors)),
        aerial_far_detections=sum(e > FAR_M for e in errors),
        frame_to_incident_s={k: v for k, v in asdict(Spread.of(aerial.get("frame_to_incident_s", []))).items()
                             if k != "n"},
        planted_hazards=len(planted),
        duration_s=round(duration_s, 1),
    )
