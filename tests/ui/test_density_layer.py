"""The map's crowd-density layer: the watcher's stored densities come back as typed
records with levels, the layer draws each zone coloured by level with every stored
string escaped, and the map page shows it (Streamlit AppTest, real seeded database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import shapely
from sqlmodel import select

from disaster_ops.services import people_density
from disaster_ops.services.people_density import DensityLevel, level_of
from disaster_ops.storage.db import session_scope
from disaster_ops.storage.models import Camera
from tests.ui.test_pages import logged_in, seeded  # noqa: F401 (fixture)

EVIL = '<img src=x onerror=alert(1)>`${document.title="PWNED"}`'


def test_levels_and_records(engine):
    assert [level_of(v) for v in (None, 0.1, 0.5, 1.9, 2.0, 3.99, 4.0, 9.0)] == [
        DensityLevel.UNKNOWN, DensityLevel.LOW, DensityLevel.MODERATE, DensityLevel.MODERATE, DensityLevel.HIGH,
        DensityLevel.HIGH, DensityLevel.CRITICAL, DensityLevel.CRITICAL]
    with session_scope(engine) as s:
        s.add(Camera(source_key="plaza", name=EVIL, lat=35.1, lon=129.03))
        s.add(Camera(source_key="bridge", name="bridge", lat=35.2, lon=129.05))
        s.add(Camera(source_key="old", name="old", lat=35.1, lon=129.031))
    now = datetime.now(UTC)
    zone = shapely.box(129.0299, 35.0999, 129.0301, 35.1001)
    people_density.record("plaza", count=120, area_m2=40.0, density_per_m2=3.0, zone=zone, observed_at=now,
                          engine=engine)
    people_density.record("plaza", count=180, area_m2=40.0, density_per_m2=4.5, zone=zone, observed_at=now,
                          engine=engine)  # overwrites
    people_density.record("bridge", count=4, area_m2=None, density_per_m2=None, zone=None, observed_at=now,
                          engine=engine)
    people_density.record("old", count=9, area_m2=10.0, density_per_m2=0.9, zone=None,
                          observed_at=now - timedelta(hours=1), engine=engine)  # too old to show
    views = people_density.density_views(engine=engine)
    assert [(v.camera_key, v.count, v.level) for v in views] == [
        ("plaza", 180, DensityLevel.CRITICAL), ("bridge", 4, DensityLevel.UNKNOWN)]
    assert json.loads(views[0].zone_geojson)["type"] == "Polygon" and views[1].zone_geojson is None
    assert [v.camera_key for v in people_density.density_views(bbox=(129.0, 35.15, 129.1, 35.25),
                                                               engine=engine)] == ["bridge"]

    from ui import layers

    fmap = layers.base_map((35.1, 129.03))
    layers.density_layer(views).add_to(fmap)
    html = fmap.get_root().render()
    assert "<img src=x" not in html and "${document" not in html and "&lt;img src=x" in html
    assert layers.DENSITY_COLOURS["critical"] in html and layers.DENSITY_COLOURS["unknown"] in html
    assert "4.50 persons/m²" in html and "180 people" in html and "area unknown" in html
    assert layers.localize(fmap) == []  # nothing fetched from outside


def test_map_page_shows_the_density_layer(seeded):  # noqa: F811
    with session_scope(seeded) as s:
        cam = s.exec(select(Camera)).first()
        key, lat, lon = cam.source_key, cam.lat, cam.lon
    people_density.record(key, count=30, area_m2=20.0, density_per_m2=1.5,
                          zone=shapely.Point(lon, lat).buffer(0.0001), observed_at=datetime.now(UTC), engine=seeded)
    at = logged_in("responder")
    at.switch_page("app_pages/map.py").run()
    assert not at.exception, at.exception
    assert not at.warning, [w.value for w in at.warning]
    assert any("crowd density from 1 cameras" in c.value for c in at.caption), [c.value for c in at.caption]
