"""Pose telemetry recorded with times and interpolated to frame times; gaps refused; DJI .SRT."""

from __future__ import annotations

import pytest

from drone_link.telemetry.pose import (
    GimbalSample,
    GimbalYawFrame,
    MountMode,
    PoseTrack,
    lerp_angle_deg,
)
from drone_link.telemetry.srt import load_srt, parse_srt


@pytest.mark.parametrize("a, b, w, want", [
    (350.0, 10.0, 0.5, 0.0),  # across north, not through south
    (10.0, 350.0, 0.25, 5.0),
    (0.0, 0.0, 0.7, 0.0),
    (-170.0, 170.0, 0.5, 180.0),
])
def test_angles_interpolate_on_the_circle(a, b, w, want):
    assert lerp_angle_deg(a, b, w) == pytest.approx(want % 360.0, abs=1e-9)


def _track(**kw) -> PoseTrack:
    t = PoseTrack(max_age_s=0.3, max_gap_s=1.0, **kw)
    for i in range(11):  # 10 Hz for 1 s: flying north-east, turning through north
        s = i / 10.0
        t.add_position(s, lat_deg=35.0 + 1e-5 * i, lon_deg=129.0 + 2e-5 * i, alt_agl_m=80.0 + i)
        t.add_attitude(s, roll_deg=0.0, pitch_deg=-5.0, yaw_deg=(355.0 + i) % 360.0)
        t.add_gimbal(s, GimbalSample(-90.0 + 4.5 * i, 0.0, 10.0, GimbalYawFrame.BODY))
    return t


def test_pose_at_a_frame_between_samples_is_interpolated():
    fix = _track().pose_at(0.45)
    p = fix.pose
    assert fix.georeferenced and fix.age_s == pytest.approx(0.05)
    assert p.lat == pytest.approx(35.0 + 4.5e-5) and p.lon == pytest.approx(129.0 + 9e-5)
    assert p.alt_agl_m == pytest.approx(84.5)
    # gimbal yaw is relative to the nose: camera heading = 359.5 + 10 (wrapped)
    assert p.yaw_deg == pytest.approx(9.5)
    assert p.gimbal_pitch_deg == pytest.approx(-69.75)
    # a stabilised gimbal: the vehicle's tilt does not reach the camera
    assert p.pitch_deg == 0.0 and p.roll_deg == 0.0


def test_earth_frame_gimbal_yaw_is_the_camera_heading():
    t = PoseTrack()
    for s in (0.5, 0.6):
        t.add_position(s, lat_deg=35.0, lon_deg=129.0, alt_agl_m=80.0)
        t.add_attitude(s, roll_deg=3.0, pitch_deg=-4.0, yaw_deg=90.0)
        t.add_gimbal(s, GimbalSample(-45.0, 0.0, 200.0, GimbalYawFrame.EARTH))
    assert t.pose_at(0.55).pose.yaw_deg == pytest.approx(200.0)


def test_fixed_mount_uses_the_vehicle_attitude():
    p = _track(mount=MountMode.FIXED, mount_pitch_deg=-60.0).pose_at(0.5).pose
    assert p.gimbal_pitch_deg == -60.0 and p.pitch_deg == pytest.approx(-5.0) and p.yaw_deg == pytest.approx(0.0)


@pytest.mark.parametrize("t_s, why", [
    (3.0, "older than the frame"),  # telemetry stopped: the frame is after the last sample
    (-1.0, "starts"),  # frame before the first sample
])
def test_frames_outside_the_telemetry_are_not_georeferenced(t_s, why):
    fix = _track().pose_at(t_s)
    assert fix.pose is None and why in fix.reason


def test_a_gap_between_samples_is_never_bridged():
    t = _track()
    t.add_position(5.0, lat_deg=35.1, lon_deg=129.1, alt_agl_m=80.0)
    t.add_attitude(5.0, roll_deg=0, pitch_deg=0, yaw_deg=0)
    t.add_gimbal(5.0, GimbalSample(-90, 0, 0, GimbalYawFrame.BODY))
    fix = t.pose_at(3.0)
    assert fix.pose is None and "gap" in fix.reason
    assert t.pose_at(1.2).georeferenced  # within max_age of the last sample before the gap
    assert t.pose_at(4.8).georeferenced


def test_no_gimbal_telemetry_means_no_pose_in_gimbal_mode():
    t = PoseTrack()
    t.add_position(0.0, lat_deg=35.0, lon_deg=129.0, alt_agl_m=80.0)
    t.add_attitude(0.0, roll_deg=0, pitch_deg=0, yaw_deg=0)
    fix = t.pose_at(0.0)
    assert fix.pose is None and "gimbal" in fix.reason


def test_on_the_ground_nothing_is_projected():
    t = PoseTrack(mount=MountMode.FIXED)
    t.add_position(0.0, lat_deg=35.0, lon_deg=129.0, alt_agl_m=0.2)
    t.add_attitude(0.0, roll_deg=0, pitch_deg=0, yaw_deg=0)
    assert t.pose_at(0.0).pose is None


SRT_NEW = """1
00:00:00,000 --> 00:00:00,033
<font size="28">FrameCnt: 1, DiffTime: 33ms
2024-05-01 10:32:15.401
[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [focal_len: 24.00] [latitude: 35.102000] [longitude: 129.033000] [rel_alt: 80.000 abs_alt: 118.400] [gb_yaw: -10.0 gb_pitch: -90.0 gb_roll: 0.0] </font>

2
00:00:01,000 --> 00:00:01,033
<font size="28">FrameCnt: 31, DiffTime: 33ms
2024-05-01 10:32:16.401
[iso: 100] [latitude: 35.102100] [longitude: 129.033200] [rel_alt: 82.000 abs_alt: 120.400] [gb_yaw: 10.0 gb_pitch: -80.0 gb_roll: 0.0] </font>
"""

SRT_OLD = """1
00:00:00,000 --> 00:00:01,000
HOME(129.0330,35.1020) 2019.05.01 10:32:15
GPS(129.0331,35.1021,19) BAROMETER:80.5
ISO:100 Shutter:60 EV:0 Fnum:F2.8 H 80.00m
"""


def test_dji_srt_gives_position_and_absolute_gimbal(tmp_path):
    p = tmp_path / "DJI_0001.SRT"
    p.write_text(SRT_NEW)
    t = PoseTrack(max_gap_s=1.5)
    assert load_srt(p, t) == 2
    pose = t.pose_at(0.5).pose
    assert pose.lat == pytest.approx(35.10205) and pose.lon == pytest.approx(129.0331)
    assert pose.alt_agl_m == pytest.approx(81.0)
    assert pose.yaw_deg == pytest.approx(0.0)  # -10 → 10 through north; gb_yaw is absolute
    assert pose.gimbal_pitch_deg == pytest.approx(-85.0)


def test_old_dji_srt_without_gimbal_gives_position_only(tmp_path):
    p = tmp_path / "old.srt"
    p.write_text(SRT_OLD)
    [r] = parse_srt(p)
    assert (r.lat_deg, r.lon_deg, r.rel_alt_m, r.gimbal) == (35.1021, 129.0331, 80.0, None)


@pytest.mark.parametrize("text, why", [
    ("1\n00:00:00,000 --> 00:00:01,000\n[latitude: 35.1] [rel_alt: 80]\n", "subtitle 1"),
    ("1\n00:00:00,000 --> 00:00:01,000\n[latitude: 135.1] [longitude: 129] [rel_alt: 80]\n", "out of range"),
    ("just some text\n", "no DJI telemetry"),
])
def test_bad_srt_names_the_file_and_subtitle(tmp_path, text, why):
    p = tmp_path / "bad.SRT"
    p.write_text(text)
    with pytest.raises(ValueError, match=why) as e:
        parse_srt(p)
    assert "bad.SRT" in str(e.value)
