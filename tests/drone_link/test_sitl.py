"""The product against a real autopilot: ArduPilot's ArduCopter SITL (../shared/sitl).

Through the product as a user drives it: ``disaster-ops plan`` → ``disaster-ops fly
--start`` (upload, verify, arm, take off, fly to completion), the autopilot's own fence
failsafe, malformed missions, link loss, and the drone worker honouring RTL during the
upload and during take-off. Skipped with the reason where the SITL binary is absent.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlmodel import Session, select

from drone_link.files import write_plan
from drone_link.link import DroneLink
from drone_link.mission import Cmd, Frame, Mission, MissionItem, MissionType

from ..conftest import run_cli
from .conftest import SITL_HOME

LAT0, LON0 = SITL_HOME[0], SITL_HOME[1]


def _square_geojson(path, *, half_deg: float, north_deg: float = 0.0004) -> None:
    lat, lon = LAT0 + north_deg, LON0
    ring = [[lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg],
            [lon + half_deg, lat + half_deg], [lon - half_deg, lat + half_deg],
            [lon - half_deg, lat - half_deg]]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))


def _mission_rows(engine):
    from disaster_ops.storage.models import Mission as MissionRow

    with Session(engine) as s:
        return list(s.exec(select(MissionRow).order_by(MissionRow.id)))


def _status(row) -> str:
    return str(getattr(row.status, "value", row.status))


def test_planned_survey_is_uploaded_verified_and_flown_to_completion(sitl, tmp_path, data_dir, engine):
    area = tmp_path / "area.geojson"
    _square_geojson(area, half_deg=0.0002)
    plan = tmp_path / "survey.plan"
    res = run_cli("plan", "--area", str(area), "--alt-m", "25", "--out", str(plan),
                  "--home", f"{LAT0},{LON0}", "--speed-m-s", "10")
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(plan.read_text())
    items = doc["mission"]["items"]
    assert any(i.get("params", [0] * 4)[3] is None for i in items if i.get("command") == 16), \
        "the plan should carry NaN (null) yaw that ArduPilot stores as 0"
    fly = run_cli("fly", "--connect", sitl.connection, "--mission", str(plan), "--start", "--json",
                  "--follow-timeout-s", "240", timeout_s=300)
    assert fly.returncode == 0, fly.stderr[-3000:]
    out = json.loads(fly.stdout.strip().splitlines()[-1])
    assert out["status"] == "completed" and out["verified"] is True and out["autopilot"] == "ardupilot"
    assert len(out["reached"]) == out["items"]
    rows = _mission_rows(engine)
    assert [_status(r) for r in rows] == ["completed"]


def test_fence_breach_triggers_the_autopilots_own_failsafe(sitl, tmp_path, data_dir, engine):
    d = 0.0006  # ~65 m each side of home
    fence = [MissionItem(Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, Frame.GLOBAL, LAT0 + a, LON0 + b, 0.0,
                         param1=4, mission_type=MissionType.FENCE)
             for a, b in ((-d, -d), (-d, d), (d, d), (d, -d))]
    items = [MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, 0, 0, 15.0),
             MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT, LAT0 + 0.002, LON0, 15.0),
             MissionItem(Cmd.NAV_RETURN_TO_LAUNCH, Frame.MISSION)]
    plan = tmp_path / "breach.plan"
    write_plan(Mission(items=items, fence=fence, home_lat_deg=LAT0, home_lon_deg=LON0,
                       home_alt_amsl_m=SITL_HOME[2]), plan)
    fly = run_cli("fly", "--connect", sitl.connection, "--mission", str(plan), "--start",
                  "--follow-timeout-s", "240", timeout_s=300)
    # The vehicle never reached the waypoint outside the fence: the autopilot turned back by itself.
    assert fly.returncode == 1, fly.stderr[-3000:]
    modes = [ln.split()[0] for ln in fly.stderr.splitlines() if " item " in ln and " alt " in ln]
    assert "AUTO" in modes and "RTL" in modes[modes.index("AUTO"):], fly.stderr[-3000:]
    assert [_status(r) for r in _mission_rows(engine)] == ["aborted"]


@pytest.mark.parametrize("field,value,reason", [
    ("command", 70000, "MAV_CMD"),
    ("frame", 99, "MAV_FRAME"),
    ("param", 1e39, "float32"),
    ("lat", 95.0, "out of range"),
])
def test_malformed_mission_exits_2_and_leaves_vehicle_and_database_untouched(
        sitl, tmp_path, data_dir, engine, field, value, reason):
    items = [MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, 0, 0, 10.0),
             MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT, LAT0 + 0.0003, LON0, 10.0)]
    plan = tmp_path / "bad.plan"
    write_plan(Mission(items=items, home_lat_deg=LAT0, home_lon_deg=LON0), plan)
    doc = json.loads(plan.read_text())
    wp = doc["mission"]["items"][1]
    if field == "command":
        wp["command"] = value
    elif field == "frame":
        wp["frame"] = value
    elif field == "param":
        wp["params"][0] = value
    else:
        wp["params"][4] = value
    plan.write_text(json.dumps(doc))
    fly = run_cli("fly", "--connect", sitl.connection, "--mission", str(plan), "--start")
    assert fly.returncode == 2, fly.stderr
    line = fly.stderr.strip()
    assert len(line.splitlines()) == 1 and "bad.plan" in line and reason in line, line
    assert _mission_rows(engine) == []  # nothing recorded
    with DroneLink.connect(sitl.connection) as link:  # nothing sent: the vehicle holds only home
        link.wait_heartbeat(timeout_s=10)
        assert len(link.download(MissionType.MISSION)) <= 1


def test_link_loss_in_flight_exits_3_and_marks_the_mission_failed(sitl, tmp_path, data_dir, engine):
    items = [MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, 0, 0, 15.0),
             MissionItem(Cmd.NAV_LOITER_UNLIM, Frame.GLOBAL_RELATIVE_ALT, LAT0 + 0.0005, LON0, 15.0)]
    plan = tmp_path / "loiter.plan"
    write_plan(Mission(items=items, home_lat_deg=LAT0, home_lon_deg=LON0), plan)
    import subprocess
    import sys

    from tests.conftest import REPO  # noqa: F401  (run_cli's environment)

    proc = subprocess.Popen([sys.executable, "-m", "disaster_ops", "fly", "--connect", sitl.connection,
                             "--mission", str(plan), "--start", "--link-loss-fail-s", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            rows = _mission_rows(engine)
            if rows and _status(rows[0]) == "active":
                break
            time.sleep(0.3)
        assert rows and _status(rows[0]) == "active"
        sitl.kill()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err[-2000:]
    assert "link lost" in err.strip().splitlines()[-1]
    assert [_status(r) for r in _mission_rows(engine)] == ["failed"]


def _wait(pred, timeout_s: float, every_s: float = 0.01):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every_s)
    return None


def test_worker_sends_rtl_within_1s_during_upload_and_during_takeoff(sitl, data_dir, engine):
    from disaster_ops.services import drones
    from disaster_ops.services import missions as svc
    from disaster_ops.services.drone_worker import DroneWorker
    from disaster_ops.services.roles import Principal, Role
    from disaster_ops.storage.db import session_scope
    from disaster_ops.storage.models import MissionStatus
    from drone_link.files import plan_to_dict
    from drone_link.link.launch import LaunchStep

    worker = DroneWorker("sitl-1", sitl.connection, engine=engine, heartbeat_timeout_s=20,
                         ready_timeout_s=90)
    th = threading.Thread(target=worker.run, kwargs={"duration_s": 240}, daemon=True)
    th.start()

    d = 0.002  # ~220 m inclusion geofence (dispatch refuses a mission without one)
    fence = [MissionItem(Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, Frame.GLOBAL, LAT0 + a, LON0 + b, 0.0,
                         param1=4, mission_type=MissionType.FENCE) for a, b in ((-d, -d), (-d, d), (d, d), (d, -d))]

    def dispatch(mission: Mission) -> int:
        # as an operator would: the drone shows on the map (dispatch checks its live position)
        assert _wait(lambda: live_state_near_home(), 60, 0.2)
        mission.fence = fence
        with session_scope(engine) as s:
            row = drones.record_mission(s, mission, name="m", status=MissionStatus.PLANNED,
                                        plan_json=json.dumps(plan_to_dict(mission)))
            mid = row.id
        svc.assign(mid, "sitl-1", principal=Principal("park", Role.MANAGER), engine=engine)
        svc.request_flight(mid, principal=Principal("kim", Role.PILOT), engine=engine)
        return mid

    def live_state_near_home() -> bool:
        from disaster_ops.storage.models import DroneState

        with Session(engine) as s:
            st = s.exec(select(DroneState)).first()
        return st is not None and st.lat is not None and abs(st.lat - LAT0) < 0.001

    def rtl_latency(mid: int, requested: float) -> float:
        sent = _wait(lambda: [t for t, m, what in worker.events if m == mid and what.startswith("rtl sent")], 5)
        assert sent, worker.events
        return sent[0] - requested

    try:
        assert _wait(lambda: worker.link is not None and worker.link.telemetry.mode, 30)
        # 1) during the upload: a long survey keeps the upload going for a while
        big = [MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, 0, 0, 20.0)] + [
            MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT, LAT0 + 1e-5 * (i % 40),
                        LON0 + 1e-5 * (i // 40), 20.0) for i in range(600)]
        mid = dispatch(Mission(items=big, home_lat_deg=LAT0, home_lon_deg=LON0))
        assert _wait(lambda: worker.flight and worker.flight.launch.step is LaunchStep.UPLOAD, 20)
        t0 = time.monotonic()
        svc.request_rtl(mid, principal=Principal("kim", Role.PILOT), engine=engine)
        latency_upload = rtl_latency(mid, t0)
        assert latency_upload <= 1.0
        assert _wait(lambda: worker.link.telemetry.mode == "RTL", 5), worker.link.telemetry.mode
        mode_upload = time.monotonic() - t0
        assert _wait(lambda: (mid, "aborted") in worker.flown, 5)
        assert [_status(r) for r in _mission_rows(engine)] == ["aborted"]  # not overwritten

        # 2) during the take-off
        small = [MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, 0, 0, 30.0),
                 MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT, LAT0 + 0.0004, LON0, 30.0),
                 MissionItem(Cmd.NAV_RETURN_TO_LAUNCH, Frame.MISSION)]
        mid2 = dispatch(Mission(items=small, home_lat_deg=LAT0, home_lon_deg=LON0))
        assert _wait(lambda: worker.flight and worker.flight.launch.step in (LaunchStep.TAKEOFF,
                                                                             LaunchStep.CLIMB), 90, 0.005)
        t0 = time.monotonic()
        svc.request_rtl(mid2, principal=Principal("kim", Role.PILOT), engine=engine)
        latency_takeoff = rtl_latency(mid2, t0)
        assert latency_takeoff <= 1.0
        assert _wait(lambda: worker.link.telemetry.mode == "RTL", 5), worker.link.telemetry.mode
        mode_takeoff = time.monotonic() - t0
        print(f"RTL sent {latency_upload:.3f} s / mode RTL seen {mode_upload:.3f} s after the request "
              f"during upload; {latency_takeoff:.3f} s / {mode_takeoff:.3f} s during take-off")
        # the launch never reached AUTO: the request interrupted the take-off
        assert not [w for _, m, w in worker.events if m == mid2 and w == "started"], worker.events
        assert _status(_mission_rows(engine)[-1]) == "aborted"
    finally:
        worker.stop_event.set()
        th.join(timeout=15)
