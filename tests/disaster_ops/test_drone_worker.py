"""Dashboard hand-off to a real (simulated) vehicle over UDP: dispatch → fly → completed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from disaster_ops.errors import InputError, PermissionDenied
from disaster_ops.incidents import GroundDetection
from disaster_ops.services import missions as svc
from disaster_ops.services.demo import seed_sample_data
from disaster_ops.services.drone_worker import DroneWorker
from disaster_ops.services.incidents import ingest
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.models import AuditEvent, DroneState
from drone_link.sim import SimConfig, SimVehicle

INCIDENT_LATLON = (35.1050, 129.0390)


def _udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(pred, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_pilot_releases_mission_and_worker_flies_it(engine):
    seed_sample_data()
    det = GroundDetection(source_kind="cctv", source_id="cam-x", observed_at=datetime.now(UTC),
                          kind="fire", confidence=0.9, bbox_px=(0, 0, 5, 5),
                          ground_lat=INCIDENT_LATLON[0], ground_lon=INCIDENT_LATLON[1])
    inc = ingest([det], engine=engine)[0].incident_id
    area = svc.incident_area(inc, radius_m=120, engine=engine)
    mid = svc.plan_gap_survey(area, principal=Principal("park", Role.MANAGER), incident_id=inc, alt_rel_m=60,
                              home_latlon=INCIDENT_LATLON, engine=engine).mission_ids[0]

    port = _udp_port()
    sim = SimVehicle(SimConfig(port=port, home_lat_deg=INCIDENT_LATLON[0], home_lon_deg=INCIDENT_LATLON[1],
                               speedup=40.0, boot_s=1.0, gcs_failsafe_s=0.0)).start()
    worker = DroneWorker("sim-1", f"udpin:127.0.0.1:{port}", engine=engine, poll_interval_s=0.3,
                         state_interval_s=0.3, heartbeat_timeout_s=15)
    th = threading.Thread(target=worker.run, kwargs={"duration_s": 120}, daemon=True)
    th.start()
    try:
        from disaster_ops.services.drone_worker import drone_id_by_name

        assert _wait(lambda: drone_id_by_name("sim-1", engine=engine) is not None, 20)
        with pytest.raises(InputError, match="dispatch"):
            svc.request_flight(mid, principal=Principal("kim", Role.PILOT), engine=engine)  # not assigned yet
        svc.assign(mid, "sim-1", principal=Principal("park", Role.MANAGER), engine=engine)
        with pytest.raises(PermissionDenied):
            svc.request_flight(mid, principal=Principal("lee", Role.RESPONDER), engine=engine)
        svc.request_flight(mid, principal=Principal("kim", Role.PILOT), engine=engine)
        done = _wait(lambda: next(m.status for m in svc.list_missions(engine=engine) if m.id == mid)
                     in ("completed", "aborted", "failed"), 90)
        status = next(m.status for m in svc.list_missions(engine=engine) if m.id == mid)
        assert done and status == "completed", status
    finally:
        worker.stop_event.set()
        th.join(timeout=10)
        sim.stop()
    with Session(engine) as s:
        state = s.exec(select(DroneState)).one()
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert state.lat == pytest.approx(INCIDENT_LATLON[0], abs=0.001)  # back home after RTL
    assert state.armed is False
    for a in ("mission.plan", "mission.assigned", "mission.uploading", "mission.uploaded", "mission.active",
              "mission.completed"):
        assert a in actions, (a, actions)
