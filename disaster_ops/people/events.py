"""Typed records the people detectors produce: event kinds, events, per-frame summaries."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from disaster_ops.detect.records import Detections


class PeopleEventKind(str, enum.Enum):
    """Incident kinds raised by the people detectors (stored as their value)."""

    COLLAPSE = "collapse"
    CROWDING = "crowding"
    LOITERING = "loitering"


PEOPLE_KINDS: tuple[str, ...] = ("person", *(k.value for k in PeopleEventKind))


@dataclass(frozen=True)
class PeopleEvent:
    """One confirmed event of one camera.

    Attributes:
        kind: collapse, crowding or loitering.
        camera_id: camera (or drone stream, or file) name.
        started_s: when the condition began (person went down, density first above the
            level, track entered the zone), stream time in s.
        confirmed_s: when it had lasted long enough to raise, stream time in s.
        bbox_px: the person's box (collapse, loitering) or the zone's bounding box (crowding).
        track_id: the person's track (collapse, loitering), else None.
        zone: loitering / crowding zone name, else None.
        count: people counted (crowding), else None.
        density_per_m2: persons per m^2 (crowding), else None.
        snapshot_path: the frame saved when it was confirmed, if a snapshot folder was given.
    """

    kind: PeopleEventKind
    camera_id: str
    started_s: float
    confirmed_s: float
    bbox_px: tuple[float, float, float, float]
    confidence: float
    track_id: int | None = None
    zone: str | None = None
    count: int | None = None
    density_per_m2: float | None = None
    snapshot_path: str | None = None

    @property
    def duration_s(self) -> float:
        return self.confirmed_s - self.started_s

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind.value, "camera": self.camera_id, "started_s": round(self.started_s, 2),
            "confirmed_s": round(self.confirmed_s, 2), "bbox": [round(float(v), 1) for v in self.bbox_px],
            "confidence": round(float(self.confidence), 4),
        }
        for key in ("track_id", "zone", "count", "snapshot_path"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.density_per_m2 is not None:
            out["density_per_m2"] = round(self.density_per_m2, 3)
        return out


@dataclass(frozen=True)
class Stay:
    """A finished (or ongoing) stay of one track in a loitering zone."""

    zone: str
    track_id: int
    entered_s: float
    last_inside_s: float

    @property
    def dwell_s(self) -> float:
        return self.last_inside_s - self.entered_s


@dataclass(frozen=True)
class PeopleFrame:
    """What the people detectors made of one frame of one camera."""

    camera_id: str
    time_s: float
    persons: Detections  # kind 'person', data: posture, fall_score, track_id (videos)
    count: int
    density_per_m2: float | None
    events: tuple[PeopleEvent, ...] = field(default_factory=tuple)
    hidden: int | None = None  # of ``count``: tracked people not detected in this frame (videos only)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"persons": self.persons.to_json(), "count": self.count}
        if self.hidden is not None:
            out["hidden"] = self.hidden
        if self.density_per_m2 is not None and np.isfinite(self.density_per_m2):
            out["density_per_m2"] = round(self.density_per_m2, 4)
        out["events"] = [e.to_json() for e in self.events]
        return out
