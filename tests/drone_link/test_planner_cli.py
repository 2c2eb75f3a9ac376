"""``disaster-ops plan`` end to end: real GeoJSON in, real mission files out, exit 2 on bad input."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import mapping
from typer.testing import CliRunner

from disaster_ops.cli import app
from drone_link.files import read_plan, read_waypoints
from drone_link.mission import Cmd

runner = CliRunner()
ZONE = shapely.box(126.978, 37.5665, 126.984, 37.5705)
NOFLY = shapely.box(126.980, 37.5655, 126.981, 37.5685)


def _write(path, geom):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": mapping(geom)}]}))
    return path


def test_plan_writes_files_and_json_report(tmp_path):
    area = _write(tmp_path / "zones.geojson", ZONE)
    nofly = _write(tmp_path / "nofly.geojson", NOFLY)
    res = runner.invoke(app, ["plan", "--area", str(area), "--alt-m", "70", "--camera", "m30t-wide",
                              "--exclude", str(nofly), "--home", "37.5655,126.977",
                              "--out", str(tmp_path / "m.plan"), "--waypoints", str(tmp_path / "m.waypoints"),
                              "--geojson", str(tmp_path / "p.geojson"), "--kml", str(tmp_path / "p.kml"),
                              "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["report"]["covered_share"] > 0.9
    assert doc["report"]["alt_rel_m"] == 70
    mission = read_plan(tmp_path / "m.plan")
    assert mission.items[0].command == Cmd.NAV_TAKEOFF
    # the automatic geofence (area + launch point + margin) and the no-fly zone
    assert {f.command for f in mission.fence} == {Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                                                  Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION}
    wp = read_waypoints(tmp_path / "m.waypoints")
    assert all(a.same_as(b) for a, b in zip(mission.items, wp.items))
    assert json.loads((tmp_path / "p.geojson").read_text())["type"] == "FeatureCollection"


def test_plan_several_drones_and_sorties_get_numbered_files(tmp_path):
    area = _write(tmp_path / "zones.geojson", ZONE)
    res = runner.invoke(app, ["plan", "--area", str(area), "--gsd-cm", "2.5", "--drones", "2",
                              "--battery-min", "10", "--out", str(tmp_path / "m.plan")])
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in tmp_path.glob("m_d*_s*.plan"))
    assert any(f.startswith("m_d1_") for f in files) and any(f.startswith("m_d2_") for f in files)
    assert "covers" in res.stdout


@pytest.mark.parametrize("setup,args,message", [
    (lambda d: None, ["--area", "{d}/missing.geojson", "--alt-m", "80"], "missing.geojson"),
    (lambda d: (d / "bad.geojson").write_text("{nope"), ["--area", "{d}/bad.geojson", "--alt-m", "80"],
     "bad.geojson:1"),
    (lambda d: _write(d / "line.geojson", shapely.LineString([(127, 37), (127.1, 37.1)])),
     ["--area", "{d}/line.geojson", "--alt-m", "80"], "expected Polygon"),
    (lambda d: _write(d / "z.geojson", ZONE), ["--area", "{d}/z.geojson", "--alt-m", "200"], "cap"),
    (lambda d: _write(d / "z.geojson", ZONE), ["--area", "{d}/z.geojson"], "--alt-m or --gsd-cm"),
    (lambda d: _write(d / "z.geojson", ZONE), ["--area", "{d}/z.geojson", "--alt-m", "80",
                                                "--camera", "hasselblad"], "unknown camera"),
    (lambda d: _write(d / "z.geojson", ZONE), ["--area", "{d}/z.geojson", "--alt-m", "80",
                                                "--home", "north"], "--home"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, setup, args, message):
    setup(tmp_path)
    argv = ["plan", *[a.format(d=tmp_path) for a in args], "--out", str(tmp_path / "m.plan")]
    res = runner.invoke(app, argv)
    assert res.exit_code == 2
    assert message in res.output
    assert not (tmp_path / "m.plan").exists()
