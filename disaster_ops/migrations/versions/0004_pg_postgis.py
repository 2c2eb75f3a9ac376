"""PostGIS geometry columns with GiST indexes (only where the database has PostGIS).

On a PostgreSQL database where ``CREATE EXTENSION postgis`` has been run (by whoever owns
the database: it needs rights the product's user should not have), add SRID 4326
geometry columns next to the GeoJSON/bbox columns, fill them from the stored rows, index
them with GiST and keep them in sync with triggers (every writer, the ORM and the bulk
camera import alike, updates them without knowing they exist):

* ``camera.geom``           point (lon, lat)
* ``incident.geom``         the incident area (``geometry_geojson``)
* ``airspace_zone.geom``    the zone polygon
* ``mission.geom``          the mission zone (``zone_geojson``)
* ``detection.footprint_geom`` and ``drone_aerial.footprint_geom``: camera footprints

SQLite, and PostgreSQL without PostGIS, keep using the GeoJSON text + bbox columns: this
revision does nothing there (and its downgrade nothing either).

Revision ID: 0004_pg
Revises: 0003_auth
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0004_pg"
down_revision = "0003_auth"
branch_labels = None
depends_on = None

logger = logging.getLogger("disaster_ops.migrations")

# (table, geometry column, PostGIS type, expression on NEW that gives it, columns it follows)
GEOMETRY_COLUMNS = (
    ("camera", "geom", "geometry(Point, 4326)", "ST_SetSRID(ST_MakePoint(NEW.lon, NEW.lat), 4326)",
     ("lat", "lon")),
    ("incident", "geom", "geometry(Geometry, 4326)", "dops_geojson_4326(NEW.geometry_geojson)",
     ("geometry_geojson",)),
    ("airspace_zone", "geom", "geometry(Geometry, 4326)", "dops_geojson_4326(NEW.geometry_geojson)",
     ("geometry_geojson",)),
    ("mission", "geom", "geometry(Geometry, 4326)", "dops_geojson_4326(NEW.zone_geojson)", ("zone_geojson",)),
    ("detection", "footprint_geom", "geometry(Geometry, 4326)", "dops_geojson_4326(NEW.footprint_geojson)",
     ("footprint_geojson",)),
    ("drone_aerial", "footprint_geom", "geometry(Geometry, 4326)", "dops_geojson_4326(NEW.footprint_geojson)",
     ("footprint_geojson",)),
)

# GeoJSON text -> SRID 4326 geometry; NULL for empty or unreadable text (a bad row must
# never make a write fail: the GeoJSON column stays the record, geometry is an index).
_GEOJSON_FN = """
CREATE OR REPLACE FUNCTION dops_geojson_4326(txt text) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF txt IS NULL OR btrim(txt) = '' THEN
        RETURN NULL;
    END IF;
    RETURN ST_SetSRID(ST_GeomFromGeoJSON(txt), 4326);
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$
"""


def has_postgis(bind) -> bool:
    if bind.dialect.name != "postgresql":
        return False
    return bool(bind.execute(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")).scalar())


def upgrade() -> None:
    bind = op.get_bind()
    if not has_postgis(bind):
        if bind.dialect.name == "postgresql":
            logger.info("PostgreSQL without the postgis extension: geometry columns not added "
                        "(to add them later: CREATE EXTENSION postgis; disaster-ops db downgrade 0003_auth; disaster-ops db upgrade)")
        return
    op.execute(_GEOJSON_FN)
    for table, col, typ, expr, follows in GEOMETRY_COLUMNS:
        fn = f"dops_{table}_{col}_sync"
        op.execute(f"ALTER TABLE {table} ADD COLUMN {col} {typ}")
        op.execute(f"""
            CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.{col} := {expr};
                RETURN NEW;
            END $$""")
        op.execute(f"CREATE TRIGGER {table}_{col}_sync BEFORE INSERT OR UPDATE OF {', '.join(follows)} "
                   f"ON {table} FOR EACH ROW EXECUTE FUNCTION {fn}()")
        # Backfill the stored rows: the same expression with the row's columns.
        op.execute(f"UPDATE {table} SET {col} = {expr.replace('NEW.', '')}")
        op.execute(f"CREATE INDEX ix_{table}_{col}_gist ON {table} USING gist ({col})")


def downgrade() -> None:
    bind = op.get_bind()
    if not has_postgis(bind):
        return
    for table, col, _typ, _expr, _follows in GEOMETRY_COLUMNS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_{col}_sync ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS dops_{table}_{col}_sync()")
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_{col}_gist")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {col}")
    op.execute("DROP FUNCTION IF EXISTS dops_geojson_4326(text)")
