"""Hostile AOI, zone and mission files (issue #17): `coverage` and `plan` answer with one
line and exit code 2, fast, instead of a traceback or gigabytes of memory; the mission
file readers refuse values that could not be packed into MAVLink."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drone_link.files import MissionFileError
from drone_link.files.qgc_plan import plan_from_dict, read_plan
from drone_link.files.waypoints import read_waypoints
from tests.conftest import run_cli


def _poly(coords) -> dict:
    return {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [coords]}}


rng = np.random.default_rng(3)
_SCRIBBLE = (np.c_[129.0 + rng.random(3000) * 0.05, 35.1 + rng.random(3000) * 0.05]).tolist()
_SCRIBBLE.append(_SCRIBBLE[0])

HOSTILE_AREAS = {
    "infinity": '{"type": "Polygon", "coordinates": [[[129, 35], [Infinity, 35], [129, 36], [129, 35]]]}',
    "whole_world": json.dumps(_poly([[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]])),
    "misspelled": '{"type": "Poligon", "coordinates": [[[129, 35], [129.1, 35], [129, 35.1], [129, 35]]]}',
    "huge_int": '{"type": "Polygon", "coordinates": [[[' + "9" * 5000 + ", 35]]]}",
    "deep": '{"type": "Polygon", "coordinates": ' + "[" * 50_000 + "]" * 50_000 + "}",
    "scribble_3000": json.dumps(_poly(_SCRIBBLE)),
    "korea_box": json.dumps(_poly([[124.5, 33.0], [131.0, 33.0], [131.0, 38.6], [124.5, 38.6], [124.5, 33.0]])),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_AREAS))
def test_coverage_and_plan_refuse_hostile_areas_in_one_line(name, data_dir, tmp_path):
    area = tmp_path / f"{name}.geojson"
    area.write_text(HOSTILE_AREAS[name], encoding="utf-8")
    for args in (["coverage", "--area", str(area), "--out", str(tmp_path / "gaps.geojson")],
                 ["plan", "--area", str(area), "--alt-m", "80", "--home", "35.1,129.03",
                  "--out", str(tmp_path / "m.plan")]):
        res = run_cli(*args, timeout_s=60)
        assert res.returncode == 2, (args[0], res.stdout, res.stderr[-2000:])
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args[0], res.stderr[-2000:])
        assert str(area) in lines[0] or "area" in lines[0].lower(), lines[0]


def _plan_doc(**item) -> dict:
    it = {"autoContinue": True, "command": 16, "doJumpId": 1, "frame": 3,
          "params": [0, 0, 0, 0, 35.1, 129.03, 40], "type": "SimpleItem"}
    it.update(item)
    return {"fileType": "Plan", "version": 1, "groundStation": "x",
            "mission": {"version": 2, "items": [it], "plannedHomePosition": [35.1, 129.03, 10],
                        "cruiseSpeed": 10, "hoverSpeed": 5, "firmwareType": 3, "vehicleType": 2},
            "geoFence": {"circles": [], "polygons": [], "version": 2},
            "rallyPoints": {"points": [], "version": 2}}


@pytest.mark.parametrize("change, field", [
    ({"command": 65000}, "mission.items[0].command"),        # not a MAV_CMD
    ({"frame": 200}, "mission.items[0].frame"),              # not a MAV_FRAME
    ({"params": [1e39, 0, 0, 0, 35.1, 129.03, 40]}, "mission.items[0].params[0]"),  # float32 overflow
    ({"params": [0, 0, 0, 0, 35.1, 129.03, "40"]}, "mission.items[0].params[6]"),
])
def test_plan_items_that_cannot_be_packed_are_refused_by_the_reader(change, field):
    with pytest.raises(MissionFileError) as exc:
        plan_from_dict(_plan_doc(**change))
    assert exc.value.field == field


@pytest.mark.parametrize("mission_patch, field", [
    ({"plannedHomePosition": [1e39, 129.03, 10]}, "mission.plannedHomePosition[0]"),
    ({"plannedHomePosition": [95.0, 129.03, 10]}, "mission.plannedHomePosition"),
    ({"vehicleType": [2]}, None),  # unhashable type used to crash the lookup; now "generic"
])
def test_plan_home_and_header_values(mission_patch, field, tmp_path):
    doc = _plan_doc()
    doc["mission"].update(mission_patch)
    p = tmp_path / "m.plan"
    p.write_text(json.dumps(doc), encoding="utf-8")
    if field is None:
        assert read_plan(p).vehicle == "generic"
        return
    with pytest.raises(MissionFileError) as exc:
        read_plan(p)
    assert exc.value.field == field


@pytest.mark.parametrize("line, field", [
    ("1\t0\t3\t16\t0\t0\t0\t0\t35.1\t129.03\tinf\t1", "alt"),
    ("1\t0\t3\t99999\t0\t0\t0\t0\t35.1\t129.03\t40\t1", "command"),
    ("1\t0\t77\t16\t0\t0\t0\t0\t35.1\t129.03\t40\t1", "frame"),
    ("1\t0\t3\t1.0e999\t0\t0\t0\t0\t35.1\t129.03\t40\t1", "command"),
    ("1\t0\t3\t16\t1e39\t0\t0\t0\t35.1\t129.03\t40\t1", "param1"),
])
def test_waypoints_values_that_cannot_be_packed_are_refused(line, field, tmp_path):
    p = tmp_path / "m.waypoints"
    p.write_text("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t35.1\t129.03\t10\t1\n" + line + "\n", encoding="utf-8")
    with pytest.raises(MissionFileError) as exc:
        read_waypoints(p)
    assert exc.value.line == 3 and exc.value.field == field
