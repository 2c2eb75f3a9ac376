"""PostGIS as a tested engine: migration 0004_pg on SQLite, PostgreSQL and PostgreSQL + PostGIS
(up and down), the same answers from the spatial queries on SQLite and on PostGIS for the
real Busan (Jung-gu) and Daejeon registries, geometry kept in sync by every writer, and the GiST
indexes in the query plans.

Runs against the session's throwaway PostgreSQL server (tests/pg.py); skipped with the
reason when the server binaries are absent."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import shapely
import sqlalchemy as sa

from disaster_ops.incidents.fusion import GroundDetection
from disaster_ops.services import cop, incidents
from disaster_ops.services.airspace import import_airspace, list_zones
from disaster_ops.services.cameras import BBox, cameras_within, import_registry, list_cameras
from disaster_ops.storage import spatial
from disaster_ops.storage.db import make_engine
from disaster_ops.storage.migrate import current_revision, downgrade, head_revision, upgrade
from disaster_ops.storage.models import SourceKind
from tests.conftest import REPO, shared_path

GEOM_COLUMNS = {("camera", "geom"), ("incident", "geom"), ("airspace_zone", "geom"), ("mission", "geom"),
                ("detection", "footprint_geom"), ("drone_aerial", "footprint_geom")}
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _geom_columns(eng) -> set[tuple[str, str]]:
    with eng.connect() as c:
        rows = c.execute(sa.text("SELECT table_name, column_name FROM information_schema.columns "
                                 "WHERE table_schema = current_schema() AND udt_name = 'geometry'")).all()
    return {(t, col) for t, col in rows}


@pytest.fixture
def postgis(pg_server):
    if not pg_server.postgis:
        pytest.skip("PostGIS not installed for this PostgreSQL (apt-get install postgresql-15-postgis-3)")
    name = pg_server.create_database()
    eng = make_engine(pg_server.url(name))
    yield eng
    eng.dispose()
    pg_server.drop_database(name)


@pytest.fixture
def sqlite(data_dir, tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'spatial.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


def test_migration_up_and_down_on_every_engine(postgis, pg_server, tmp_path):
    # PostGIS: geometry columns, sync triggers and GiST indexes; gone again on downgrade.
    assert upgrade(postgis) == head_revision()
    assert _geom_columns(postgis) == GEOM_COLUMNS
    assert spatial.uses_postgis(postgis)
    with postgis.connect() as c:
        gist = {r[0] for r in c.execute(sa.text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gist%'"))}
    assert {f"ix_{t}_{col}_gist" for t, col in GEOM_COLUMNS} <= gist
    assert downgrade(postgis, "0003_auth") == "0003_auth"
    assert _geom_columns(postgis) == set() and not spatial.uses_postgis(postgis)
    assert downgrade(postgis, "base") is None
    assert upgrade(postgis) == head_revision() and _geom_columns(postgis) == GEOM_COLUMNS

    # PostgreSQL without PostGIS and SQLite: 0004 is a no-op both ways; queries use the columns.
    plain_name = pg_server.create_database(template="template1")
    sqlite_eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        for eng in (make_engine(pg_server.url(plain_name)), sqlite_eng):
            assert upgrade(eng) == head_revision()
            assert not spatial.uses_postgis(eng)
            assert downgrade(eng, "0003_auth") == "0003_auth"
            assert downgrade(eng, "base") is None
            assert upgrade(eng) == head_revision()
            assert current_revision(eng) == head_revision()
            import_registry(REPO / "sample_data" / "busan_junggu_cctv_2024.csv", engine=eng)
            assert len(list_cameras(bbox=BBox(129.02, 35.09, 129.05, 35.11), engine=eng)) == 408
            eng.dispose()
    finally:
        pg_server.drop_database(plain_name)


def test_upgrade_backfills_rows_stored_before_postgis_columns(postgis, sqlite):
    """Rows an older release wrote (schema at 0003_auth) get their geometry on upgrade. They
    are copied with that revision's columns only: today's importer writes columns (e.g.
    ``retention_days``) that the old schema has not got."""
    from disaster_ops.storage.models import Camera

    upgrade(postgis, "0003_auth")
    import_registry(REPO / "sample_data" / "busan_junggu_cctv_2024.csv", engine=sqlite)
    old = sa.Table("camera", sa.MetaData(), autoload_with=postgis)
    cols = [Camera.__table__.c[col.name] for col in old.c if col.name != "id"]
    with sqlite.connect() as src:
        rows = [dict(r._mapping) for r in src.execute(sa.select(*cols))]
    with postgis.begin() as dst:
        dst.execute(old.insert(), rows)
    upgrade(postgis)
    with postgis.connect() as c:
        bad = c.execute(sa.text("SELECT count(*) FROM camera WHERE geom IS NULL "
                                "OR abs(ST_X(geom) - lon) > 0 OR abs(ST_Y(geom) - lat) > 0")).scalar()
        assert bad == 0 and c.execute(sa.text("SELECT count(*) FROM camera")).scalar() == 408


def _registries() -> list:
    return [REPO / "sample_data" / "busan_junggu_cctv_2024.csv",
            shared_path("cctv_registry", "daejeon_cctv_standard_2026.csv")]


def _fires(rng: random.Random, cams: list, n: int) -> list[GroundDetection]:
    """Fires on the ground near real cameras: points, and footprint polygons."""
    out = []
    for k in range(n):
        c = rng.choice(cams)
        lat, lon = c.lat + rng.uniform(-0.002, 0.002), c.lon + rng.uniform(-0.002, 0.002)
        geom = (shapely.Point(lon, lat) if k % 2 else
                shapely.Polygon([(lon, lat), (lon + 0.0008, lat), (lon + 0.0008, lat + 0.0005), (lon, lat + 0.0004)]))
        out.append(GroundDetection(source_kind=SourceKind.CCTV, source_id=c.source_key, kind="fire",
                                   confidence=0.9, observed_at=T0 + timedelta(seconds=k), bbox_px=(0, 0, 9, 9),
                                   ground_lat=lat, ground_lon=lon,
                                   footprint_wgs84=None if geom.geom_type == "Point" else geom))
    return out


def test_spatial_queries_same_answers_on_sqlite_and_postgis(postgis, sqlite):
    upgrade(postgis)
    engines = {"sqlite": sqlite, "postgis": postgis}
    for path in _registries():
        for eng in engines.values():
            import_registry(path, engine=eng)
    keys = {name: {c.id: c.source_key for c in list_cameras(engine=eng)} for name, eng in engines.items()}
    assert len(keys["sqlite"]) == len(keys["postgis"]) > 9_000
    assert spatial.uses_postgis(postgis) and not spatial.uses_postgis(sqlite)
    cams = list_cameras(engine=sqlite)
    rng = random.Random(15)

    # Cameras in view: map boxes around real cameras, from a street to a district.
    for _ in range(25):
        c = rng.choice(cams)
        half = rng.choice([0.001, 0.005, 0.02, 0.1])
        box = BBox(c.lon - half * 1.3, c.lat - half, c.lon + half * 1.3, c.lat + half)
        got = {n: [keys[n][x.id] for x in list_cameras(bbox=box, engine=e)] for n, e in engines.items()}
        assert sorted(got["sqlite"]) == sorted(got["postgis"])
        zoom = rng.choice([11, 13, 16])
        ov = {n: cop.camera_overview(box, zoom, engine=e) for n, e in engines.items()}
        assert ov["sqlite"].total_in_view == ov["postgis"].total_in_view == len(got["sqlite"])
        cells = {n: {(round(x.min_lat, 9), round(x.min_lon, 9)): (x.count, x.lat, x.lon)
                     for x in o.cells} for n, o in ov.items()}
        assert {k: v[0] for k, v in cells["sqlite"].items()} == {k: v[0] for k, v in cells["postgis"].items()}
        for k, (_n, lat, lon) in cells["sqlite"].items():  # means: summation order differs
            assert cells["postgis"][k][1:] == pytest.approx((lat, lon), abs=1e-9)
    # A box on a camera's exact position includes it on both (boundary included).
    c = cams[0]
    edge = BBox(c.lon, c.lat, c.lon + 0.001, c.lat + 0.001)
    for n, e in engines.items():
        assert c.source_key in {keys[n][x.id] for x in list_cameras(bbox=edge, engine=e)}

    # Cameras near a point: the same cameras, nearest first, the same distances.
    for _ in range(30):
        c = rng.choice(cams)
        here = shapely.Point(c.lon + rng.uniform(-0.003, 0.003), c.lat + rng.uniform(-0.003, 0.003))
        radius_m = rng.choice([25.0, 150.0, 600.0])
        got = {n: cameras_within(here, radius_m, engine=e) for n, e in engines.items()}
        assert [keys["sqlite"][h.camera.id] for h in got["sqlite"]] == \
               [keys["postgis"][h.camera.id] for h in got["postgis"]]
        for a, b in zip(got["sqlite"], got["postgis"], strict=True):
            assert a.distance_m == pytest.approx(b.distance_m, abs=1e-3)

    # Incidents near a point and cameras near an incident, after the same fires on both.
    fires = _fires(rng, cams, 30)
    for e in engines.values():
        incidents.ingest(fires, engine=e)
    inc_ids = {n: [i.id for i in incidents.list_incidents(engine=e, open_only=False)] for n, e in engines.items()}
    assert len(inc_ids["sqlite"]) == len(inc_ids["postgis"]) > 5

    def inc_key(i) -> str:  # incidents compared by what they are, not by id
        return f"{i.kind}:{i.geometry_geojson}"

    for f in fires[::3]:
        p = f.geometry_wgs84.centroid
        for radius_m in (0.0, 100.0, 800.0):
            got = {n: incidents.incidents_near(p.y, p.x, radius_m, engine=e) for n, e in engines.items()}
            assert [inc_key(h.incident) for h in got["sqlite"]] == [inc_key(h.incident) for h in got["postgis"]]
            assert [round(h.distance_m, 3) for h in got["sqlite"]] == \
                   pytest.approx([round(h.distance_m, 3) for h in got["postgis"]], abs=2e-3)
        assert got["sqlite"], "a fire's own incident is within 800 m of it"
    by_key = {n: {inc_key(i): i.id for i in incidents.list_incidents(engine=e, open_only=False)}
              for n, e in engines.items()}
    for k in list(by_key["sqlite"])[:8]:
        near = {n: cop.cameras_near_incident(by_key[n][k], radius_m=300.0, engine=e) for n, e in engines.items()}
        assert [keys["sqlite"][h.camera.id] for h in near["sqlite"]] == \
               [keys["postgis"][h.camera.id] for h in near["postgis"]]
        assert near["sqlite"], "fires were planted within 250 m of a camera"


def test_airspace_zones_by_box_same_on_both(postgis, sqlite, tmp_path):
    import json

    from disaster_ops.services.roles import Principal, Role

    upgrade(postgis)
    rng = random.Random(7)
    feats = []
    for k in range(60):  # small zones (a crane, a heliport) and long thin ones (a river corridor)
        lon, lat = 129.0 + rng.uniform(0, 0.1), 35.05 + rng.uniform(0, 0.1)
        w, h = rng.choice([(0.001, 0.001), (0.03, 0.002), (0.002, 0.02)])
        ring = [(lon, lat), (lon + w, lat + h / 3), (lon + w / 2, lat + h), (lon, lat)]
        feats.append({"type": "Feature", "properties": {"name": f"zone {k}"},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    f = tmp_path / "zones.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    for e in (sqlite, postgis):
        import_airspace(f, principal=Principal("park", Role.MANAGER), engine=e)
    assert len(list_zones(engine=sqlite)) == len(list_zones(engine=postgis)) == 60
    for _ in range(40):
        lon, lat = 129.0 + rng.uniform(0, 0.1), 35.05 + rng.uniform(0, 0.1)
        d = rng.choice([0.0005, 0.005, 0.02])
        box = (lon - d, lat - d, lon + d, lat + d)
        assert [z.name for z in list_zones(bounds=box, engine=sqlite)] == \
               [z.name for z in list_zones(bounds=box, engine=postgis)]


def test_every_writer_keeps_geometry_in_sync(postgis):
    """The bulk import (driver-level executemany), ORM updates and GeoJSON edits all move the
    PostGIS geometry: no code path has to remember it."""
    upgrade(postgis)
    import_registry(REPO / "sample_data" / "busan_junggu_cctv_2024.csv", engine=postgis)
    cam = list_cameras(engine=postgis, limit=1)[0]
    with postgis.begin() as c:
        c.execute(sa.text("UPDATE camera SET lat = 35.2, lon = 129.2 WHERE id = :i"), {"i": cam.id})
    moved = [x.camera.id for x in cameras_within(shapely.Point(129.2, 35.2), 1.0, engine=postgis)]
    assert moved == [cam.id]
    res = incidents.ingest([GroundDetection(source_kind=SourceKind.CCTV, source_id="cam:x", kind="fire",
                                            confidence=0.9, observed_at=T0, bbox_px=(0, 0, 9, 9),
                                            ground_lat=35.21, ground_lon=129.21)], engine=postgis)
    with postgis.begin() as c:
        assert c.execute(sa.text("SELECT ST_Contains(geom, ST_SetSRID(ST_MakePoint(129.21, 35.21), 4326)) "
                                 "FROM incident WHERE id = :i"), {"i": res[0].incident_id}).scalar()
        # A row whose GeoJSON is unreadable still stores (geometry NULL, the text is the record).
        c.execute(sa.text("UPDATE incident SET geometry_geojson = 'not json' WHERE id = :i"),
                  {"i": res[0].incident_id})
        assert c.execute(sa.text("SELECT geom IS NULL FROM incident WHERE id = :i"),
                         {"i": res[0].incident_id}).scalar()


def _explain_captured(eng, run, marker: str) -> list[str]:
    """Run ``run()``, capture the SELECTs it sends that contain ``marker``, return their plans
    (sequential scans disabled, so the plan shows the index the query can use)."""
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and marker in statement:
            seen.append((statement, parameters))

    sa.event.listen(eng, "before_cursor_execute", grab)
    try:
        run()
    finally:
        sa.event.remove(eng, "before_cursor_execute", grab)
    assert seen, f"no query with {marker!r} was sent"
    plans = []
    with eng.connect() as c:
        c.exec_driver_sql("SET enable_seqscan = off")
        for stmt, params in seen:
            rows = c.exec_driver_sql("EXPLAIN " + stmt, params).all()
            plans.append("\n".join(r[0] for r in rows))
    return plans


def test_spatial_queries_use_the_gist_indexes(postgis):
    upgrade(postgis)
    import_registry(shared_path("cctv_registry", "daejeon_cctv_standard_2026.csv"), engine=postgis)
    with postgis.begin() as c:
        c.exec_driver_sql("ANALYZE")
    box = BBox(127.38, 36.33, 127.40, 36.35)
    for plan in _explain_captured(postgis, lambda: list_cameras(bbox=box, engine=postgis), "&&"):
        assert "ix_camera_geom_gist" in plan, plan
    for plan in _explain_captured(postgis, lambda: cop.camera_overview(box, 12, engine=postgis),
                                   "&&"):
        assert "ix_camera_geom_gist" in plan, plan
    here = shapely.Point(127.39, 36.34)
    for plan in _explain_captured(postgis, lambda: cameras_within(here, 200.0, engine=postgis), "ST_DWithin"):
        assert "ix_camera_geom_gist" in plan, plan
    incidents.ingest(_fires(random.Random(3), list_cameras(engine=postgis, limit=500), 20), engine=postgis)
    with postgis.begin() as c:
        c.exec_driver_sql("ANALYZE incident")
    for plan in _explain_captured(postgis, lambda: incidents.incidents_near(36.34, 127.39, 500.0,
                                                                            engine=postgis), "ST_DWithin"):
        assert "ix_incident_geom_gist" in plan, plan
