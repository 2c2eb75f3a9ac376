"""The operator's airspace layer: no-fly / restricted zones imported from GeoJSON or KML and stored.

Every mission planned by the product (dashboard or CLI) avoids the stored zones
near its area, and the pre-flight check refuses a mission that crosses one,
naming it. Re-importing a file updates its zones (keyed by file name + zone name).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import shapely
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.errors import InputError
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage import spatial
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import AirspaceZone, utcnow
from drone_link.files.airspace import read_airspace
from drone_link.files.errors import MissionFileError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportReport:
    source: str
    imported: int
    updated: int


@dataclass(frozen=True)
class Zone:
    """A stored zone as the planner uses it (WGS84 polygon, name)."""

    id: int
    name: str
    kind: str
    polygon: shapely.Polygon
    lower_m: float | None
    upper_m: float | None
    source: str


def import_airspace(path: str | Path, *, principal: Principal, engine: Engine | None = None) -> ImportReport:
    """Read a GeoJSON/KML airspace file and store (or update) its zones."""
    require(principal, Action.IMPORT_AIRSPACE)
    path = Path(path)
    try:
        zones = read_airspace(path)
    except MissionFileError as exc:
        raise InputError(str(exc)) from exc
    new = upd = 0
    with session_scope(engine or get_engine()) as s:
        for z in zones:
            key = f"{path.name}:{z.name}"[:500]
            row = s.exec(select(AirspaceZone).where(AirspaceZone.source_key == key)).first()
            if row is None:
                row = AirspaceZone(source_key=key, name=z.name, geometry_geojson="", min_lon=0, min_lat=0,
                                   max_lon=0, max_lat=0)
                new += 1
            else:
                upd += 1
            row.name, row.kind, row.lower_m, row.upper_m = z.name, z.kind, z.lower_m, z.upper_m
            row.geometry_geojson = shapely.to_geojson(z.polygon)
            row.min_lon, row.min_lat, row.max_lon, row.max_lat = z.polygon.bounds
            row.source, row.imported_by, row.imported_at = path.name, principal.name, utcnow()
            s.add(row)
        audit.record(s, principal=principal, action="airspace.import", object_type="airspace",
                     object_id=path.name, details={"zones": len(zones), "new": new, "updated": upd})
    logger.info("airspace %s: %d new, %d updated zones", path.name, new, upd)
    return ImportReport(path.name, new, upd)


def list_zones(*, bounds: tuple[float, float, float, float] | None = None,
               engine: Engine | None = None) -> list[Zone]:
    """Stored zones, all or those whose bounding box meets ``bounds`` (min_lon, min_lat, max_lon, max_lat)."""
    eng = engine or get_engine()
    with Session(eng) as s:
        q = select(AirspaceZone).order_by(AirspaceZone.name)
        if bounds is not None:
            q = q.where(spatial.bbox_clause(eng, spatial.AIRSPACE_ZONES, *bounds))
        rows = list(s.exec(q))
    return [Zone(r.id, r.name, r.kind, shapely.from_geojson(r.geometry_geojson), r.lower_m, r.upper_m,
                 r.source) for r in rows]
