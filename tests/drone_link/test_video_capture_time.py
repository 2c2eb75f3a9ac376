"""A drone frame is matched to the telemetry of the moment it was taken, not of its arrival.

At survey speed (8-16 m/s) every 60 ms between capture and arrival is a metre along the
track. The simulated camera stamps each MJPEG part with the time the pose it shows was
read (``X-Timestamp``, as mjpg-streamer does); the drone video source keeps that stamp,
and the aerial worker times the frame by it (a stream without stamps: arrival less the
drone's video delay). Ports: 18880-18889.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from drone_link.sim import aerial_camera
from drone_link.sim.aerial_camera import CameraSpec, SimAerialCamera, build_scene
from drone_link.video.mjpeg import MjpegStream, NotMjpeg, parse_stamp
from drone_link.video.source import Frame, FrameSource
from geo.crs import LocalFrame

HOME = (35.1050, 129.0400)
SPEED_M_S = 16.0  # the headless demo's survey speed in wall-clock terms (8 m/s, sim at 2x)


class MovingVehicle:
    """Stands in for the simulated vehicle: flies north at SPEED_M_S, 80 m up (what the camera reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.t0 = time.time()
        self.frame = LocalFrame.tangent(*HOME)
        self.kin = SimpleNamespace(alt_rel_m=80.0, yaw_deg=0.0, pitch_deg=0.0)
        self.cfg = SimpleNamespace(sysid=1)
        self.read_at_s: list[float] = []  # when each pose was read (the camera is the only reader here)

    def north_m_at(self, t_s: float) -> float:
        return SPEED_M_S * (t_s - self.t0)

    def _latlon(self) -> tuple[float, float]:
        t_s = time.time()
        self.read_at_s.append(t_s)
        lat, lon = self.frame.to_latlon(0.0, self.north_m_at(t_s))
        return float(lat), float(lon)

    def _send(self, _msg) -> None:
        pass


def test_a_slowly_rendered_frame_carries_the_time_of_the_pose_it_shows(monkeypatch):
    """Rendering takes 0.5 s (a loaded machine): the frame arrives 8 m of flight after its
    pose was read, yet its stamp is the pose's time (within 0.15 s, allowing for this
    process being descheduled on a busy machine between the read and the clock)."""
    vehicle = MovingVehicle()
    renders = []

    def slow_render(scene, pose):
        renders.append(pose)
        time.sleep(0.5)
        img = np.zeros((pose.intrinsics.height_px, pose.intrinsics.width_px, 3), np.uint8)
        img[:16, :16] = min(255, 20 * len(renders))  # which render this is
        return img

    monkeypatch.setattr(aerial_camera, "render", slow_render)
    cam = SimAerialCamera(vehicle, build_scene(*HOME, size_m=300.0), CameraSpec(fps=5), http_port=18880).start()
    src = FrameSource("drone:test", cam.url, capture_stamps=True).start()
    try:
        frames: list[Frame] = []
        end = time.monotonic() + 30
        while len(frames) < 4 and len(renders) < 11 and time.monotonic() < end:
            f = src.latest()
            if f is not None:
                frames.append(f)
            time.sleep(0.02)
    finally:
        src.stop()
        cam.stop()
    assert len(frames) >= 4
    for f in frames:
        assert f.stamp_s is not None
        k = round(float(f.image[:16, :16].mean()) / 20) - 1
        read_s = vehicle.read_at_s[k]
        assert 0.0 <= f.stamp_s - read_s < 0.15  # the stamp is when the pose was read
        assert f.captured_at_s - read_s >= 0.5  # arrival: after rendering, 8 m further along
        assert SPEED_M_S * (f.stamp_s - read_s) < 2.5 < SPEED_M_S * (f.captured_at_s - read_s)


def _worker_clock(**kw):
    from disaster_ops.services.aerial_worker import AerialWorker

    w = SimpleNamespace(offline=False, video_delay_s=0.2, max_stamp_skew_s=0.1, max_stamp_age_s=5.0,
                        _stamp_warned=False, name="test")
    w.__dict__.update(kw)
    return lambda frame: AerialWorker.frame_time_s(w, frame)


def _frame(arrival_s: float, stamp_s: float | None) -> Frame:
    return Frame(np.zeros((4, 4, 3), np.uint8), arrival_s, 1, None, stamp_s)


def test_the_aerial_worker_times_a_frame_by_its_stamp_else_by_arrival_less_the_video_delay(caplog):
    t = 1_800_000_000.0
    frame_time_s = _worker_clock()
    assert frame_time_s(_frame(t, t - 0.08)) == t - 0.08  # stamped: its capture time
    assert frame_time_s(_frame(t, None)) == pytest.approx(t - 0.2)  # RTSP/UDP: arrival less the delay
    # A sender whose clock is not ours (an hour off, or ahead of the arrival): arrival less the delay, warned once.
    assert frame_time_s(_frame(t, t - 3600.0)) == pytest.approx(t - 0.2)
    assert frame_time_s(_frame(t, t + 2.0)) == pytest.approx(t - 0.2)
    assert sum("clock" in r.getMessage() for r in caplog.records) == 1


def _serve_once(port: int, payload: bytes) -> threading.Thread:
    """A one-connection HTTP server that answers any request with ``payload`` and closes."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)

    def run() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(payload)
        srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _jpeg(value: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((16, 16, 3), value, np.uint8))
    assert ok
    return buf.tobytes()


MULTIPART = b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=--myboundary\r\n\r\n"


def test_parts_without_length_or_stamp_are_read_up_to_the_next_boundary():
    body = (b"preamble line\r\n"
            b"--myboundary\r\nContent-Type: image/jpeg\r\nX-Timestamp: 1800000000.250000\r\n\r\n" + _jpeg(40)
            + b"\r\n--myboundary\r\nContent-Type: image/jpeg\r\n\r\n" + _jpeg(200) + b"\r\n--myboundary--\r\n")
    t = _serve_once(18881, MULTIPART + body)
    s = MjpegStream("http://127.0.0.1:18881/video.mjpg", timeout_s=5)
    ok, img = s.read()
    assert ok and abs(int(img.mean()) - 40) < 3 and s.stamp_s == pytest.approx(1_800_000_000.25)
    ok, img = s.read()
    assert ok and abs(int(img.mean()) - 200) < 3 and s.stamp_s is None
    assert s.read() == (False, None)  # closing boundary: the stream ended
    s.release()
    t.join(5)


def test_a_part_claiming_a_huge_length_ends_the_stream_without_reading_it():
    body = b"--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: 99999999999\r\n\r\n" + b"x" * 1000
    t = _serve_once(18882, MULTIPART + body)
    s = MjpegStream("http://127.0.0.1:18882/video.mjpg", timeout_s=5)
    assert s.read() == (False, None)
    s.release()
    t.join(5)


def test_a_url_that_is_not_multipart_mjpeg_is_left_to_opencv():
    t = _serve_once(18883, b"HTTP/1.0 200 OK\r\nContent-Type: application/vnd.apple.mpegurl\r\n\r\n#EXTM3U\r\n")
    with pytest.raises(NotMjpeg):
        MjpegStream("http://127.0.0.1:18883/live.m3u8", timeout_s=5)
    t.join(5)


@pytest.mark.parametrize("text, want", [("1800000000.123456", 1_800_000_000.123456), (" 12.5 ", 12.5),
                                        ("nan", None), ("inf", None), ("-3", None), ("soon", None), (None, None)])
def test_x_timestamp_values(text, want):
    got = parse_stamp(text)
    assert got == (pytest.approx(want) if want is not None else None)
    assert got is None or math.isfinite(got)
