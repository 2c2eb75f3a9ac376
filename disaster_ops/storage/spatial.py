"""Spatial filters that run in the database: PostGIS where it is there, bbox columns elsewhere.

Two engines, one answer. On PostgreSQL with PostGIS (migration ``0004_pg`` added the
``geom`` columns, their GiST indexes and the triggers that keep them in sync) the filters
are PostGIS predicates the index serves; on SQLite (and PostgreSQL without PostGIS) they
are comparisons on the ``lat``/``lon`` or ``min_*``/``max_*`` columns with ordinary
B-tree indexes, refined in Python where a distance is asked for. Both give the same rows:

* :func:`bbox_clause` - rows whose position (cameras) or bounding box (areas) meets a
  lon/lat box, boundary included: ``geom && envelope`` (the GiST index; float4 boxes,
  so a slight superset) and the exact columns.
* :func:`within_m` - ids of rows within a distance of a WGS84 geometry, measured in the
  UTM zone of the geometry (the metric frame :class:`geo.crs.LocalFrame` uses): PostGIS
  ``ST_DWithin(ST_Transform(geom, zone), ...)`` after an index-served box prefilter;
  elsewhere the same box prefilter in SQL, then shapely in the same frame (PROJ on both
  sides).

GeoAlchemy2 types the geometry columns in these expressions (``disaster-ops[postgres]``);
without it the PostGIS path is not used and the bbox columns answer.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from dataclasses import dataclass

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger(__name__)

SRID_WGS84 = 4326
_M_PER_DEG_LAT = 110_574.0  # the shortest degree of latitude (equator): pads stay generous
_M_PER_DEG_LON_EQ = 111_320.0
_NEGATIVE_TTL_S = 30.0


@dataclass(frozen=True)
class SpatialTable:
    """Where a table keeps its geometry on each engine."""

    name: str
    geom_column: str  # PostGIS geometry column (migration 0004_pg)
    point: bool  # True: lat/lon columns (a point); False: GeoJSON text + min/max bbox columns
    geojson_column: str | None = None


    @property
    def table(self) -> sa.Table:
        """The mapped table (so the filters add no second FROM entry)."""
        from sqlmodel import SQLModel

        import disaster_ops.storage.models  # noqa: F401  (registers the tables)

        return SQLModel.metadata.tables[self.name]


CAMERAS = SpatialTable("camera", "geom", point=True)
INCIDENTS = SpatialTable("incident", "geom", point=False, geojson_column="geometry_geojson")
AIRSPACE_ZONES = SpatialTable("airspace_zone", "geom", point=False, geojson_column="geometry_geojson")
MISSIONS = SpatialTable("mission", "geom", point=False, geojson_column="zone_geojson")

_lock = threading.Lock()
# engine -> (has it, when checked); weak, so a new engine never inherits a disposed one's answer
_postgis: weakref.WeakKeyDictionary[Engine, tuple[bool, float]] = weakref.WeakKeyDictionary()


def _geoalchemy2_ok() -> bool:
    try:
        import geoalchemy2  # noqa: F401
    except ImportError:
        return False
    return True


def _check(conn: Connection) -> bool:
    row = conn.execute(sa.text(
        "SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'postgis'), "
        "(SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
        " AND table_name = 'camera' AND column_name = 'geom')")).one()
    return bool(row[0]) and bool(row[1])


def uses_postgis(bind: Engine | Connection) -> bool:
    """The database has PostGIS and the geometry columns of migration ``0004_pg``.

    Cached per engine (a missing PostGIS is checked again after 30 s, so a database
    migrated after the process started is picked up)."""
    if bind.dialect.name != "postgresql":
        return False
    key = bind if isinstance(bind, Engine) else bind.engine
    with _lock:
        hit = _postgis.get(key)
    if hit is not None and (hit[0] or time.monotonic() - hit[1] < _NEGATIVE_TTL_S):
        return hit[0]
    if isinstance(bind, Connection):
        found = _check(bind)
    else:
        with bind.connect() as conn:
            found = _check(conn)
    if found and not _geoalchemy2_ok():
        logger.warning("database has PostGIS but GeoAlchemy2 is not installed "
                       "(pip install 'disaster-ops[postgres]'): spatial queries use the bbox columns")
        found = False
    with _lock:
        _postgis[key] = (found, time.monotonic())
    return found


def forget(engine: Engine) -> None:
    """Drop the cached answer for ``engine`` (after migrating it up or down)."""
    with _lock:
        _postgis.pop(engine, None)


def geom_column(table: SpatialTable):
    """The table's PostGIS geometry column as a typed SQL expression (no extra FROM)."""
    from geoalchemy2 import Geometry

    kind = "POINT" if table.point else "GEOMETRY"
    return sa.literal_column(f"{table.name}.{table.geom_column}",
                             type_=Geometry(kind, srid=SRID_WGS84, spatial_index=False))


def envelope(west: float, south: float, east: float, north: float):
    from geoalchemy2 import functions as gf

    return gf.ST_MakeEnvelope(float(west), float(south), float(east), float(north), SRID_WGS84)


def bbox_clause(bind: Engine | Connection, table: SpatialTable, west: float, south: float,
                east: float, north: float) -> sa.ColumnElement[bool]:
    """Rows whose point (or bounding box) meets the box, boundary included."""
    t = table.table
    if table.point:
        exact = sa.and_(t.c.lon >= west, t.c.lon <= east, t.c.lat >= south, t.c.lat <= north)
    else:
        exact = sa.and_(t.c.max_lon >= west, t.c.min_lon <= east, t.c.max_lat >= south, t.c.min_lat <= north)
    if not uses_postgis(bind):
        return exact
    # PostGIS's ``&&`` (the GiST index; what ST_Intersects runs first) compares float4-rounded
    # boxes, a slight superset; the columns then make it exact. For points this is cheaper
    # than ST_Intersects' exact test and gives the same rows (boundary included).
    return sa.and_(geom_column(table).op("&&")(envelope(west, south, east, north)), exact)


def padded_bounds(geom_wgs84: shapely.Geometry, distance_m: float) -> tuple[float, float, float, float]:
    """The geometry's lon/lat box grown by at least ``distance_m`` on every side."""
    w, s, e, n = geom_wgs84.bounds
    dlat = distance_m / _M_PER_DEG_LAT * 1.01 + 1e-9
    cos = max(math.cos(math.radians(min(89.0, max(abs(s), abs(n)) + dlat))), 1e-6)
    dlon = distance_m / (_M_PER_DEG_LON_EQ * cos) * 1.01 + 1e-9
    return w - dlon, s - dlat, e + dlon, n + dlat


def metric_srid(geom_wgs84: shapely.Geometry) -> int:
    """EPSG code of the UTM zone :class:`geo.crs.LocalFrame` uses around the geometry."""
    from geo.crs import LocalFrame

    code = LocalFrame.for_geometry(geom_wgs84).crs.to_epsg()
    if code is None:  # pragma: no cover - UTM zones always have one
        raise ValueError("no EPSG code for the local metric frame")
    return int(code)


def within_m(conn: Connection, table: SpatialTable, geom_wgs84: shapely.Geometry, distance_m: float,
             *, where: tuple[sa.ColumnElement[bool], ...] = ()) -> list[tuple[int, float]]:
    """``(id, distance_m)`` of the rows within ``distance_m`` of ``geom_wgs84`` (WGS84), nearest
    first (ties by id). Distances in the UTM zone of the geometry; ``where``: more filters."""
    if distance_m < 0 or not math.isfinite(distance_m):
        raise ValueError(f"distance must be a finite number of metres >= 0, got {distance_m!r}")
    box = padded_bounds(geom_wgs84, distance_m)
    srid = metric_srid(geom_wgs84)
    t = table.table
    if uses_postgis(conn):
        from geoalchemy2 import functions as gf

        g = geom_column(table)
        probe = gf.ST_Transform(gf.ST_GeomFromText(geom_wgs84.wkt, SRID_WGS84), srid)
        dist = gf.ST_Distance(gf.ST_Transform(g, srid), probe)
        q = (sa.select(t.c.id, dist.label("d"))
             .where(g.op("&&")(envelope(*box)), gf.ST_DWithin(gf.ST_Transform(g, srid), probe, distance_m),
                    *where))
        rows = [(int(i), float(d)) for i, d in conn.execute(q)]
    else:
        rows = _within_m_columns(conn, table, t, geom_wgs84, distance_m, box, where)
    rows.sort(key=lambda r: (round(r[1], 6), r[0]))
    return rows


def _within_m_columns(conn, table, t, geom_wgs84, distance_m, box, where) -> list[tuple[int, float]]:
    import numpy as np

    from geo.crs import LocalFrame

    cols = (t.c.lon, t.c.lat) if table.point else (t.c[table.geojson_column],)
    q = sa.select(t.c.id, *cols).where(bbox_clause(conn, table, *box), *where)
    rows = conn.execute(q).all()
    if not rows:
        return []
    frame = LocalFrame.for_geometry(geom_wgs84)
    probe = frame.geom_to_m(geom_wgs84)
    if table.point:
        x, y = frame.to_xy_m(np.array([r[2] for r in rows]), np.array([r[1] for r in rows]))
        geoms = shapely.points(x, y)
    else:
        geoms = frame.geom_to_m(shapely.from_geojson([r[1] for r in rows], on_invalid="ignore"))
    dist = shapely.distance(geoms, probe)
    return [(int(r[0]), float(d)) for r, d in zip(rows, dist, strict=True)
            if d is not None and math.isfinite(d) and d <= distance_m]
