"""Crowd density per camera for the map: the crowding detector's newest count over the
ground area of its zone (persons/m²), stored one row per camera (``people_density``) by
the watcher and read as typed records for the density layer.

Levels follow crowd-safety practice (Fruin's levels of service, as used in crowd
management guides): below 0.5 /m² free movement, 0.5-2 restricted, 2-4 dense (the
default crowding alarm is 2 /m²), 4 and more dangerous.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Camera, PeopleDensity

# (upper bound persons/m², level) in order
LEVEL_BOUNDS_PER_M2 = ((0.5, "low"), (2.0, "moderate"), (4.0, "high"))


class DensityLevel(str, enum.Enum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CRITICAL = "critical"
    UNKNOWN = "unknown"  # the zone's ground area is not known: a count only


def level_of(density_per_m2: float | None) -> DensityLevel:
    if density_per_m2 is None:
        return DensityLevel.UNKNOWN
    for bound, name in LEVEL_BOUNDS_PER_M2:
        if density_per_m2 < bound:
            return DensityLevel(name)
    return DensityLevel.CRITICAL


@dataclass(frozen=True)
class DensityView:
    """One camera's newest crowd density, as the map draws it."""

    camera_key: str
    camera_name: str
    lat: float  # camera position (drawn when the zone has no ground outline)
    lon: float
    observed_utc: str
    count: int
    area_m2: float | None
    density_per_m2: float | None
    level: DensityLevel
    zone_geojson: str | None  # WGS84 polygon of the counted zone on the ground


def record(camera_key: str, *, count: int, area_m2: float | None, density_per_m2: float | None,
           zone: shapely.Geometry | None, observed_at: datetime, engine: Engine | None = None) -> None:
    """Store a camera's newest density (overwrites its row)."""
    zone_txt = shapely.to_geojson(shapely.set_precision(zone, 1e-7)) if zone is not None and not zone.is_empty else None
    with session_scope(engine or get_engine()) as s:
        row = s.get(PeopleDensity, camera_key)
        if row is None:
            row = PeopleDensity(camera_key=camera_key)
        row.observed_at = observed_at.astimezone(UTC)
        row.count = int(count)
        row.area_m2 = None if area_m2 is None else float(area_m2)
        row.density_per_m2 = None if density_per_m2 is None else float(density_per_m2)
        row.zone_geojson = zone_txt
        s.add(row)


def density_views(*, max_age_s: float = 300.0, bbox: tuple[float, float, float, float] | None = None,
                  now: datetime | None = None, limit: int = 5000, engine: Engine | None = None) -> list[DensityView]:
    """The cameras' densities measured within ``max_age_s`` (densest first), optionally
    only cameras inside ``bbox`` = (west, south, east, north) degrees."""
    t0 = (now or datetime.now(UTC)) - timedelta(seconds=max_age_s)
    q = (select(PeopleDensity, Camera.name, Camera.lat, Camera.lon)
         .join(Camera, Camera.source_key == PeopleDensity.camera_key)
         .where(PeopleDensity.observed_at >= t0))
    if bbox is not None:
        w, s_, e, n = bbox
        q = q.where(Camera.lon >= w, Camera.lon <= e, Camera.lat >= s_, Camera.lat <= n)
    q = q.order_by(sa.desc(sa.func.coalesce(PeopleDensity.density_per_m2, -1.0))).limit(limit)
    out = []
    with Session(engine or get_engine()) as s:
        for d, name, lat, lon in s.exec(q):
            zone = d.zone_geojson
            if zone is not None:
                try:
                    json.loads(zone)
                except ValueError:
                    zone = None
            out.append(DensityView(d.camera_key, name or d.camera_key, float(lat), float(lon),
                                   d.observed_at.strftime("%Y-%m-%d %H:%M:%S UTC"), int(d.count), d.area_m2,
                                   d.density_per_m2, level_of(d.density_per_m2), zone))
    return out
