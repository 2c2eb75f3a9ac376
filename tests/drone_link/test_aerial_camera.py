"""The synthetic aerial camera draws each planted fire as a flame standing on its ground point."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from disaster_ops.services.demo import AERIAL_PATCH_DIR, parse_hazard
from drone_link.sim.aerial_camera import CameraSpec, GroundScene, flame_base_row, render
from geo.aerial import aerial_pose
from geo.crs import LocalFrame

CENTER = (35.0, 129.0)


def test_flame_base_row_is_the_lowest_row_with_flame():
    patch = np.full((40, 20, 3), (90, 90, 90), np.uint8)  # grey floor
    patch[5:30, 6:14] = (80, 180, 255)  # a bright orange flame, rows 5..29
    assert flame_base_row(patch) == 29
    assert flame_base_row(np.full((40, 20, 3), (90, 90, 90), np.uint8)) == 39  # no flame: the whole patch


@pytest.mark.parametrize("index", range(len(sorted(AERIAL_PATCH_DIR.glob("fire_*.png")))))
def test_every_shipped_flame_reaches_the_ground_in_an_oblique_view(index):
    """Seen 45° down from 80 m, the lowest bright flame pixel of the drawn column is within
    2 px (< 1 m on the ground) of the column's lowest drawn pixel, the near edge of its
    base: no strip of the source frame's floor under the flame stands on the ground point."""
    f = LocalFrame.tangent(*CENTER)
    lat, lon = (float(v) for v in f.to_latlon(0.0, 80.0))
    hz = parse_hazard(f"fire,{lat},{lon}", index)
    pose = aerial_pose(lat=CENTER[0], lon=CENTER[1], alt_agl_m=80.0, yaw_deg=0.0, gimbal_pitch_deg=-45.0,
                       intrinsics=CameraSpec().intrinsics)
    tex = np.full((800, 800, 3), (60, 100, 70), np.uint8)
    bare = render(GroundScene(tex, center_lat=CENTER[0], center_lon=CENTER[1], m_per_px=0.25), pose)
    img = render(GroundScene(tex, center_lat=CENTER[0], center_lon=CENTER[1], m_per_px=0.25, hazards=(hz,)), pose)
    drawn = np.any(img != bare, axis=2)
    bright = drawn & (cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[..., 2] >= 200)
    assert drawn.any() and bright.any()
    lowest_drawn = int(np.nonzero(drawn.any(axis=1))[0].max())
    lowest_bright = int(np.nonzero(bright.sum(axis=1) >= 2)[0].max())
    assert lowest_drawn - lowest_bright <= 2, (hz.patch.name, lowest_drawn, lowest_bright)
