"""The loop closed by itself: new CCTV incident → gap mission → dispatch only where enabled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from disaster_ops.errors import PermissionDenied
from disaster_ops.incidents.fusion import GroundDetection
from disaster_ops.services import incidents as incident_svc
from disaster_ops.services.aerial_view import corroborated_by_drone, set_auto_dispatch
from disaster_ops.services.autoloop import AutoLoop
from disaster_ops.services.cameras import import_registry
from disaster_ops.services.demo import DEMO_HOME, DEMO_VIEW_POINT, sample_registries
from disaster_ops.services.drones import register_drone
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.db import session_scope
from disaster_ops.storage.models import AuditEvent, MissionStatus
from disaster_ops.storage.models import Mission as MissionRow

MANAGER = Principal(name="kim", role=Role.MANAGER)


def _cctv_fire(lat: float, lon: float, engine, source: str = "cam:demo-replay-1") -> int:
    det = GroundDetection(source_kind="cctv", source_id=source, observed_at=datetime.now(UTC), kind="fire",
                          confidence=0.9, bbox_px=(0, 0, 10, 10), ground_lat=lat, ground_lon=lon)
    [r] = incident_svc.ingest([det], engine=engine, principal=Principal.system("watcher"))
    return r.incident_id


@pytest.fixture
def world(engine):
    for f in sample_registries():
        import_registry(f, principal=Principal.system("test"), engine=engine)
    with session_scope(engine) as s:
        register_drone(s, name="sim-1", connection="udpin:127.0.0.1:18850", principal=Principal.system("test"))
    return engine


def test_new_cctv_incident_gets_a_gap_mission_but_no_dispatch_unless_enabled(world):
    engine = world
    inc = _cctv_fire(*DEMO_VIEW_POINT, engine)
    loop = AutoLoop(engine=engine, home_latlon=DEMO_HOME)
    r = loop.tick()
    assert r.planned and not r.dispatched
    with Session(engine) as s:
        rows = s.exec(select(MissionRow).where(MissionRow.incident_id == inc)).all()
    assert rows and all(MissionStatus(m.status) is MissionStatus.PLANNED and m.drone_id is None for m in rows)
    assert loop.tick().planned == []  # once per incident


def test_dispatch_only_to_a_drone_a_manager_enabled_and_every_step_audited_as_system(world):
    engine = world
    with pytest.raises(PermissionDenied):
        set_auto_dispatch("sim-1", True, principal=Principal(name="lee", role=Role.PILOT), engine=engine)
    with pytest.raises(PermissionDenied):
        set_auto_dispatch("sim-1", True, principal=Principal.system("watcher"), engine=engine)
    set_auto_dispatch("sim-1", True, principal=MANAGER, engine=engine)
    inc = _cctv_fire(*DEMO_VIEW_POINT, engine)
    r = AutoLoop(engine=engine, home_latlon=DEMO_HOME).tick()
    assert r.dispatched and r.dispatched[0][1] == "sim-1"
    mission_id = r.dispatched[0][0]
    with Session(engine) as s:
        m = s.get(MissionRow, mission_id)
        events = s.exec(select(AuditEvent).where(AuditEvent.object_id == str(mission_id))).all()
    assert MissionStatus(m.status) is MissionStatus.UPLOADING and m.drone_id is not None and m.incident_id == inc
    steps = {e.action: e for e in events}
    assert {"mission.assigned", "mission.uploading"} <= set(steps)
    assert all(steps[a].actor == "autoloop" and steps[a].role == "system"
               for a in ("mission.assigned", "mission.uploading"))
    assert "kim" in steps["mission.assigned"].details_json  # who enabled auto-dispatch
    # The drone is busy now: a second incident is planned but not dispatched to it.
    _cctv_fire(35.0950, 129.0250, engine, source="cam:other")
    r2 = AutoLoop(engine=engine, home_latlon=DEMO_HOME).tick()
    assert r2.planned and not r2.dispatched
    # Switched off again, nothing more is dispatched.
    set_auto_dispatch("sim-1", False, principal=MANAGER, engine=engine)


def test_a_drone_detection_of_a_cctv_incident_marks_it_corroborated(world):
    engine = world
    inc = _cctv_fire(*DEMO_VIEW_POINT, engine)
    assert not corroborated_by_drone(inc, engine=engine)
    det = GroundDetection(source_kind="drone", source_id="sim-1", observed_at=datetime.now(UTC), kind="fire",
                          confidence=0.9, bbox_px=(0, 0, 10, 10), ground_lat=DEMO_VIEW_POINT[0] + 2e-5,
                          ground_lon=DEMO_VIEW_POINT[1])
    [r] = incident_svc.ingest([det], engine=engine, principal=Principal.system("drone:sim-1"))
    assert r.incident_id == inc and corroborated_by_drone(inc, engine=engine)


def test_drone_worker_hook_starts_the_aerial_worker_only_with_a_video_url(world, tmp_path):
    import cv2
    import numpy as np

    from disaster_ops.services.aerial_view import set_video
    from disaster_ops.services.aerial_worker import start_for_drone
    from drone_link.telemetry.pose import PoseTrack

    engine = world
    assert start_for_drone("sim-1", PoseTrack(), engine=engine) is None  # no video: nothing started
    video = tmp_path / "v.avi"
    vw = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    for i in range(30):
        vw.write(np.full((240, 320, 3), 40 + i, np.uint8))
    vw.release()
    with pytest.raises(PermissionDenied):
        set_video("sim-1", str(video), principal=Principal.system("watcher"), engine=engine)
    set_video("sim-1", str(video), principal=MANAGER, engine=engine)
    handle = start_for_drone("sim-1", PoseTrack(), engine=engine, sample_fps=10.0)
    assert handle is not None
    import time

    time.sleep(3.0)
    stats = handle.stop()
    # Frames arrived; with no telemetry none of them was placed.
    assert stats.frames > 0 and stats.unreferenced == stats.frames and stats.detections == 0
