"""The aerial path at run time with the simulated vehicle and its synthetic camera.

The camera streams HTTP MJPEG (read through OpenCV's FFmpeg backend, as any drone video)
and its pose telemetry goes over MAVLink UDP; fires are planted at known ground points,
so where the product places them can be checked against the truth.
"""

from __future__ import annotations

import itertools
import math
import os
import statistics
import threading
import time
from pathlib import Path

import pytest
import shapely
from sqlmodel import Session, select

from disaster_ops.services.aerial_view import drone_views
from disaster_ops.services.aerial_worker import AerialWorker
from disaster_ops.services.cop import incident_markers
from disaster_ops.services.demo import parse_hazard
from disaster_ops.services.incidents import list_incidents
from disaster_ops.storage.models import Detection
from drone_link.sim import SimConfig, SimVehicle
from drone_link.sim.aerial_camera import CameraSpec, SimAerialCamera, build_scene, place_vehicle
from drone_link.telemetry.mavlink_feed import LivePoseFeed
from drone_link.telemetry.pose import PoseTrack
from geo.crs import LocalFrame

CENTER = (35.0950, 129.0250)  # south-west of Busan Jung-gu (sample cameras)
FRAME = LocalFrame.tangent(*CENTER)
BLIND = (35.1050, 129.0400)  # inside the sample cameras' area, but none of them sees it
FIRES_EN_M = ((20.0, 10.0), (-25.0, -15.0))
# Local UDP/TCP ports of this file: PORT0 .. PORT0 + 29 (a session with an assigned range sets the base).
PORT0 = int(os.environ.get("DISASTER_OPS_AERIAL_TEST_PORT0", "18820"))

def _ll(e_m: float, n_m: float) -> tuple[float, float]:
    lat, lon = FRAME.to_latlon(e_m, n_m)
    return float(lat), float(lon)

class Rig:
    """Simulated vehicle + synthetic camera + telemetry listener on ports base..base+2."""

    def __init__(self, base_port: int, *, gimbal_pitch_deg: float = -90.0, fires=FIRES_EN_M,
                 center: tuple[float, float] = CENTER) -> None:
        f = LocalFrame.tangent(*center)
        self.planted = [parse_hazard(f"fire,{float(f.to_latlon(*en)[0])},{float(f.to_latlon(*en)[1])}", i)
                        for i, en in enumerate(fires)]
        scene = build_scene(*center, size_m=600.0, hazards=tuple(self.planted))
        self.sim = SimVehicle(SimConfig(port=base_port, home_lat_deg=center[0], home_lon_deg=center[1],
                                        gcs_failsafe_s=0)).start()
        self.camera = SimAerialCamera(self.sim, scene, CameraSpec(gimbal_pitch_deg=gimbal_pitch_deg, fps=5),
                                      http_port=base_port + 1, telemetry_port=base_port + 2).start()
        self.track = PoseTrack()
        self.feed = LivePoseFeed(f"udpin:127.0.0.1:{base_port + 2}", self.track).start()

    def close(self) -> None:
        self.feed.stop()
        self.camera.stop()
        self.sim.stop()

    def errors_m(self, latlons) -> list[float]:
        out = []
        for _k, lat, lon in latlons:
            f = LocalFrame.tangent(lat, lon)
            out.append(min(math.hypot(*map(float, f.to_xy_m(h.lat, h.lon))) for h in self.planted))
        return out

@pytest.fixture
def rig_factory():
    rigs = []

    def make(*args, **kw) -> Rig:
        r = Rig(*args, **kw)
        rigs.append(r)
        return r

    yield make
    for r in rigs:
        r.close()

@pytest.mark.parametrize("gimbal_pitch_deg, back_m, port", [
    pytest.param(-90.0, 0.0, PORT0 + 0, id="nadir"),
    pytest.param(-45.0, 80.0, PORT0 + 5, id="oblique45"),
])
def test_planted_fires_are_detected_from_80m_and_placed_within_3m(engine, data_dir, rig_factory,
                                                                  gimbal_pitch_deg, back_m, port):
    rig = rig_factory(port, gimbal_pitch_deg=gimbal_pitch_deg)
    # 80 m above ground; for the oblique view 80 m south of the fires, looking north 45° down
    place_vehicle(rig.sim, lat=_ll(0.0, -back_m)[0], lon=_ll(0.0, -back_m)[1], alt_rel_m=80.0, yaw_deg=0.0)
    worker = AerialWorker("sim-1", rig.camera.url, rig.track, engine=engine, sample_fps=3.0, report_interval_s=0.0)
    # A number of frames, not a time: the detector's speed depends on the machine's load.
    stats = worker.run(duration_s=120.0, max_frames=12)
    assert stats.georeferenced >= 5 and stats.unreferenced <= 2, vars(stats)
    errs = rig.errors_m(stats.detections_latlon)
    assert len(errs) >= 4, f"fires not reported often enough: {stats.detections_latlon}"
    assert statistics.median(errs) <= 3.0, errs
    # Both planted fires were seen (each has detections near it).
    near = {min(range(len(rig.planted)), key=lambda i, la=la, lo=lo: math.hypot(
        *map(float, LocalFrame.tangent(la, lo).to_xy_m(rig.planted[i].lat, rig.planted[i].lon))))
        for _k, la, lo in stats.detections_latlon}
    assert near == {0, 1}
    # Nothing else was raised: every incident is a drone fire near the planted ones.
    incs = list_incidents(engine=engine)
    assert incs and {i.kind for i in incs} == {"fire"}
    # The map shows where the camera looks: a footprint containing the fires, and the track.
    [view] = drone_views(engine=engine)
    assert view.georeferenced and view.frames == stats.frames
    fp = shapely.from_geojson(view.footprint_geojson)
    assert all(fp.contains(shapely.Point(h.lon, h.lat)) for h in rig.planted)
    assert view.track_geojson is not None

def test_a_fire_where_no_camera_looks_becomes_a_new_drone_incident(engine, data_dir, rig_factory):
    from disaster_ops.services.cameras import import_registry
    from disaster_ops.services.demo import sample_registries
    from disaster_ops.services.missions import coverage_gaps
    from disaster_ops.services.roles import Principal
    from geo.aoi import PointRadius

    for f in sample_registries():
        import_registry(f, principal=Principal.system("test"))
    rig = rig_factory(PORT0 + 10, fires=((0.0, 0.0),), center=BLIND)
    [fire] = rig.planted
    gaps = coverage_gaps(PointRadius(lat=fire.lat, lon=fire.lon, radius_m=50.0), engine=engine)
    assert gaps.covered_fraction == 0.0  # no camera of the registry sees this place
    place_vehicle(rig.sim, lat=fire.lat, lon=fire.lon, alt_rel_m=80.0)
    stats = AerialWorker("sim-1", rig.camera.url, rig.track, engine=engine, sample_fps=3.0).run(duration_s=90.0, max_frames=8)
    assert stats.incidents_created == 1
    [inc] = list_incidents(engine=engine)
    assert inc.kind == "fire"
    [marker] = incident_markers(engine=engine)
    assert marker.source_kinds == ("drone",) and not marker.corroborated_by_drone

def _wait(pred, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False

def test_a_telemetry_gap_leaves_frames_unreferenced_never_guessed(engine, data_dir, rig_factory):
    rig = rig_factory(PORT0 + 15)
    place_vehicle(rig.sim, lat=CENTER[0], lon=CENTER[1], alt_rel_m=80.0)
    worker = AerialWorker("sim-1", rig.camera.url, rig.track, engine=engine, sample_fps=3.0, report_interval_s=0.0)
    t = threading.Thread(target=worker.run, kwargs={"duration_s": 60.0})
    t.start()
    try:
        assert _wait(lambda: worker.stats.detections > 0, 30.0), vars(worker.stats)
        rig.feed.stop()  # telemetry stops; the video goes on
        last_sample_s = rig.track.latest_s()
        time.sleep(1.5)  # frames already in the detector finish
        gap_start = worker.stats.frames
        assert _wait(lambda: worker.stats.frames >= gap_start + 6, 30.0)
    finally:
        worker.stop_event.set()
        t.join()
    stats = worker.stats
    assert stats.unreferenced >= stats.frames - gap_start - 1  # every frame in the gap (one may straddle)
    # Nothing seen in the gap was placed: every stored detection comes from a frame taken
    # at most max_age_s after the last telemetry sample.
    with Session(engine) as s:
        seen = [d.observed_at.timestamp() for d in s.exec(select(Detection))]
    assert seen and max(seen) <= last_sample_s + rig.track.max_age_s
    assert "older than the frame" in stats.last_reason
    [view] = drone_views(engine=engine)
    assert not view.georeferenced and view.footprint_geojson is None  # no footprint we cannot place
    assert "gap" in (view.reason or "")

def test_a_video_stream_that_dies_is_reconnected_without_stopping_the_worker(engine, data_dir, rig_factory):
    rig = rig_factory(PORT0 + 20)
    place_vehicle(rig.sim, lat=CENTER[0], lon=CENTER[1], alt_rel_m=80.0)
    worker = AerialWorker("sim-1", rig.camera.url, rig.track, engine=engine, sample_fps=3.0,
                          source_backoff_s=(0.5, 1.0))
    t = threading.Thread(target=worker.run, kwargs={"duration_s": 60.0})
    t.start()
    try:
        assert _wait(lambda: worker.stats.frames >= 3, 20.0)
        rig.camera.server.stop()  # the stream dies (every client cut, port closed)
        frames_at_death = worker.stats.frames
        time.sleep(3.0)
        assert t.is_alive()
        assert worker.stats.frames <= frames_at_death + 1
        rig.camera.server.start()  # and comes back on the same address
        assert _wait(lambda: worker.stats.frames >= frames_at_death + 5, 30.0), "no frames after the stream came back"
        assert t.is_alive()
    finally:
        worker.stop_event.set()
        t.join()
    assert worker.stats.reconnects >= 1

@pytest.mark.parametrize("mode", ["mpegts", "rtp"])
def test_h264_over_udp_is_read(tmp_path, mode):
    """H.264 pushed over UDP by FFmpeg (a real encoder), as MPEG-TS or raw RTP + SDP."""
    import shutil
    import subprocess

    from drone_link.video import FrameSource, write_h264_rtp_sdp

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg not installed (apt-get install ffmpeg; CI installs it)")
    port = PORT0 + 25 if mode == "mpegts" else PORT0 + 27
    if mode == "mpegts":
        url, out = f"udp://127.0.0.1:{port}", ["-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"]
    else:
        url = str(write_h264_rtp_sdp(Path(tmp_path) / "drone.sdp", port=port))
        out = ["-f", "rtp", "-payload_type", "96", f"rtp://127.0.0.1:{port}"]
    src = FrameSource("drone:udp", url, open_timeout_s=5.0, backoff_s=(0.5,)).start()
    proc = subprocess.Popen([ffmpeg, "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                             "testsrc=size=320x240:rate=15", "-t", "12", "-c:v", "libx264", "-preset",
                             "ultrafast", "-tune", "zerolatency", "-g", "15", "-bsf:v", "dump_extra", *out])
    try:
        deadline = time.monotonic() + 10.0
        got = []
        while time.monotonic() < deadline and len(got) < 10:
            f = src.latest()
            if f is not None:
                got.append(f)
            time.sleep(0.05)
    finally:
        src.stop()
        proc.terminate()
        proc.wait(5)
    assert len(got) >= 10, f"{mode}: {len(got)} frames, state {src.state} {src.reason}"
    assert got[0].image.shape == (240, 320, 3)
    assert all(b.captured_at_s >= a.captured_at_s for a, b in itertools.pairwise(got))
