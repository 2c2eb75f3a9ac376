"""Mission files: .plan and .waypoints round trips, pymavlink loading, exports, clear errors."""

from __future__ import annotations

import json
import math
from xml.etree import ElementTree as ET

import pytest
import shapely
from pymavlink import mavwp

from drone_link.files import (
    MissionFileError,
    plan_to_dict,
    read_plan,
    read_waypoints,
    write_plan,
    write_waypoints,
)
from drone_link.files.export import plan_geojson, plan_kml, write_geojson, write_kml
from drone_link.mission import Cmd, Frame, Mission, MissionItem, MissionType
from drone_link.planner import Airspace, SurveySpec, camera_preset, plan_coverage

LAT0, LON0 = 37.5665, 126.9780


def _box(dx0, dy0, dx1, dy1):
    """A lon/lat box given in approx. metre offsets from City Hall."""
    k_lat, k_lon = 1 / 111_000, 1 / 88_000
    return shapely.box(LON0 + dx0 * k_lon, LAT0 + dy0 * k_lat, LON0 + dx1 * k_lon, LAT0 + dy1 * k_lat)


@pytest.fixture(scope="module")
def planned():
    zone = _box(0, 0, 600, 400)
    airspace = Airspace(fence=_box(-300, -300, 900, 700), exclusions=(_box(250, -50, 350, 150),))
    plan = plan_coverage(zone, SurveySpec(camera=camera_preset("m30t-wide"), alt_rel_m=60),
                         airspace=airspace, home_latlon=(LAT0 - 0.001, LON0 - 0.001))
    mission = plan.missions[0]
    mission.rally.append(MissionItem(Cmd.NAV_RALLY_POINT, Frame.GLOBAL_RELATIVE_ALT, LAT0, LON0 - 0.002,
                                     30.0, mission_type=MissionType.RALLY))
    mission.fence.append(MissionItem(Cmd.NAV_FENCE_CIRCLE_EXCLUSION, Frame.GLOBAL, LAT0 + 0.01, LON0,
                                     0.0, param1=75.0, mission_type=MissionType.FENCE))
    return plan, mission


def assert_same_items(a: list[MissionItem], b: list[MissionItem]) -> None:
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.same_as(y), f"item {i}: {x} != {y}"
        assert x.mission_type == y.mission_type


def test_plan_round_trip(planned, tmp_path):
    _, mission = planned
    path = write_plan(mission, tmp_path / "m.plan")
    back = read_plan(path)
    assert_same_items(mission.items, back.items)
    assert_same_items(mission.fence, back.fence)
    assert_same_items(mission.rally, back.rally)
    assert (back.home_lat_deg, back.home_lon_deg) == (mission.home_lat_deg, mission.home_lon_deg)
    assert back.cruise_speed_m_s == mission.cruise_speed_m_s
    assert back.vehicle == "copter"
    # a second write gives the identical file
    assert write_plan(back, tmp_path / "m2.plan").read_text() == path.read_text()


def test_plan_layout_is_what_qgc_expects(planned):
    _, mission = planned
    doc = plan_to_dict(mission)
    assert doc["fileType"] == "Plan" and doc["version"] == 1
    m = doc["mission"]
    assert m["version"] == 2 and m["firmwareType"] == 3 and m["vehicleType"] == 2
    assert len(m["plannedHomePosition"]) == 3
    for item in m["items"]:
        assert item["type"] == "SimpleItem" and len(item["params"]) == 7
        if item["frame"] == Frame.GLOBAL_RELATIVE_ALT:
            assert item["AltitudeMode"] == 1 and item["Altitude"] == item["params"][6]
        else:
            assert "Altitude" not in item
    wp = next(i for i in m["items"] if i["command"] == Cmd.NAV_WAYPOINT)
    assert wp["params"][3] is None  # yaw NaN written as null, like QGC
    fence = doc["geoFence"]
    assert fence["version"] == 2
    assert [p["inclusion"] for p in fence["polygons"]] == [True, False]
    assert all(p["version"] == 1 and len(p["polygon"]) >= 3 for p in fence["polygons"])
    assert fence["circles"] == [{"circle": {"center": [LAT0 + 0.01, LON0], "radius": 75.0},
                                 "inclusion": False, "version": 1}]
    assert doc["rallyPoints"]["version"] == 2 and len(doc["rallyPoints"]["points"][0]) == 3
    json.dumps(doc, allow_nan=False)  # strict JSON


def test_waypoints_round_trip_and_pymavlink_loads_it(planned, tmp_path):
    _, mission = planned
    path = write_waypoints(mission, tmp_path / "m.waypoints")
    text = path.read_text().splitlines()
    assert text[0] == "QGC WPL 110"
    assert text[1].split("\t")[:4] == ["0", "1", "0", "16"]
    back = read_waypoints(path)
    assert_same_items(mission.items, back.items)
    assert back.home_lat_deg == pytest.approx(mission.home_lat_deg, abs=1e-8)
    loader = mavwp.MAVWPLoader()
    n = loader.load(str(path))
    assert n == len(mission.items) + 1
    for i, it in enumerate(mission.items, start=1):
        w = loader.wp(i)
        assert w.command == it.command and w.frame == it.frame
        assert w.x == pytest.approx(it.lat_deg, abs=1e-7) and w.y == pytest.approx(it.lon_deg, abs=1e-7)
        assert w.z == pytest.approx(it.alt_m)


def test_exports_are_valid(planned, tmp_path):
    plan, _ = planned
    gj = plan_geojson(plan)
    kinds = {f["properties"]["kind"] for f in gj["features"]}
    assert kinds == {"path", "photo", "footprint"}
    path_feat = next(f for f in gj["features"] if f["properties"]["kind"] == "path")
    lon, lat = path_feat["geometry"]["coordinates"][0]
    assert lat == pytest.approx(LAT0 - 0.001, abs=1e-6) and lon == pytest.approx(LON0 - 0.001, abs=1e-6)
    n_photos = sum(f["properties"]["kind"] == "photo" for f in gj["features"])
    assert n_photos == plan.report.photo_count
    json.loads(write_geojson(plan, tmp_path / "p.geojson").read_text())
    root = ET.fromstring(write_kml(plan, tmp_path / "p.kml").read_bytes())
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert len(root.findall(".//k:Placemark", ns)) == 1 + plan.report.photo_count
    assert plan_kml(plan, footprints=False).count("<Placemark>") == 1


def _plan_doc(mission: Mission) -> dict:
    return plan_to_dict(mission)


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d.update(fileType="Mission"), "fileType"),
    (lambda d: d["mission"].update(version=1), "mission.version"),
    (lambda d: d["mission"]["items"][2].update(params=[0, 0, 0]), "mission.items[2].params"),
    (lambda d: d["mission"]["items"][1].update(command="x"), "mission.items[1].command"),
    (lambda d: d["mission"]["items"][3]["params"].__setitem__(4, "north"), "mission.items[3].params[4]"),
    (lambda d: d["mission"]["items"][0].update(type="Waypoint"), "mission.items[0].type"),
    (lambda d: d["mission"].pop("plannedHomePosition"), "mission.plannedHomePosition"),
    (lambda d: d["geoFence"]["polygons"][0].update(polygon=[[1, 2]]), "geoFence.polygons[0].polygon"),
    (lambda d: d["rallyPoints"]["points"].append([1, 2]), "rallyPoints.points[1]"),
])
def test_bad_plan_names_the_field(planned, tmp_path, mutate, field):
    _, mission = planned
    doc = _plan_doc(mission)
    mutate(doc)
    path = tmp_path / "bad.plan"
    path.write_text(json.dumps(doc))
    with pytest.raises(MissionFileError) as err:
        read_plan(path)
    assert err.value.field == field
    assert "bad.plan" in str(err.value)


def test_plan_with_broken_json_names_the_line(tmp_path):
    path = tmp_path / "broken.plan"
    path.write_text('{\n  "fileType": "Plan",\n  "mission": {,\n}\n')
    with pytest.raises(MissionFileError) as err:
        read_plan(path)
    assert err.value.line == 3
    with pytest.raises(MissionFileError, match="cannot read"):
        read_plan(tmp_path / "missing.plan")


@pytest.mark.parametrize("text,line,field", [
    ("QGC WPL 100\n", 1, "version"),
    ("hello\n", 1, None),
    ("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t37.5\t127.0\t10\n", 2, None),
    ("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t37.5\t127.0\t10\t1\n1\t0\t3\tsixteen\t0\t0\t0\t0\t37.5\t127.0\t10\t1\n",
     3, "command"),
    ("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t37.5\t127.0\t10\t1\n2\t0\t3\t16\t0\t0\t0\t0\t37.5\t127.0\t10\t1\n",
     3, "index"),
    ("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t97.5\t127.0\t10\t1\n", 2, "lat/lon"),
    ("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t37.5\tabc\t10\t1\n", 2, "lon"),
])
def test_bad_waypoints_names_line_and_field(tmp_path, text, line, field):
    path = tmp_path / "bad.waypoints"
    path.write_text(text)
    with pytest.raises(MissionFileError) as err:
        read_waypoints(path)
    assert err.value.line == line
    assert err.value.field == field
    assert str(err.value).startswith(str(path))


def test_mission_planner_style_file_reads(tmp_path):
    """Mission Planner writes space-free tab lines with 6+ decimals and CRLF endings."""
    path = tmp_path / "mp.waypoints"
    path.write_bytes(b"QGC WPL 110\r\n"
                     b"0\t1\t0\t16\t0.000000\t0.000000\t0.000000\t0.000000\t37.566500\t126.978000\t35.000000\t1\r\n"
                     b"1\t0\t3\t22\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t40.000000\t1\r\n"
                     b"2\t0\t3\t16\t0.000000\t0.000000\t0.000000\t0.000000\t37.567000\t126.979000\t40.000000\t1\r\n")
    m = read_waypoints(path)
    assert [int(i.command) for i in m.items] == [22, 16]
    assert m.home_alt_amsl_m == 35.0
    assert math.isclose(m.items[1].lon_deg, 126.979)


def test_qgc_survey_complex_item_reads_its_generated_items(tmp_path):
    """QGC saves a Survey as a ComplexItem holding the SimpleItems it generated."""
    wp = {"AMSLAltAboveTerrain": None, "Altitude": 50, "AltitudeMode": 1, "autoContinue": True,
          "command": 16, "doJumpId": 2, "frame": 3, "params": [0, 0, 0, None, 37.5, 127.0, 50],
          "type": "SimpleItem"}
    cam = {"autoContinue": True, "command": 206, "doJumpId": 3, "frame": 2,
           "params": [25, 0, 1, 0, 0, 0, 0], "type": "SimpleItem"}
    doc = {"fileType": "Plan", "version": 1, "groundStation": "QGroundControl",
           "geoFence": {"circles": [], "polygons": [], "version": 2},
           "rallyPoints": {"points": [], "version": 2},
           "mission": {"version": 2, "firmwareType": 12, "vehicleType": 2, "cruiseSpeed": 15,
                       "hoverSpeed": 5, "plannedHomePosition": [37.4, 127.0, 30],
                       "items": [{"type": "ComplexItem", "complexItemType": "survey", "version": 5,
                                  "TransectStyleComplexItem": {"Items": [wp, cam]},
                                  "polygon": [[37.5, 127.0], [37.6, 127.0], [37.6, 127.1]]}]}}
    path = tmp_path / "qgc.plan"
    path.write_text(json.dumps(doc))
    m = read_plan(path)
    assert [int(i.command) for i in m.items] == [16, 206]
    assert math.isnan(m.items[0].param4) and m.items[1].param1 == 25
    del doc["mission"]["items"][0]["TransectStyleComplexItem"]
    path.write_text(json.dumps(doc))
    with pytest.raises(MissionFileError, match="complex item"):
        read_plan(path)
