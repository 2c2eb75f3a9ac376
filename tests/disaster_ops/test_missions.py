"""Gap missions: incident → uncovered zones → stored coverage mission → dispatch by role."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import shapely

from disaster_ops.errors import InputError, PermissionDenied
from disaster_ops.incidents import GroundDetection
from disaster_ops.services import missions as svc
from disaster_ops.services.demo import DEMO_HOME, seed_sample_data
from disaster_ops.services.drones import register_drone
from disaster_ops.services.incidents import ingest
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.db import session_scope
from drone_link.files import plan_from_dict


@pytest.fixture
def incident(engine):
    seed_sample_data()
    det = GroundDetection(source_kind="cctv", source_id="cam-x", observed_at=datetime.now(UTC),
                          kind="fire", confidence=0.9, bbox_px=(0, 0, 5, 5), ground_lat=35.1050, ground_lon=129.0390)
    return ingest([det], engine=engine)[0].incident_id


def test_gap_survey_covers_only_what_cameras_miss(engine, incident):
    area = svc.incident_area(incident, radius_m=300, engine=engine)
    cov = svc.coverage_gaps(area, engine=engine)
    assert 0.0 < cov.covered_fraction < 1.0  # Jung-gu sample cameras see part of it
    gp = svc.plan_gap_survey(area, principal=Principal("park", Role.MANAGER), incident_id=incident,
                             launch_latlon=DEMO_HOME, engine=engine)
    assert gp.mission_ids
    [row] = [m for m in svc.list_missions(engine=engine) if m.id == gp.mission_ids[0]]
    assert row.incident_id == incident and row.status == "planned" and row.created_by == "park"
    mission = plan_from_dict(json.loads(svc.plan_file(row.id, engine=engine)))
    assert len(mission.items) > 4
    # The survey flies over the gaps, not over the whole circle.
    zone = shapely.from_geojson(row.zone_geojson)
    assert zone.area < area.polygon_wgs84().area
    assert gp.report["covered_share"] >= 0.99


def test_only_managers_dispatch(engine, incident):
    with session_scope(engine) as s:
        drone = register_drone(s, name="sim-1", connection="udpin:127.0.0.1:14550")
        drone.home_lat_deg, drone.home_lon_deg = DEMO_HOME
    area = svc.incident_area(incident, radius_m=300, engine=engine)
    with pytest.raises(PermissionDenied):
        svc.plan_gap_survey(area, principal=Principal("lee", Role.RESPONDER), launch_latlon=DEMO_HOME,
                            engine=engine)
    mid = svc.plan_gap_survey(area, principal=Principal("kim", Role.PILOT), drone_names=["sim-1"],
                              engine=engine).mission_ids[0]
    with pytest.raises(PermissionDenied):
        svc.assign(mid, "sim-1", principal=Principal("kim", Role.PILOT), engine=engine)
    row = svc.assign(mid, "sim-1", principal=Principal("park", Role.MANAGER), engine=engine)
    assert row.status == "assigned"
    assert [m.id for m in svc.list_missions(drone_name="sim-1", engine=engine)] == [mid]
    with pytest.raises(InputError, match="no drone"):
        svc.assign(mid, "ghost", principal=Principal("park", Role.MANAGER), engine=engine)
