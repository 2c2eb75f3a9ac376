import json
import math

import numpy as np
import pytest
import shapely

from geo.aerial import aerial_pose, image_footprint
from geo.camera_model import CameraIntrinsics
from geo.crs import LocalFrame
from geo.errors import CalibrationError
from geo.homography import HomographyCalibration, calibration_from_json, calibration_to_json
from geo.projection import (
    PinholePose,
    ProjectionStatus,
    box_to_ground_point,
    pixel_polygon_to_ground,
)

LAT, LON = 37.2636, 127.0286


def fixed_cam():
    # 12 m pole, 8 deg down, 50 deg HFOV: the image centre meets the ground ~85 m away.
    return PinholePose.fixed(lat=LAT, lon=LON, mount_height_m=12.0, heading_deg=135.0, tilt_deg=8.0,
                             hfov_deg=50.0, width_px=1920, height_px=1080)


def ground_truth_ring(pose, dist_m, n=24):
    """Ground points around the camera's line of sight at ~dist_m (east, north metres)."""
    fwd = pose.R[:, 2]
    az = math.atan2(fwd[0], fwd[1])
    a = az + np.linspace(-0.3, 0.3, n)
    d = dist_m * np.linspace(0.9, 1.1, n)
    return d * np.sin(a), d * np.cos(a)


def metres_between(lat1, lon1, lat2, lon2):
    f = LocalFrame.tangent(float(np.mean(lat1)), float(np.mean(lon1)))
    x1, y1 = f.to_xy_m(lat1, lon1)
    x2, y2 = f.to_xy_m(lat2, lon2)
    return np.hypot(x2 - x1, y2 - y1)


def test_fixed_pinhole_round_trip_within_10_cm_at_100_m():
    pose = fixed_cam()
    e, n = ground_truth_ring(pose, 100.0)
    lat, lon = pose.frame.to_latlon(e, n)
    px = pose.ground_to_pixel(lat, lon)
    assert (px.status == "ok").all()
    back = pose.pixel_to_ground(px.u_px, px.v_px)
    assert back.ok.all()
    assert metres_between(lat, lon, back.lat, back.lon).max() < 0.1


def test_fixed_pinhole_reasons():
    pose = fixed_cam()
    g = pose.pixel_to_ground([960, 960, 2500], [1000, 10, 500], max_range_m=500.0)
    assert g.status.tolist() == ["ok", ProjectionStatus.ABOVE_HORIZON.value, ProjectionStatus.OUTSIDE_IMAGE.value]
    assert np.isnan(g.lat[1]) and np.isfinite(g.lat[0])
    far = pose.pixel_to_ground([960], [560], max_range_m=50.0)
    assert far.status[0] == ProjectionStatus.BEYOND_RANGE.value


def test_box_bottom_centre_and_polygon_to_ground():
    pose = fixed_cam()
    g = box_to_ground_point(pose, [[900, 600, 1020, 800]])
    ref = pose.pixel_to_ground([960], [800])
    assert g.lat[0] == ref.lat[0] and g.lon[0] == ref.lon[0]
    poly = pixel_polygon_to_ground(pose, shapely.box(800, 700, 1100, 1000))
    assert poly.is_valid and not poly.is_empty
    area = LocalFrame.tangent(LAT, LON).geom_to_m(poly).area
    assert 10 < area < 5000
    sky = pixel_polygon_to_ground(pose, shapely.box(0, 0, 100, 50))
    assert sky.is_empty


def control_points(pose, n=12, seed=0):
    rng = np.random.default_rng(seed)
    u = rng.uniform(100, 1820, n)
    v = rng.uniform(560, 1050, n)
    g = pose.pixel_to_ground(u, v)
    assert g.ok.all()
    return np.column_stack([u, v]), np.column_stack([g.lat, g.lon])


def test_homography_matches_pinhole_truth_within_10_cm_at_100_m():
    pose = fixed_cam()
    px, ll = control_points(pose)
    cal = HomographyCalibration.fit(px, ll, width_px=1920, height_px=1080)
    assert cal.inliers == 12 and cal.rms_m < 0.01 and cal.rms_px < 0.01
    e, n = ground_truth_ring(pose, 100.0)
    lat, lon = pose.frame.to_latlon(e, n)
    truth_px = pose.ground_to_pixel(lat, lon)
    got = cal.pixel_to_ground(truth_px.u_px, truth_px.v_px)
    assert got.ok.all()
    assert metres_between(lat, lon, got.lat, got.lon).max() < 0.1
    back = cal.ground_to_pixel(got.lat, got.lon)
    np.testing.assert_allclose(back.u_px, truth_px.u_px, atol=0.01)
    assert cal.pixel_to_ground([960], [5]).status[0] == ProjectionStatus.ABOVE_HORIZON.value


def test_homography_ransac_rejects_a_misclicked_point_and_serialises():
    pose = fixed_cam()
    px, ll = control_points(pose, n=10, seed=4)
    ll[3] += [0.0005, 0.0]  # ~55 m off
    cal = HomographyCalibration.fit(px, ll, width_px=1920, height_px=1080)
    assert cal.inliers == 9 and cal.n_points == 10 and cal.rms_m < 0.05
    text = calibration_to_json(cal)
    json.loads(text)
    again = calibration_from_json(text)
    assert again == cal
    assert isinstance(calibration_from_json(calibration_to_json(pose)), PinholePose)


@pytest.mark.parametrize("px,ll,match", [
    ([[0, 0], [1, 1], [2, 2]], [[37.5, 127.0], [37.5001, 127.0], [37.5, 127.0001]], "at least 4"),
    ([[0, 0], [10, 10], [20, 20], [30, 30]], [[37.5, 127.0], [37.5001, 127.0], [37.5, 127.0001], [37.5001, 127.0001]],
     "collinear"),
    ([[0, 0], [10, 0], [0, 10], [np.nan, 10]], [[37.5, 127.0], [37.5001, 127.0], [37.5, 127.0001], [37.5, 127.1]],
     "NaN"),
])
def test_bad_control_points_raise(px, ll, match):
    with pytest.raises(CalibrationError, match=match):
        HomographyCalibration.fit(px, ll, width_px=640, height_px=480)


def test_bad_calibration_json_raises():
    with pytest.raises(CalibrationError):
        calibration_from_json('{"kind": "homography", "H": [[1, 0], [0, 1]]}')
    with pytest.raises(CalibrationError, match="unknown calibration kind"):
        calibration_from_json('{"kind": "magic"}')


INTR = CameraIntrinsics.from_sensor(focal_length_mm=8.8, sensor_width_mm=13.2, width_px=5472, height_px=3648)


@pytest.mark.parametrize("yaw,pitch,roll,gpitch,gyaw", [
    (0, 0, 0, -90, 0), (37, 4, -6, -45, 20), (250, -3, 8, -30, -15),
])
def test_aerial_round_trip_within_10_cm_at_100_m(yaw, pitch, roll, gpitch, gyaw):
    pose = aerial_pose(lat=LAT, lon=LON, alt_agl_m=60.0, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll,
                       gimbal_pitch_deg=gpitch, gimbal_yaw_deg=gyaw, intrinsics=INTR)
    fwd = pose.R[:, 2]
    assert fwd[2] < 0
    # points on the ground ~100 m slant range around where the camera looks
    u = np.linspace(500, 4900, 9)
    v = np.linspace(400, 3200, 9)
    g = pose.pixel_to_ground(u, v)
    assert g.ok.all()
    px = pose.ground_to_pixel(g.lat, g.lon)
    np.testing.assert_allclose(px.u_px, u, atol=1e-3)
    e, n = ground_truth_ring(pose, 100.0 if gpitch > -80 else 20.0)
    lat, lon = pose.frame.to_latlon(e, n)
    p2 = pose.ground_to_pixel(lat, lon)
    ok = p2.status == "ok"
    assert ok.sum() >= 5
    back = pose.pixel_to_ground(p2.u_px[ok], p2.v_px[ok])
    assert metres_between(lat[ok], lon[ok], back.lat, back.lon).max() < 0.1


def test_nadir_footprint_is_the_analytic_rectangle():
    alt = 100.0
    pose = aerial_pose(lat=LAT, lon=LON, alt_agl_m=alt, yaw_deg=30.0, intrinsics=INTR)
    fp = image_footprint(pose)
    fp_m = pose.frame.geom_to_m(fp)
    w, h = INTR.nadir_footprint_m(alt)
    assert (w, h) == pytest.approx((150.0, 100.0))
    # the analytic rectangle: w along the image u axis (heading + 90), h along v, rotated by yaw
    rect = shapely.affinity.rotate(shapely.box(-w / 2, -h / 2, w / 2, h / 2), -30.0, origin=(0, 0))
    assert fp_m.area == pytest.approx(w * h, rel=1e-4)
    assert fp_m.symmetric_difference(rect).area < 1e-3 * w * h
    assert shapely.hausdorff_distance(fp_m, rect) < 0.05


def test_footprint_above_horizon_is_clipped():
    pose = aerial_pose(lat=LAT, lon=LON, alt_agl_m=50.0, yaw_deg=0.0, gimbal_pitch_deg=-10.0, intrinsics=INTR)
    top = pose.pixel_to_ground([2736], [0])
    assert top.status[0] == ProjectionStatus.ABOVE_HORIZON.value
    fp = image_footprint(pose, max_range_m=800.0)
    fp_m = pose.frame.geom_to_m(fp)
    assert fp.is_valid and not fp.is_empty
    assert np.hypot(*shapely.get_coordinates(fp_m).T).max() <= 800.0 + 1e-6
    sky = aerial_pose(lat=LAT, lon=LON, alt_agl_m=50.0, yaw_deg=0.0, gimbal_pitch_deg=40.0, intrinsics=INTR)
    assert image_footprint(sky).is_empty
