"""``disaster-ops aerial``: bad input is one line and exit 2; a recorded DJI flight (video + .SRT)
is georeferenced from its subtitles."""

from __future__ import annotations

import json
import math
import statistics

import cv2
import pytest

from disaster_ops.services.demo import parse_hazard
from drone_link.sim.aerial_camera import CameraSpec, build_scene, render
from geo.aerial import aerial_pose
from geo.crs import LocalFrame
from tests.conftest import run_cli


@pytest.mark.parametrize("args, message", [
    (["--video", "x.mp4"], "exactly one telemetry source"),
    (["--video", "x.mp4", "--srt", "a.SRT", "--tlog", "b.tlog"], "exactly one telemetry source"),
    (["--video", "rtsp://127.0.0.1:18860/live", "--srt", "a.SRT"], "needs a video file"),
    (["--video", "ftp://host/x", "--connect", "udpin:127.0.0.1:18861"], "unsupported video URL scheme"),
    (["--video", "missing.mp4", "--srt", "a.SRT"], "no such file: missing.mp4"),
    (["--video", "http://127.0.0.1:18862/v.mjpg", "--connect", "udpin:127.0.0.1:18863", "--mount", "tripod"],
     "--mount"),
])
def test_bad_input_is_one_line_and_exit_2(data_dir, args, message):
    r = run_cli("aerial", "--drone", "d1", *args)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0]


def test_bad_srt_names_file_and_subtitle(data_dir, tmp_path):
    video = tmp_path / "v.avi"
    _write_video(video, [cv2.UMat(480, 640, cv2.CV_8UC3).get()])
    srt = tmp_path / "v.SRT"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,200\n[latitude: 35.1]\n")
    r = run_cli("aerial", "--drone", "d1", "--video", str(video), "--srt", str(srt))
    assert r.returncode == 2 and "v.SRT: subtitle 1" in r.stderr


def _write_video(path, frames, fps: float = 5.0) -> None:
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        vw.write(f)
    vw.release()


def _srt_time(t: float) -> str:
    ms = round(t * 1000)
    return f"00:{ms // 60000:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


@pytest.mark.xfail(strict=False, reason="the false fire 28 m away is gone (fire confirmed per ground place, "
                   "issue #12 aerial2); with the fire drawn as a 30 m-tall column standing on its point the "
                   "feet of the detector's boxes are 2.0-4.1 m off: median 3.5 m in 1 of 3 runs, <= 3 m (XPASS) "
                   "in 2 (which frames the worker samples varies): see docs/aerial.md")
def test_recorded_dji_flight_is_georeferenced_from_its_srt(data_dir, tmp_path):
    center = (35.1050, 129.0400)
    f = LocalFrame.tangent(*center)
    lat_f, lon_f = (float(v) for v in f.to_latlon(0.0, 0.0))
    fire = parse_hazard(f"fire,{lat_f},{lon_f}")
    scene = build_scene(*center, size_m=500.0, hazards=(fire,))
    spec = CameraSpec()
    fps, frames, subs = 5.0, [], []
    for i in range(40):  # 8 s flying north at 5 m/s, 80 m up, camera straight down (gb_yaw 0)
        t = i / fps
        lat, lon = (float(v) for v in f.to_latlon(0.0, -20.0 + 5.0 * t))
        pose = aerial_pose(lat=lat, lon=lon, alt_agl_m=80.0, yaw_deg=0.0, gimbal_pitch_deg=-90.0,
                           intrinsics=spec.intrinsics)
        frames.append(render(scene, pose))
        subs.append(f"{i + 1}\n{_srt_time(t)} --> {_srt_time(t + 1 / fps)}\n<font size=\"28\">FrameCnt: {i + 1}\n"
                    f"[latitude: {lat:.7f}] [longitude: {lon:.7f}] [rel_alt: 80.000 abs_alt: 118.0] "
                    f"[gb_yaw: 0.0 gb_pitch: -90.0 gb_roll: 0.0] </font>\n")
    video, srt = tmp_path / "DJI_0001.avi", tmp_path / "DJI_0001.SRT"
    _write_video(video, frames, fps)
    srt.write_text("\n".join(subs))
    r = run_cli("aerial", "--drone", "m3e", "--video", str(video), "--srt", str(srt), "--fps", "2.5", "--json",
                timeout_s=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["georeferenced"] == out["frames"] >= 15 and out["unreferenced"] == 0
    errs = [math.hypot(*map(float, LocalFrame.tangent(la, lo).to_xy_m(fire.lat, fire.lon)))
            for _k, la, lo in out["detections_latlon"]]
    assert errs and statistics.median(errs) <= 3.0, errs
