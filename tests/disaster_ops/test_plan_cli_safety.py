"""``disaster-ops plan`` goes through the same safety as the dashboard: fence, stored no-fly layer,
terrain from a real DEM, search patterns, deprecated flag alias."""

from __future__ import annotations

import json

import shapely
from shapely.geometry import mapping
from typer.testing import CliRunner

from disaster_ops.cli import app
from drone_link.files import read_plan
from drone_link.mission import Cmd, Frame
from tests.conftest import shared_path

runner = CliRunner()
NAMSAN = shapely.box(126.9835, 37.5475, 126.9935, 37.5545)
SEOUL_STATION = "37.5547,126.9707"


def _write(path, *named):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": n}, "geometry": mapping(g)} for n, g in named]}))
    return path


def test_plan_over_namsan_with_the_seoul_dem_writes_terrain_altitudes(tmp_path, data_dir):
    dem = shared_path("dem", "seoul_dem_90m.tif")
    area = _write(tmp_path / "namsan.geojson", ("Namsan", NAMSAN))
    res = runner.invoke(app, ["plan", "--area", str(area), "--alt-m", "80", "--home", SEOUL_STATION,
                              "--dem", str(dem), "--min-clearance-m", "50", "--out", str(tmp_path / "n.plan"),
                              "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["report"]["alt_mode"] == "terrain_amsl" and doc["report"]["min_clearance_m"] >= 50
    plan_doc = json.loads((tmp_path / "n.plan").read_text())
    assert plan_doc["mission"]["globalPlanAltitudeMode"] == 3
    assert 15 < plan_doc["mission"]["plannedHomePosition"][2] < 60  # Seoul Station square, m AMSL
    mission = read_plan(tmp_path / "n.plan")
    wps = [it for it in mission.items if it.command == Cmd.NAV_WAYPOINT]
    assert all(it.frame == Frame.GLOBAL and it.alt_agl_m >= 50 for it in wps)
    assert max(it.alt_m for it in wps) > 262  # over Namsan's 262 m summit


def test_plan_avoids_the_stored_airspace_layer(tmp_path, data_dir):
    zone = shapely.box(126.978, 37.5665, 126.984, 37.5705)
    wall = shapely.box(126.9745, 37.5672, 126.9765, 37.5698)  # between launch point and zone
    r = runner.invoke(app, ["airspace", "import", "--local-admin", str(_write(tmp_path / "nf.geojson", ("City Hall TFR", wall)))])
    assert r.exit_code == 0, r.output
    res = runner.invoke(app, ["plan", "--area", str(_write(tmp_path / "z.geojson", ("z", zone))), "--alt-m", "70",
                              "--home", "37.5685,126.9700", "--out", str(tmp_path / "m.plan"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["no_fly_considered"] == ["City Hall TFR"]
    m = read_plan(tmp_path / "m.plan")
    path = shapely.LineString([(m.home_lon_deg, m.home_lat_deg)] + [
        (it.lon_deg, it.lat_deg) for it in m.items if it.command == Cmd.NAV_WAYPOINT])
    assert not path.intersects(wall)
    # a zone across the whole geofence: no way around, refused with its name
    tall = shapely.box(126.9745, 37.5600, 126.9765, 37.5760)
    runner.invoke(app, ["airspace", "import", "--local-admin", str(_write(tmp_path / "wide.geojson", ("Seoul Plaza closure", tall)))])
    res = runner.invoke(app, ["plan", "--area", str(tmp_path / "z.geojson"), "--alt-m", "70",
                              "--home", "37.5685,126.9700", "--out", str(tmp_path / "m3.plan")])
    assert res.exit_code == 2 and "no way around no-fly zones" in res.output
    assert "'Seoul Plaza closure'" in res.output
    off = runner.invoke(app, ["plan", "--area", str(tmp_path / "z.geojson"), "--alt-m", "70", "--no-airspace",
                              "--home", "37.5685,126.9700", "--out", str(tmp_path / "m2.plan"), "--json"])
    assert json.loads(off.stdout)["no_fly_considered"] == []


def test_search_patterns_from_the_cli(tmp_path, data_dir):
    for pattern in ("expanding-square", "sector", "parallel-track"):
        out = tmp_path / f"{pattern}.plan"
        res = runner.invoke(app, ["plan", "--pattern", pattern, "--start", "37.5665,126.9780", "--radius-m", "200",
                                  "--alt-m", "60", "--home", "37.5650,126.9760", "--out", str(out), "--json"])
        assert res.exit_code == 0, res.output
        m = read_plan(out)
        assert any(f.command == Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION for f in m.fence)
        assert json.loads(res.stdout)["sorties"][0]["preflight"]["ok"]
    kml = tmp_path / "nf.kml"
    kml.write_text("""<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>Deoksugung</name><Polygon>
<outerBoundaryIs><LinearRing><coordinates>126.977,37.566 126.979,37.566 126.979,37.567 126.977,37.567
126.977,37.566</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>""")
    res = runner.invoke(app, ["plan", "--pattern", "sector", "--start", "37.5665,126.9780", "--alt-m", "60",
                              "--exclude", str(kml), "--out", str(tmp_path / "x.plan")])
    assert res.exit_code == 2 and "'Deoksugung'" in res.output
    assert not (tmp_path / "x.plan").exists()


def test_max_alt_m_is_a_deprecated_alias_of_max_alt_agl_m(tmp_path, data_dir):
    area = _write(tmp_path / "z.geojson", ("z", shapely.box(126.978, 37.5665, 126.984, 37.5705)))
    res = runner.invoke(app, ["plan", "--area", str(area), "--alt-m", "120", "--max-alt-m", "100",
                              "--out", str(tmp_path / "m.plan")])
    assert res.exit_code == 2 and "deprecated" in res.output and "cap of 100" in res.output
