"""Which incident a detection joins.

A detection (from a fixed camera or a drone) joins the open incident of the same kind
*group* whose area lies within ``join_distance_m`` of the detection's ground point or
footprint and that was seen within ``join_window_s``; the nearest one wins. Otherwise it
starts a new incident. Fire and smoke are one group: a fire and its smoke at one place
are one incident with both kinds (the primary kind is fire). Distances are measured in
the local metric CRS (``geo.crs.LocalFrame``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import shapely
from shapely.geometry import Point

from geo.crs import LocalFrame

# Kinds that describe one hazard when seen at one place; kinds not listed are their own group.
KIND_GROUP: dict[str, str] = {"fire": "fire", "smoke": "fire"}
PRIMARY_ORDER: tuple[str, ...] = ("fire", "flood", "smoke")


def group_of(kind: str) -> str:
    return KIND_GROUP.get(kind, kind)


def kinds_in_group(kind: str) -> set[str]:
    g = group_of(kind)
    return {k for k, v in KIND_GROUP.items() if v == g} | {kind}


def primary_kind(kinds) -> str:
    """The kind an incident is shown as: fire before flood before smoke, else alphabetical."""
    ks = sorted(set(kinds))
    for k in PRIMARY_ORDER:
        if k in ks:
            return k
    return ks[0]


def join_kinds(*kinds_lists) -> str:
    """Comma-separated sorted union of kinds (the ``Incident.kinds`` column)."""
    return ",".join(sorted({k for ks in kinds_lists for k in ks if k}))


@dataclass(frozen=True)
class GroundDetection:
    """A detection already projected to the ground (WGS84)."""

    source_kind: str  # "cctv" | "drone"
    source_id: str
    observed_at: datetime
    kind: str
    confidence: float
    bbox_px: tuple[float, float, float, float]
    ground_lat: float
    ground_lon: float
    footprint_wgs84: shapely.Geometry | None = None  # area hazards (flood water, smoke plume)
    snapshot_path: str | None = None
    uncertainty_m: float | None = None  # the hazard is somewhere within this of the ground point (PTZ/360°)

    def __post_init__(self) -> None:
        if self.observed_at.tzinfo is None:
            raise ValueError("observed_at must be timezone-aware UTC")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} outside 0..1")
        if not (-90 <= self.ground_lat <= 90 and -180 <= self.ground_lon <= 180):
            raise ValueError(f"ground point out of range: {self.ground_lat}, {self.ground_lon}")
        if self.uncertainty_m is not None and not (self.uncertainty_m >= 0):
            raise ValueError(f"uncertainty_m must be >= 0, got {self.uncertainty_m}")

    @property
    def geometry_wgs84(self) -> shapely.Geometry:
        if self.footprint_wgs84 is not None and not self.footprint_wgs84.is_empty:
            return self.footprint_wgs84
        return Point(self.ground_lon, self.ground_lat)


@dataclass(frozen=True)
class FusionPolicy:
    """How far and how long apart detections still describe the same hazard."""

    join_distance_m: dict[str, float] = field(
        default_factory=lambda: {"fire": 150.0, "smoke": 250.0, "flood": 300.0,
                                 # people events are local: one collapsed person, one crowded square
                                 "collapse": 30.0, "crowding": 100.0, "loitering": 50.0})
    default_join_distance_m: float = 150.0
    join_window_s: float = 3600.0
    point_radius_m: float = 10.0  # a point detection is drawn as a disc of this radius

    def distance_for(self, kind: str) -> float:
        return self.join_distance_m.get(kind, self.default_join_distance_m)


@dataclass(frozen=True)
class Candidate:
    """An open incident as the matcher sees it."""

    incident_id: int
    kind: str
    last_seen: datetime
    geometry_wgs84: shapely.Geometry
    kinds: frozenset[str] = frozenset()


def match_incident(det: GroundDetection, candidates: list[Candidate], policy: FusionPolicy
                   ) -> int | None:
    """The id of the incident ``det`` joins, or None for a new incident."""
    group = group_of(det.kind)
    pool = [c for c in candidates if any(group_of(k) == group for k in (c.kinds or {c.kind}))
            and abs((det.observed_at - c.last_seen).total_seconds()) <= policy.join_window_s]
    if not pool:
        return None
    frame = LocalFrame.around(det.ground_lat, det.ground_lon)
    g = frame.geom_to_m(det.geometry_wgs84)
    geoms = frame.geom_to_m(np.array([c.geometry_wgs84 for c in pool], dtype=object))
    dists = shapely.distance(geoms, g)
    best = int(dists.argmin())
    reach = max(policy.distance_for(k) for k in {det.kind, *(pool[best].kinds or {pool[best].kind})})
    return pool[best].incident_id if dists[best] <= reach else None


def merged_geometry(current_wgs84: shapely.Geometry, det: GroundDetection, policy: FusionPolicy
                    ) -> shapely.Geometry:
    """Incident area after adding a detection: union of discs/footprints, in WGS84."""
    frame = LocalFrame.around(det.ground_lat, det.ground_lon)
    cur = frame.geom_to_m(current_wgs84)
    add = frame.geom_to_m(det.geometry_wgs84)
    if cur.geom_type == "Point":
        cur = cur.buffer(policy.point_radius_m)
    if add.geom_type == "Point":
        add = add.buffer(_point_radius(det, policy))
    merged = shapely.make_valid(shapely.union(cur, add)).simplify(0.5)
    return frame.geom_to_wgs84(merged)


def initial_geometry(det: GroundDetection, policy: FusionPolicy) -> shapely.Geometry:
    frame = LocalFrame.around(det.ground_lat, det.ground_lon)
    g = frame.geom_to_m(det.geometry_wgs84)
    if g.geom_type == "Point":
        g = g.buffer(_point_radius(det, policy))
    return frame.geom_to_wgs84(g)


def _point_radius(det: GroundDetection, policy: FusionPolicy) -> float:
    """A point detection is drawn as a disc: its uncertainty when it has one (PTZ / 360°)."""
    return max(policy.point_radius_m, det.uncertainty_m or 0.0)


def severity(kind: str, *, confidence: float, source_count: int, area_m2: float) -> int:
    """1 (watch) .. 5 (critical): grows with independent sources, area and confidence."""
    s = 1 + (confidence >= 0.6) + (source_count >= 2) + (source_count >= 3)
    s += area_m2 >= (5000.0 if kind == "flood" else 1500.0)
    return int(min(5, s))


def window(det_time: datetime, policy: FusionPolicy) -> datetime:
    return det_time - timedelta(seconds=policy.join_window_s)
