"""PTZ / 360° cameras are modelled as what they are, and `cameras calibrate` round-trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
import shapely
from sqlmodel import Session, select
from typer.testing import CliRunner

from disaster_ops.cli import app
from disaster_ops.detect.records import Detections
from disaster_ops.services import incidents as inc_svc
from disaster_ops.services.cameras import import_registry
from disaster_ops.services.projection import camera_model, camera_to_ground
from disaster_ops.storage.models import Camera
from geo.crs import LocalFrame
from geo.projection import PinholePose, PoleModel
from tests.conftest import shared_path

runner = CliRunner()


def _dets(boxes, kind="fire"):
    xyxy = np.asarray(boxes, dtype=float)
    return Detections(xyxy=xyxy, confidence=np.full(len(xyxy), 0.9), kind=np.array([kind] * len(xyxy)))


def _first_360_camera(engine, tmp_path) -> Camera:
    src = shared_path("cctv_registry", "busan_cctv_standard_2024.csv")
    lines = src.read_text(encoding="utf-8").splitlines()[:6]
    reg = tmp_path / "busan.csv"
    reg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_registry(reg, engine=engine)
    with Session(engine) as s:
        cam = s.exec(select(Camera).order_by(Camera.id)).first()
    assert cam.fov_deg == 360.0  # "360도 전방면" in the real registry
    return cam


def test_360_camera_detection_is_at_the_pole_with_its_uncertainty(engine, tmp_path):
    cam = _first_360_camera(engine, tmp_path)
    model = camera_model(cam, width_px=1280, height_px=720)
    assert isinstance(model, PoleModel)
    # boxes anywhere in the image: left, right, top, bottom
    boxes = [(10, 400, 90, 700), (1100, 300, 1270, 650), (600, 5, 700, 60), (600, 600, 700, 719)]
    ground = camera_to_ground(cam, _dets(boxes), kinds={"fire"}, observed_at=datetime.now(UTC),
                              width_px=1280, height_px=720)
    assert len(ground) == 4
    for g in ground:
        assert (g.ground_lat, g.ground_lon) == (cam.lat, cam.lon)  # not north of the pole
        assert g.uncertainty_m == cam.range_m and g.footprint_wgs84 is None
    [res] = inc_svc.ingest(ground[:1], engine=engine)
    inc = inc_svc.get_incident(res.incident_id, engine=engine)
    area = shapely.from_geojson(inc.geometry_geojson)
    f = LocalFrame.around(cam.lat, cam.lon)
    disc = f.geom_to_m(area)
    x, y = f.to_xy_m(cam.lat, cam.lon)
    # the incident is the disc of the camera's reach around the pole
    assert disc.centroid.distance(shapely.Point(float(x), float(y))) < 1.0
    assert disc.area == pytest.approx(np.pi * cam.range_m ** 2, rel=0.02)
    [stored] = inc_svc.detections_of(inc.id, engine=engine)
    assert stored.uncertainty_m == cam.range_m


def test_ptz_with_reported_pan_tilt_projects_that_way(engine, tmp_path):
    cam = _first_360_camera(engine, tmp_path)
    model = camera_model(cam, width_px=1280, height_px=720, pan_deg=90.0, tilt_deg=20.0)
    assert isinstance(model, PinholePose)
    g = model.pixel_to_ground(640, 600)
    assert g.ok[0] and g.lon[0] > cam.lon and abs(g.lat[0] - cam.lat) < 1e-4  # east of the pole


def test_calibrate_homography_round_trips_within_1_m(engine, data_dir, tmp_path):
    cam = _first_360_camera(engine, tmp_path)
    w, h = 1280, 720
    # a synthetic scene: the true camera, 8 m up, looking north-east and 25° down
    truth = PinholePose.fixed(lat=cam.lat, lon=cam.lon, mount_height_m=8.0, heading_deg=45.0, tilt_deg=25.0,
                              hfov_deg=70.0, width_px=w, height_px=h)
    ctrl_px = np.array([(200, 450), (1080, 470), (640, 380), (300, 680), (1000, 690), (640, 560)], dtype=float)
    g = truth.pixel_to_ground(ctrl_px[:, 0], ctrl_px[:, 1])
    assert g.ok.all()
    pts = tmp_path / "points.csv"
    pts.write_text("u_px,v_px,lat,lon\n" + "".join(
        f"{u},{v},{la:.9f},{lo:.9f}\n" for (u, v), la, lo in zip(ctrl_px, g.lat, g.lon, strict=True)),
        encoding="utf-8")
    frame = tmp_path / "frame.png"
    cv2.imwrite(str(frame), np.full((h, w, 3), 90, np.uint8))
    check = tmp_path / "check" / "cal.jpg"
    r = runner.invoke(app, ["cameras", "calibrate", "--local-admin", cam.source_key, "--points", str(pts), "--image", str(frame),
                            "--check-image", str(check), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["kind"] == "homography" and rep["rms_m"] < 0.05 and rep["n_points"] == 6
    img = cv2.imread(str(check))
    assert img is not None and img.shape[:2] == (h, w) and (img != 90).any()
    with Session(engine) as s:
        stored = s.exec(select(Camera).where(Camera.id == cam.id)).one()
    model = camera_model(stored, width_px=w, height_px=h)
    # pixels that were not control points land within 1 m of the true ground point
    test_px = np.array([(400, 500), (900, 520), (640, 640), (150, 600), (1200, 610)], dtype=float)
    want = truth.pixel_to_ground(test_px[:, 0], test_px[:, 1])
    got = model.pixel_to_ground(test_px[:, 0], test_px[:, 1])
    f = LocalFrame.tangent(cam.lat, cam.lon)
    we, wn = f.to_xy_m(want.lat, want.lon)
    ge, gn = f.to_xy_m(got.lat, got.lon)
    assert np.hypot(we - ge, wn - gn).max() < 1.0
    # the calibrated camera is no longer treated as direction-unknown
    dets = camera_to_ground(stored, _dets([(600, 560, 680, 640)]), kinds={"fire"},
                            observed_at=datetime.now(UTC), width_px=w, height_px=h)
    assert dets[0].uncertainty_m is None and (dets[0].ground_lat, dets[0].ground_lon) != (cam.lat, cam.lon)


def test_calibrate_pose_reports_error_and_bad_input_is_one_line(engine, data_dir, tmp_path):
    cam = _first_360_camera(engine, tmp_path)
    r = runner.invoke(app, ["cameras", "calibrate", "--local-admin", cam.source_key, "--size", "1280x720",
                            "--pose", "height_m=8,yaw_deg=45,pitch_deg=-25,hfov_deg=70", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["kind"] == "pinhole"
    bad = tmp_path / "bad.csv"
    bad.write_text("u_px,v_px,lat,lon\n1,2,abc,127\n", encoding="utf-8")
    r = runner.invoke(app, ["cameras", "calibrate", "--local-admin", cam.source_key, "--size", "1280x720", "--points", str(bad)])
    assert r.exit_code == 2 and f"{bad}:2 [lat]" in r.output
    three = tmp_path / "three.csv"
    three.write_text("u_px,v_px,lat,lon\n1,2,35.1,129\n5,6,35.1001,129\n9,2,35.1,129.0001\n", encoding="utf-8")
    r = runner.invoke(app, ["cameras", "calibrate", "--local-admin", cam.source_key, "--size", "1280x720", "--points", str(three)])
    assert r.exit_code == 2 and "at least 4" in r.output
    r = runner.invoke(app, ["cameras", "calibrate", "--local-admin", "kr:nope", "--size", "1280x720", "--points", str(three)])
    assert r.exit_code == 2 and "no camera" in r.output
