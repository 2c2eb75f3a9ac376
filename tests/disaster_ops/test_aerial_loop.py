"""The loop closed with the drone worker: a drone that has a video URL gets its aerial worker
started by the drone worker (pose from the worker's own MAVLink link); flying a planned
survey over a place no camera sees, it finds a planted fire there and a new incident
appears at that place."""

from __future__ import annotations

import math
import threading
import time

import pytest
import shapely

from disaster_ops.services import missions as svc
from disaster_ops.services.aerial_view import drone_views, set_video
from disaster_ops.services.cop import incident_markers
from disaster_ops.services.demo import parse_hazard
from disaster_ops.services.drone_worker import DroneWorker, drone_id_by_name
from disaster_ops.services.incidents import list_incidents
from disaster_ops.services.roles import Principal, Role
from drone_link.sim import SimConfig, SimVehicle
from drone_link.sim.aerial_camera import CameraSpec, SimAerialCamera, build_scene, place_vehicle
from geo.crs import LocalFrame

BLIND = (35.1050, 129.0400)  # inside the sample cameras' area, but none of them sees it
MANAGER = Principal("park", Role.MANAGER)


def _wait(pred, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


class Rig:
    """Simulated vehicle with its synthetic camera (gimbal telemetry on the vehicle's own link)
    and a drone worker on that link."""

    def __init__(self, engine, port: int, *, speedup: float, hazards=(), home=BLIND) -> None:
        self.sim = SimVehicle(SimConfig(port=port, home_lat_deg=home[0], home_lon_deg=home[1], speedup=speedup,
                                        boot_s=1.0, gcs_failsafe_s=0.0)).start()
        scene = build_scene(*home, size_m=700.0, hazards=tuple(hazards))
        self.camera = SimAerialCamera(self.sim, scene, CameraSpec(fps=5), http_port=port + 1).start()
        self.worker = DroneWorker("sim-1", f"udpin:127.0.0.1:{port}", engine=engine, poll_interval_s=0.3,
                                  state_interval_s=0.3, heartbeat_timeout_s=15, aerial_check_s=0.5,
                                  aerial_options={"sample_fps": 2.0})
        self.thread = threading.Thread(target=self.worker.run, kwargs={"duration_s": 300}, daemon=True)

    def start(self, engine) -> Rig:
        self.thread.start()
        assert _wait(lambda: drone_id_by_name("sim-1", engine=engine) is not None, 20)
        return self

    def close(self) -> None:
        self.worker.stop_event.set()
        self.thread.join(timeout=20)
        self.camera.stop()
        self.sim.stop()


def test_drone_worker_starts_the_aerial_worker_when_the_drone_has_a_video_url(engine, data_dir):
    rig = Rig(engine, 18850, speedup=1.0).start(engine)
    try:
        time.sleep(1.5)
        assert rig.worker.aerial_handle is None  # no video URL: no aerial worker
        set_video("sim-1", rig.camera.url, principal=MANAGER, engine=engine)
        assert _wait(lambda: rig.worker.aerial_handle is not None, 10)
        place_vehicle(rig.sim, lat=BLIND[0], lon=BLIND[1], alt_rel_m=80.0)
        aerial = rig.worker.aerial_handle.worker
        # Frames are georeferenced from the drone worker's own link (position, attitude,
        # and the camera's MOUNT_STATUS next to them): no second MAVLink connection.
        assert _wait(lambda: aerial.stats.georeferenced >= 2, 40), vars(aerial.stats)
        assert _wait(lambda: any(v.footprint_geojson for v in drone_views(engine=engine)), 10)
    finally:
        rig.close()
    assert not rig.worker.aerial_handle.thread.is_alive()  # stopped with the drone worker


@pytest.mark.slow
def test_a_fire_no_camera_sees_is_found_by_a_planned_survey_and_becomes_a_new_incident(engine, data_dir):
    from disaster_ops.services.cameras import import_registry
    from disaster_ops.services.demo import sample_registries
    from geo.aoi import PointRadius

    for f in sample_registries():
        import_registry(f, principal=Principal.system("test"))
    area = PointRadius(lat=BLIND[0], lon=BLIND[1], radius_m=60.0)
    assert svc.coverage_gaps(area, engine=engine).covered_fraction == 0.0  # no camera sees it
    fire = parse_hazard(f"fire,{BLIND[0]},{BLIND[1]}")
    # Launch 150 m south-west of the fire, so the drone reaches it only by flying the plan.
    f = LocalFrame.tangent(*BLIND)
    home = tuple(float(v) for v in f.to_latlon(-110.0, -110.0))
    rig = Rig(engine, 18855, speedup=2.0, hazards=(fire,), home=home)
    try:
        rig.start(engine)
        set_video("sim-1", rig.camera.url, principal=MANAGER, engine=engine)
        plan = svc.plan_gap_survey(area, principal=MANAGER, alt_rel_m=80.0, launch_latlon=home, engine=engine)
        mid = plan.mission_ids[0]
        svc.assign(mid, "sim-1", principal=MANAGER, engine=engine)
        assert not list_incidents(engine=engine)
        svc.request_flight(mid, principal=Principal("kim", Role.PILOT), engine=engine)
        done = _wait(lambda: next(m.status for m in svc.list_missions(engine=engine) if m.id == mid)
                     in ("completed", "aborted", "failed"), 240)
        status = next(m.status for m in svc.list_missions(engine=engine) if m.id == mid)
        assert done and status == "completed", status
    finally:
        rig.close()
    stats = rig.worker.aerial_stats
    assert stats is not None and stats.georeferenced >= 10, vars(stats)
    # The fire, and no other fire. (HazardNet v8 may also raise flood from the synthetic
    # ground on this flight: a detector/scene limit recorded in docs/aerial.md, not checked here.)
    [inc] = [i for i in list_incidents(engine=engine) if i.kind == "fire"]
    [marker] = [m for m in incident_markers(engine=engine) if m.id == inc.id]
    assert marker.source_kinds == ("drone",)
    c = shapely.from_geojson(inc.geometry_geojson).centroid
    err_m = math.hypot(*map(float, LocalFrame.tangent(fire.lat, fire.lon).to_xy_m(c.y, c.x)))
    assert err_m <= 10.0, err_m  # the fire's burning base is 13 m across


def test_an_sdp_stream_does_not_stop_http_streams_in_the_same_process(monkeypatch):
    """The FFmpeg protocol whitelist an SDP source sets is process-wide: it must keep HTTP
    (MJPEG) and RTSP working (the drone-worker tests failed after the RTP test for this)."""
    from drone_link.video.urls import allow_sdp_protocols

    monkeypatch.delenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", raising=False)
    allow_sdp_protocols()
    import os

    allowed = os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"].split("protocol_whitelist;")[1].split("|")[0].split(",")
    assert {"file", "udp", "rtp", "http", "https", "tcp", "tls", "rtsp"} <= set(allowed)
