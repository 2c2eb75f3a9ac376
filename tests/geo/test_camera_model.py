import math

import pytest

from geo.camera_model import CameraIntrinsics
from geo.errors import CalibrationError


def test_from_hfov_round_trips_the_fov():
    c = CameraIntrinsics.from_hfov(hfov_deg=84.0, width_px=4000, height_px=3000)
    assert c.hfov_deg == pytest.approx(84.0)
    assert c.vfov_deg == pytest.approx(math.degrees(2 * math.atan(1500 / c.fy_px)))


def test_nadir_footprint_and_gsd_match_the_sensor_geometry():
    # 1" sensor 13.2 x 8.8 mm, 8.8 mm lens, 5472 x 3648 px: at 100 m the footprint is 150 x 100 m.
    c = CameraIntrinsics.from_sensor(focal_length_mm=8.8, sensor_width_mm=13.2, sensor_height_mm=8.8,
                                     width_px=5472, height_px=3648)
    w, h = c.nadir_footprint_m(100.0)
    assert w == pytest.approx(150.0)
    assert h == pytest.approx(100.0)
    assert c.gsd_m(100.0) == pytest.approx(150.0 / 5472)
    assert c.alt_for_gsd_m(c.gsd_m(37.0)) == pytest.approx(37.0)


def test_dict_round_trip():
    c = CameraIntrinsics.from_hfov(hfov_deg=60.0, width_px=1920, height_px=1080)
    assert CameraIntrinsics.from_dict(c.to_dict()) == c


@pytest.mark.parametrize("kwargs", [
    {"hfov_deg": 0.0, "width_px": 640, "height_px": 480},
    {"hfov_deg": 180.0, "width_px": 640, "height_px": 480},
    {"hfov_deg": 60.0, "width_px": 0, "height_px": 480},
])
def test_bad_intrinsics_raise(kwargs):
    with pytest.raises(CalibrationError):
        CameraIntrinsics.from_hfov(**kwargs)


def test_bad_altitude_raises():
    c = CameraIntrinsics.from_hfov(hfov_deg=60.0, width_px=640, height_px=480)
    with pytest.raises(CalibrationError, match="alt_m"):
        c.nadir_footprint_m(0.0)
