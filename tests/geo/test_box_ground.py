"""Where a box touches the ground: a column standing on a known point, drawn by projecting
its 3D outline with the pinhole model, gives back that point from its image box."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geo.aerial import aerial_pose
from geo.box_ground import (
    box_foot_px,
    box_ground_feet,
    cells_foot_px,
    down_direction_px,
    fits_column,
)
from geo.camera_model import CameraIntrinsics
from geo.projection import PinholePose

INTR = CameraIntrinsics.from_hfov(hfov_deg=84.0, width_px=640, height_px=480)


def _strip_box(pose: PinholePose, e_m: float, n_m: float, width_m: float, height_m: float):
    """Image box of a flat strip standing upright at (e, n), facing the camera (a flame seen from the camera)."""
    az = math.atan2(e_m, n_m)
    across = np.array([math.cos(az), -math.sin(az)])
    pts = []
    for up in (0.0, height_m):
        for s in (-1, 1):
            de, dn = across * s * width_m / 2
            p = pose.enu_to_pixel(np.array([e_m + de]), np.array([n_m + dn]), np.array([up]))
            pts.append((float(p.u_px[0]), float(p.v_px[0])))
    u, v = zip(*pts)
    return min(u), min(v), max(u), max(v)


def _err_m(pose, box, e_m, n_m) -> float:
    f = box_ground_feet(pose, np.array([box]))
    return math.hypot(f.ground.east_m[0] - e_m, f.ground.north_m[0] - n_m)


def test_side_view_is_the_bottom_centre():
    """CCTV: 8 m up, looking 10° down; the foot of an upright box is its bottom centre."""
    pose = PinholePose.fixed(lat=35.0, lon=129.0, mount_height_m=8.0, heading_deg=0.0, tilt_deg=10.0,
                             hfov_deg=60.0, width_px=640, height_px=480)
    box = (300.0, 200.0, 340.0, 300.0)
    u, v, *_ = box_foot_px(pose, box)
    assert u == pytest.approx(320.0, abs=0.5)
    # The base (as wide as the box) seen 16° down is a thin ellipse: the foot is a few px above the bottom edge.
    assert 300.0 - 20.0 * math.sin(math.radians(17.0)) <= v <= 300.0


@pytest.mark.parametrize("gimbal_pitch_deg, back_m", [(-45.0, 80.0), (-30.0, 130.0)])
def test_an_oblique_flame_is_placed_at_its_foot_not_its_centre(gimbal_pitch_deg, back_m):
    pose = aerial_pose(lat=35.0, lon=129.0, alt_agl_m=80.0, yaw_deg=0.0, gimbal_pitch_deg=gimbal_pitch_deg,
                       intrinsics=INTR)
    for e_m in (-20.0, 0.0, 25.0):
        n_m = back_m
        box = _strip_box(pose, e_m, n_m, width_m=4.0, height_m=12.0)
        # A flat flame has no burning area in front of it: the foot lands within the
        # base's radius (2 m) of its middle, and inside the stated uncertainty.
        feet = box_ground_feet(pose, np.array([box]))
        err = _err_m(pose, box, e_m, n_m)
        assert err <= 2.5 and err <= feet.uncertainty_m[0]
        # The box centre would put it well beyond the fire.
        c = pose.pixel_to_ground(np.array([(box[0] + box[2]) / 2]), np.array([(box[1] + box[3]) / 2]))
        assert math.hypot(c.east_m[0] - e_m, c.north_m[0] - n_m) > 5.0


def test_straight_down_a_column_is_its_centre_and_off_centre_its_inner_end():
    pose = aerial_pose(lat=35.0, lon=129.0, alt_agl_m=80.0, yaw_deg=0.0, gimbal_pitch_deg=-90.0, intrinsics=INTR)
    assert down_direction_px(pose, 320.0, 240.0) == (0.0, 0.0)  # the nadir point: seen end-on
    u, v, *_ = box_foot_px(pose, (300.0, 220.0, 340.0, 260.0))
    assert (u, v) == (320.0, 240.0)
    gu, gv = down_direction_px(pose, 500.0, 240.0)  # right of the nadir point: down runs back to it
    assert gu == pytest.approx(-1.0) and gv == pytest.approx(0.0, abs=1e-6)


def test_the_uncertainty_is_the_base_extent():
    pose = aerial_pose(lat=35.0, lon=129.0, alt_agl_m=80.0, yaw_deg=0.0, gimbal_pitch_deg=-45.0, intrinsics=INTR)
    narrow = box_ground_feet(pose, np.array([_strip_box(pose, 0.0, 80.0, 2.0, 8.0)])).uncertainty_m[0]
    wide = box_ground_feet(pose, np.array([_strip_box(pose, 0.0, 80.0, 12.0, 8.0)])).uncertainty_m[0]
    assert 0.5 < narrow < wide < 15.0


def test_a_box_above_a_column_fits_it_a_box_beside_it_does_not():
    pose = aerial_pose(lat=35.0, lon=129.0, alt_agl_m=80.0, yaw_deg=0.0, gimbal_pitch_deg=-45.0, intrinsics=INTR)
    tips = _strip_box(pose, 0.0, 80.0, 4.0, 20.0)
    tips = (tips[0], tips[1], tips[2], tips[1] + 0.3 * (tips[3] - tips[1]))  # the top 30 % of the flame
    assert fits_column(pose, (0.0, 80.0), 2.0, tips, max_height_m=40.0)
    assert not fits_column(pose, (0.0, 80.0), 2.0, tips, max_height_m=10.0)  # taller than a column may be
    assert not fits_column(pose, (30.0, 80.0), 2.0, tips, max_height_m=40.0)  # another line of sight


def _column_cells(pose: PinholePose, e_m: float, n_m: float, radius_m: float, height_m: float,
                  cell_px: tuple[float, float] = (8.0, 6.0)) -> np.ndarray:
    """The detector's view of an upright flame standing on (e, n), a cone narrowing from its
    burning base to its tip: every cell of a grid
    (``cell_px``, as a tile's 8×8 model cells come back to the frame) whose centre falls
    on the cylinder's image, scored 1."""
    pts = []
    for up in np.linspace(0.0, height_m, 40):
        for a in np.linspace(0.0, 2 * math.pi, 48, endpoint=False):
            for rr in (0.0, 0.5, 1.0):
                rad = rr * radius_m * (1.0 - up / height_m)
                p = pose.enu_to_pixel(np.array([e_m + rad * math.cos(a)]),
                                      np.array([n_m + rad * math.sin(a)]), np.array([up]))
                if np.isfinite(p.u_px[0]):
                    pts.append((float(p.u_px[0]), float(p.v_px[0])))
    cw, ch = cell_px
    cells = {(math.floor(u / cw), math.floor(v / ch)) for u, v in pts}
    return np.array([[(i + 0.5) * cw, (j + 0.5) * ch, 1.0, cw, ch] for i, j in sorted(cells)])


@pytest.mark.parametrize("gimbal_pitch_deg, back_m, ahead_m", [(-90.0, 0.0, 0.0), (-90.0, 0.0, 30.0),
                                                                (-45.0, 80.0, 0.0), (-45.0, 80.0, 25.0)])
def test_a_column_is_placed_at_its_base_from_its_cells(gimbal_pitch_deg, back_m, ahead_m):
    """An upright flame 13 m wide at its base, 30 m tall, seen from 80 m, as the cells a detector scores:
    the foot from the cells is within a cell of the base centre, in every view."""
    pose = aerial_pose(lat=35.0, lon=129.0, alt_agl_m=80.0, yaw_deg=0.0, gimbal_pitch_deg=gimbal_pitch_deg,
                       intrinsics=INTR)
    for e_m in (-25.0, 0.0, 20.0):
        n_m = back_m + ahead_m
        cells = _column_cells(pose, e_m, n_m, 6.5, 30.0)
        f = box_ground_feet(pose, np.array([[cells[:, 0].min(), cells[:, 1].min(), cells[:, 0].max(),
                                              cells[:, 1].max()]]), cells=[cells])
        err = math.hypot(f.ground.east_m[0] - e_m, f.ground.north_m[0] - n_m)
        gsd_m = math.hypot(back_m + ahead_m, 80.0) / INTR.fx_px * 8.0 / math.sin(math.radians(-gimbal_pitch_deg))
        assert err <= max(1.0, gsd_m), (e_m, err)


def test_cells_foot_needs_cells_and_falls_back_to_the_box():
    pose = aerial_pose(lat=35.0, lon=129.0, alt_agl_m=80.0, yaw_deg=0.0, gimbal_pitch_deg=-90.0, intrinsics=INTR)
    assert cells_foot_px(pose, np.zeros((0, 5))) is None
    box = (300.0, 220.0, 340.0, 260.0)
    with_none = box_ground_feet(pose, np.array([box]), cells=[None])
    plain = box_ground_feet(pose, np.array([box]))
    assert with_none.ground.east_m[0] == plain.ground.east_m[0]
    with pytest.raises(ValueError, match="2 boxes"):
        box_ground_feet(pose, np.array([box, box]), cells=[None])
