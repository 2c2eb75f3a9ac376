"""Mission life cycle: one transition table, compare-and-set writes, and pause/resume
reaching a (simulated) vehicle through the drone worker."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlmodel import Session

from disaster_ops.services import drones
from disaster_ops.services import missions as svc
from disaster_ops.services.drone_worker import DroneWorker
from disaster_ops.services.mission_lifecycle import (
    ALLOWED,
    TERMINAL,
    MissionStatusConflict,
    MissionTransitionError,
    check_transition,
)
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.db import session_scope
from disaster_ops.storage.models import MissionStatus as S
from drone_link.files import plan_to_dict
from drone_link.mission import Cmd, Frame, Mission, MissionItem, MissionType
from drone_link.sim import SimConfig, SimVehicle

HOME = (35.1050, 129.0390)


def _mission() -> Mission:
    lat, lon = HOME
    items = [MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, 0, 0, 20.0)]
    items += [MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT, lat + 0.002 * k, lon, 20.0)
              for k in (1, 2)]
    items.append(MissionItem(Cmd.NAV_RETURN_TO_LAUNCH, Frame.MISSION))
    d = 0.006  # inclusion geofence (dispatch refuses a mission without one)
    fence = [MissionItem(Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, Frame.GLOBAL, lat + a, lon + b,
                         param1=4, mission_type=MissionType.FENCE)
             for a, b in ((-d, -d), (-d, d), (d, d), (d, -d))]
    return Mission(items=items, fence=fence, home_lat_deg=lat, home_lon_deg=lon)


def _row(engine, status=S.PLANNED) -> int:
    m = _mission()
    with session_scope(engine) as s:
        return drones.record_mission(s, m, name="m", status=status,
                                     plan_json=json.dumps(plan_to_dict(m))).id


def test_table_has_terminal_states_and_rejects_overwrites():
    assert TERMINAL == {S.COMPLETED, S.ABORTED, S.FAILED}
    assert all(S.ABORTED in ALLOWED[s] for s in (S.UPLOADING, S.UPLOADED, S.ACTIVE, S.PAUSED))
    check_transition(S.ACTIVE, S.ACTIVE)  # progress updates
    for bad in [(S.ABORTED, S.UPLOADED), (S.COMPLETED, S.ACTIVE), (S.UPLOADING, S.COMPLETED),
                (S.FAILED, S.FAILED)]:
        with pytest.raises(MissionTransitionError, match=f"from {bad[0].value} to {bad[1].value}"):
            check_transition(*bad)


def test_rtl_during_upload_is_not_overwritten_by_a_stale_writer(engine):
    mid = _row(engine, S.UPLOADING)
    with Session(engine) as worker_session:  # the worker read "uploading" earlier...
        assert drones.mission_status(worker_session, mid) is S.UPLOADING
        svc.request_rtl(mid, principal=Principal("kim", Role.PILOT), engine=engine)  # ...then RTL arrives
        with pytest.raises(MissionStatusConflict, match="is aborted, expected uploading"):
            drones.set_mission_status(worker_session, mid, S.UPLOADED, expected=S.UPLOADING)
        with pytest.raises(MissionTransitionError):
            drones.set_mission_status(worker_session, mid, S.UPLOADED)  # no expectation: table says no
    with Session(engine) as s:
        assert drones.mission_status(s, mid) is S.ABORTED


def test_pause_and_resume_services_check_state_and_role(engine):
    mid = _row(engine, S.UPLOADING)
    with pytest.raises(MissionStatusConflict):
        svc.request_resume(mid, principal=Principal("kim", Role.PILOT), engine=engine)  # not paused
    from disaster_ops.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        svc.request_pause(mid, principal=Principal("lee", Role.RESPONDER), engine=engine)
    assert svc.request_pause(mid, principal=Principal("kim", Role.PILOT), engine=engine).status == S.PAUSED
    assert svc.request_resume(mid, principal=Principal("kim", Role.PILOT), engine=engine).status == S.ACTIVE


def _wait(pred, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_worker_pauses_and_resumes_the_vehicle_and_keeps_writing_state(engine, tmp_path):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sim = SimVehicle(SimConfig(port=port, home_lat_deg=HOME[0], home_lon_deg=HOME[1], speedup=20.0,
                               boot_s=1.0, gcs_failsafe_s=0.0)).start()
    worker = DroneWorker("sim-p", f"udpin:127.0.0.1:{port}", engine=engine, state_interval_s=0.2)
    th = threading.Thread(target=worker.run, kwargs={"duration_s": 90}, daemon=True)
    th.start()
    try:
        assert _wait(lambda: worker.link is not None, 15)
        mid = _row(engine)
        svc.assign(mid, "sim-p", principal=Principal("park", Role.MANAGER), engine=engine)
        svc.request_flight(mid, principal=Principal("kim", Role.PILOT), engine=engine)
        assert _wait(lambda: sim.current_seq >= 2 and sim.mode_name == "AUTO", 40)
        svc.request_pause(mid, principal=Principal("kim", Role.PILOT), engine=engine)
        assert _wait(lambda: sim.mode_name == "BRAKE", 3), sim.mode_name
        svc.request_resume(mid, principal=Principal("kim", Role.PILOT), engine=engine)
        assert _wait(lambda: sim.mode_name == "AUTO", 3), sim.mode_name
        assert _wait(lambda: (mid, "completed") in worker.flown, 60), worker.flown
        with Session(engine) as s:
            assert drones.mission_status(s, mid) is S.COMPLETED
    finally:
        worker.stop_event.set()
        th.join(timeout=10)
        sim.stop()


def test_missions_cli_pause_resume_rtl_and_refusal(engine):
    from tests.conftest import run_cli

    mid = _row(engine, S.UPLOADING)
    for cmd, status in (("pause", "paused"), ("resume", "active"), ("rtl", "aborted")):
        res = run_cli("missions", cmd, str(mid), "--local-admin", "--json")
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["status"] == status
    res = run_cli("missions", "resume", str(mid), "--local-admin")
    assert res.returncode == 2 and res.stderr.strip() == \
        f"error: mission {mid}: mission {mid} is aborted, expected paused"
    with Session(engine) as s:
        assert drones.mission_status(s, mid) is S.ABORTED
