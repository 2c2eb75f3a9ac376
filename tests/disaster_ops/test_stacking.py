"""Parts of one flame column are merged; separate fires are not."""

from __future__ import annotations

import math

import numpy as np

from disaster_ops.detect.records import Detections
from disaster_ops.detect.stacking import merge_columns
from geo.aerial import aerial_pose
from geo.camera_model import CameraIntrinsics

POSE = aerial_pose(lat=35.0, lon=129.0, alt_agl_m=80.0, yaw_deg=0.0, gimbal_pitch_deg=-45.0,
                   intrinsics=CameraIntrinsics.from_hfov(hfov_deg=84.0, width_px=640, height_px=480))


def _box(e_m, n_m, up0_m, up1_m, half_w_m=2.0):
    az = math.atan2(e_m, n_m)
    a = np.array([math.cos(az), -math.sin(az)]) * half_w_m
    pts = [POSE.enu_to_pixel(np.array([e_m + s * a[0]]), np.array([n_m + s * a[1]]), np.array([up]))
           for up in (up0_m, up1_m) for s in (-1, 1)]
    u = [float(p.u_px[0]) for p in pts]
    v = [float(p.v_px[0]) for p in pts]
    return [min(u), min(v), max(u), max(v)]


def _dets(boxes, kinds):
    return Detections(np.array(boxes, np.float32), np.full(len(boxes), 0.9, np.float32), np.array(kinds, dtype=object))


def test_base_and_tips_of_one_flame_become_one_box():
    base, tips = _box(0, 80, 0, 6), _box(0, 80, 14, 22)  # a dim gap between 6 m and 14 m
    out = merge_columns(_dets([tips, base], ["fire", "fire"]), POSE)
    assert len(out) == 1
    assert out.xyxy[0].tolist() == np.array([min(base[0], tips[0]), tips[1], max(base[2], tips[2]), base[3]],
                                            np.float32).tolist()


def test_two_fires_side_by_side_or_different_kinds_stay_apart():
    a, b = _box(-15, 80, 0, 8), _box(15, 80, 0, 8)
    assert len(merge_columns(_dets([a, b], ["fire", "fire"]), POSE)) == 2
    base, tips = _box(0, 80, 0, 6), _box(0, 80, 14, 22)
    assert len(merge_columns(_dets([base, tips], ["fire", "smoke"]), POSE)) == 2


def test_a_fire_far_behind_is_not_a_flame_tip():
    near, far = _box(0, 60, 0, 8), _box(0, 250, 0, 8)  # on one line of sight, 190 m apart
    assert len(merge_columns(_dets([near, far], ["fire", "fire"]), POSE)) == 2


def test_a_smoke_plume_may_be_taller_than_a_flame():
    base, top = _box(0, 80, 0, 20, 6.0), _box(0, 80, 60, 90, 6.0)
    assert len(merge_columns(_dets([base, top], ["fire", "fire"]), POSE)) == 2
    assert len(merge_columns(_dets([base, top], ["smoke", "smoke"]), POSE)) == 1
