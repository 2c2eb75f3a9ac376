"""Safe dashboard missions: launch point, geofence, sorties, waypoint limit, imported no-fly zones,
the pre-flight check at dispatch, search patterns, and no GEOS error on the demo incident."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import shapely
from shapely.geometry import mapping
from sqlmodel import select
from typer.testing import CliRunner

from disaster_ops.cli import app
from disaster_ops.errors import InputError
from disaster_ops.incidents import GroundDetection
from disaster_ops.services import airspace
from disaster_ops.services import missions as svc
from disaster_ops.services.demo import DEMO_HOME, seed_sample_data
from disaster_ops.services.drones import register_drone
from disaster_ops.services.incidents import ingest
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.db import session_scope
from disaster_ops.storage.models import Drone, DroneState, utcnow
from drone_link.files import plan_from_dict
from drone_link.mission import Cmd

MANAGER = Principal("park", Role.MANAGER)


def run_cli(*args):
    """The CLI in-process (the data_dir/engine fixtures isolate its database)."""
    return CliRunner().invoke(app, list(args))

INCIDENT = (35.1050, 129.0390)
OTHER_HOME = (35.1075, 129.0420)
# between the demo home and the incident: every transit would cross it
HARBOUR = shapely.box(129.0345, 35.1025, 129.0365, 35.1040)


def _incident(engine, latlon=INCIDENT):
    seed_sample_data()
    det = GroundDetection(source_kind="cctv", source_id="cam-x", observed_at=datetime.now(UTC), kind="fire",
                          confidence=0.9, bbox_px=(0, 0, 5, 5), ground_lat=latlon[0], ground_lon=latlon[1])
    return ingest([det], engine=engine)[0].incident_id


def _drone(engine, name, home, *, endurance_min=25.0, max_waypoints=700):
    with session_scope(engine) as s:
        d = register_drone(s, name=name, connection="udpin:127.0.0.1:18401")
        d.home_lat_deg, d.home_lon_deg = home
        d.endurance_min, d.max_waypoints = endurance_min, max_waypoints
        s.add(d)


def _zones_file(tmp_path, name, *named):
    p = tmp_path / name
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": n}, "geometry": mapping(g)} for n, g in named]}))
    return p


def _stored(engine, ids):
    rows = {m.id: m for m in svc.list_missions(engine=engine)}
    out = []
    for i in ids:
        row = rows[i]
        out.append((row, plan_from_dict(json.loads(row.plan_json)), json.loads(row.report_json)))
    return out


def _path(mission):
    pts = [(mission.home_lon_deg, mission.home_lat_deg)]
    pts += [(it.lon_deg, it.lat_deg) for it in mission.items if it.command in (Cmd.NAV_WAYPOINT, Cmd.NAV_TAKEOFF)]
    return shapely.LineString(pts + [pts[0]])


def _inclusion(mission):
    verts = [(f.lon_deg, f.lat_deg) for f in mission.fence if f.command == Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION]
    return shapely.Polygon(verts)


def test_every_dashboard_mission_carries_fence_launch_sorties_and_waypoint_limit(engine):
    inc = _incident(engine)
    _drone(engine, "sim-1", DEMO_HOME, endurance_min=10.0, max_waypoints=40)
    area = svc.incident_area(inc, radius_m=300, engine=engine)
    gp = svc.plan_gap_survey(area, principal=MANAGER, incident_id=inc, drone_names=["sim-1"], engine=engine)
    stored = _stored(engine, gp.mission_ids)
    assert len(stored) > 1  # a 10-minute battery needs several sorties
    for row, mission, report in stored:
        assert (mission.home_lat_deg, mission.home_lon_deg) == pytest.approx(DEMO_HOME)
        assert report["launch"]["source"] == "drone home" and report["launch"]["drone"] == "sim-1"
        assert report["sortie_count"] == len(stored) and report["waypoint_limit"] == 40
        assert len(mission.items) + 1 <= 40
        fence = _inclusion(mission)
        assert fence.is_valid and fence.covers(_path(mission))
        assert report["preflight"]["ok"] and report["flight_time_s"] <= 10 * 60 * 0.75 * 1.02
        assert row.incident_id == inc and row.status == "planned"


def test_several_drones_each_launch_from_their_own_position(engine):
    inc = _incident(engine)
    _drone(engine, "sim-1", DEMO_HOME)
    _drone(engine, "sim-2", OTHER_HOME)
    with session_scope(engine) as s:  # sim-2 is flying: its live position wins over its home
        d2 = s.exec(select(Drone).where(Drone.name == "sim-2")).one()
        s.add(DroneState(drone_id=d2.id, lat=35.1072, lon=129.0425, link_ok=True, updated_at=utcnow()))
    area = svc.incident_area(inc, radius_m=300, engine=engine)
    gp = svc.plan_gap_survey(area, principal=MANAGER, drone_names=["sim-1", "sim-2"], engine=engine)
    homes = {r["launch"]["drone"]: ((m.home_lat_deg, m.home_lon_deg), r["launch"]["source"])
             for _, m, r in _stored(engine, gp.mission_ids)}
    assert homes["sim-1"] == (pytest.approx(DEMO_HOME), "drone home")
    assert homes["sim-2"] == (pytest.approx((35.1072, 129.0425)), "live position")
    assert gp.report["drone_count"] == 2


def test_no_launch_point_is_refused_never_the_zone_centroid(engine):
    inc = _incident(engine)
    area = svc.incident_area(inc, radius_m=300, engine=engine)
    with pytest.raises(InputError, match="launch point"):
        svc.plan_gap_survey(area, principal=MANAGER, engine=engine)
    with session_scope(engine) as s:
        register_drone(s, name="nowhere", connection="udpin:127.0.0.1:18402")
    with pytest.raises(InputError, match="'nowhere' has no live position or home"):
        svc.plan_gap_survey(area, principal=MANAGER, drone_names=["nowhere"], engine=engine)


def test_imported_no_fly_zone_is_avoided_and_a_launch_inside_one_refused_by_name(engine, tmp_path):
    inc = _incident(engine)
    _drone(engine, "sim-1", DEMO_HOME)
    area = svc.incident_area(inc, radius_m=300, engine=engine)
    before = svc.plan_gap_survey(area, principal=MANAGER, drone_names=["sim-1"], engine=engine)
    crossed = [_path(m).intersects(HARBOUR) for _, m, _ in _stored(engine, before.mission_ids)]
    assert any(crossed)  # without the layer the transit flies straight over the zone

    f = _zones_file(tmp_path, "kr_nofly.geojson", ("Busan harbour security zone", HARBOUR))
    assert airspace.import_airspace(f, principal=MANAGER, engine=engine).imported == 1
    after = svc.plan_gap_survey(area, principal=MANAGER, drone_names=["sim-1"], engine=engine)
    for _, mission, report in _stored(engine, after.mission_ids):
        assert not _path(mission).intersects(HARBOUR)  # rerouted around it
        assert "Busan harbour security zone" in report["no_fly_considered"]
        assert any(f.command == Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION for f in mission.fence)

    around_home = shapely.Point(DEMO_HOME[1], DEMO_HOME[0]).buffer(0.001)
    airspace.import_airspace(_zones_file(tmp_path, "heliport.geojson", ("Jung-gu heliport", around_home)),
                             principal=MANAGER, engine=engine)
    with pytest.raises(InputError, match="launch point .* inside no-fly zone 'Jung-gu heliport'"):
        svc.plan_gap_survey(area, principal=MANAGER, drone_names=["sim-1"], engine=engine)


def test_assign_runs_the_preflight_check_and_lists_every_violation(engine, tmp_path):
    inc = _incident(engine)
    _drone(engine, "sim-1", DEMO_HOME)
    area = svc.incident_area(inc, radius_m=300, engine=engine)
    mid = svc.plan_gap_survey(area, principal=MANAGER, drone_names=["sim-1"], engine=engine).mission_ids[0]
    assert svc.preflight_mission(mid, "sim-1", engine=engine).ok
    # a zone imported after planning, and a drone with a small mission memory
    airspace.import_airspace(_zones_file(tmp_path, "late.geojson", ("Port crane TFR", HARBOUR)),
                             principal=MANAGER, engine=engine)
    _drone(engine, "tiny", DEMO_HOME, max_waypoints=5)
    with pytest.raises(InputError) as exc:
        svc.assign(mid, "tiny", principal=MANAGER, engine=engine)
    msg = str(exc.value)
    assert "no_fly:" in msg and "'Port crane TFR'" in msg and "waypoints:" in msg and "exceed the vehicle's 5" in msg
    assert "\n" not in msg
    assert next(m for m in svc.list_missions(engine=engine) if m.id == mid).status == "planned"


def test_search_patterns_from_an_incident_or_a_last_known_position(engine, tmp_path):
    inc = _incident(engine)
    _drone(engine, "sim-1", DEMO_HOME)
    for pattern in ("expanding-square", "sector", "parallel-track"):
        [mid] = svc.plan_search_mission(pattern, principal=MANAGER, incident_id=inc, radius_m=150,
                                        drone_name="sim-1", engine=engine)
        _, mission, report = _stored(engine, [mid])[0]
        assert (mission.home_lat_deg, mission.home_lon_deg) == pytest.approx(DEMO_HOME)
        assert _inclusion(mission).covers(_path(mission)) and report["preflight"]["ok"]
        # the pattern is centred on the incident
        wps = shapely.MultiPoint([(it.lon_deg, it.lat_deg) for it in mission.items if it.command == Cmd.NAV_WAYPOINT])
        assert shapely.Point(INCIDENT[1], INCIDENT[0]).distance(wps.centroid) < 0.002
    lkp = (35.1060, 129.0400)
    airspace.import_airspace(_zones_file(tmp_path, "z.geojson", ("Bridge works", shapely.Point(lkp[1], lkp[0])
                                                                  .buffer(0.0005))), principal=MANAGER, engine=engine)
    with pytest.raises(InputError, match="crosses no-fly zone 'Bridge works'"):
        svc.plan_search_mission("expanding-square", principal=MANAGER, datum_latlon=lkp, radius_m=150,
                                drone_name="sim-1", engine=engine)


def test_demo_incident_plan_survey_never_raises_a_geos_error(engine):
    """14 of 60 radii used to raise 'TopologyException: side location conflict' from union_all."""
    inc = _incident(engine, latlon=(35.1016, 129.0323))  # the demo camera's hillside
    for radius in range(300, 1301, 100):
        area = svc.incident_area(inc, radius_m=radius, engine=engine)
        gp = svc.plan_gap_survey(area, principal=MANAGER, incident_id=inc, launch_latlon=DEMO_HOME,
                                 engine=engine)
        assert gp.mission_ids, radius


def test_airspace_cli_imports_geojson_and_kml_and_lists(tmp_path, data_dir):
    gj = _zones_file(tmp_path, "nofly.geojson", ("Seoul P-73", shapely.box(126.96, 37.52, 126.99, 37.54)))
    kml = tmp_path / "zones.kml"
    kml.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>Gimpo CTR</name>
<Polygon><outerBoundaryIs><LinearRing><coordinates>126.77,37.55,0 126.82,37.55,0 126.82,37.58,0
126.77,37.58,0 126.77,37.55,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>""")
    r = run_cli("airspace", "import", "--local-admin", str(gj), str(kml), "--json")
    assert r.exit_code == 0, r.output
    assert [json.loads(line)["imported"] for line in r.stdout.splitlines()] == [1, 1]
    again = run_cli("airspace", "import", "--local-admin", str(gj), "--json")
    assert json.loads(again.stdout) == {"source": "nofly.geojson", "imported": 0, "updated": 1}
    listed = json.loads(run_cli("airspace", "list", "--json").stdout)
    assert sorted(z["name"] for z in listed) == ["Gimpo CTR", "Seoul P-73"]
    bad = tmp_path / "bomb.kml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaa">]><kml>&a;</kml>')
    r = run_cli("airspace", "import", "--local-admin", str(bad))
    assert r.exit_code == 2 and "bomb.kml" in r.output and "DOCTYPE" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_launch_point_cli_records_the_drone_home_used_for_planning(engine):
    with session_scope(engine) as s:
        register_drone(s, name="sim-9", connection="udpin:127.0.0.1:18403")
    r = run_cli("launch-point", "--local-admin", "sim-9", "35.1020,129.0330")
    assert r.exit_code == 0, r.output
    from disaster_ops.services.planning import launches_for

    [lc] = launches_for(["sim-9"], engine=engine)
    assert (lc.lat, lc.lon, lc.source) == (35.102, 129.033, "drone home")
    assert run_cli("launch-point", "--local-admin", "ghost", "35.1,129.0").exit_code == 2
    assert run_cli("launch-point", "--local-admin", "sim-9", "--clear").exit_code == 0
    with pytest.raises(InputError, match="no live position or home"):
        launches_for(["sim-9"], engine=engine)
