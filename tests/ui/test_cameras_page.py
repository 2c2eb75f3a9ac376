"""The cameras page shows a camera's calibration: method, reprojection error, check image."""

from __future__ import annotations

import cv2
import numpy as np
from sqlmodel import Session, select
from typer.testing import CliRunner

from disaster_ops.cli import app
from disaster_ops.storage.models import Camera
from geo.projection import PinholePose
from tests.ui.test_pages import logged_in, seeded  # noqa: F401  (fixture)


def _calibrate(engine, tmp_path) -> Camera:
    """`cameras calibrate` on a seeded camera: a synthetic scene seen 8 m up, 25° down."""
    with Session(engine) as s:
        cam = s.exec(select(Camera).order_by(Camera.id)).first()
    w, h = 1280, 720
    truth = PinholePose.fixed(lat=cam.lat, lon=cam.lon, mount_height_m=8.0, heading_deg=45.0, tilt_deg=25.0,
                              hfov_deg=70.0, width_px=w, height_px=h)
    px = np.array([(200, 450), (1080, 470), (640, 380), (300, 680), (1000, 690), (640, 560)], dtype=float)
    g = truth.pixel_to_ground(px[:, 0], px[:, 1])
    pts = tmp_path / "points.csv"
    # the last point surveyed 3 m off (east): a visible residual on the page
    lon = g.lon.copy()
    lon[-1] += 3.0 / (111_320.0 * np.cos(np.radians(cam.lat)))
    pts.write_text("u_px,v_px,lat,lon\n" + "".join(
        f"{u},{v},{la:.9f},{lo:.9f}\n" for (u, v), la, lo in zip(px, g.lat, lon, strict=True)), encoding="utf-8")
    frame = tmp_path / "frame.png"
    cv2.imwrite(str(frame), np.full((h, w, 3), 90, np.uint8))
    r = CliRunner().invoke(app, ["cameras", "calibrate", "--local-admin", cam.source_key, "--points", str(pts),
                                 "--image", str(frame), "--json"])
    assert r.exit_code == 0, r.output
    return cam


def test_cameras_page_says_when_nothing_is_calibrated(seeded):  # noqa: F811
    at = logged_in("manager")
    at.switch_page("app_pages/cameras.py").run()
    assert not at.exception, at.exception
    assert any("No camera is calibrated yet" in c.value for c in at.caption)


def test_cameras_page_shows_the_calibration(seeded, tmp_path):  # noqa: F811
    cam = _calibrate(seeded, tmp_path)
    at = logged_in("manager")
    at.switch_page("app_pages/cameras.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="cameras_calibration_key").value == cam.source_key
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Method"] == "homography"
    assert metrics["Control points"].startswith("6 ")
    rms_m = float(metrics["Reprojection error (ground)"].split()[0])
    assert 0.1 < rms_m < 3.0  # the 3 m survey error shows, spread over the fit
    # the check image: drawn over the camera's frame (grey 90) with points and grid
    [img] = at.get("image")
    assert img.proto.imgs[0].url and "check image" in img.proto.imgs[0].caption.lower()
    table = at.dataframe[1].value  # [0] is the registry table
    assert len(table) == 6 and table["error_m"].max() > 0.5


def test_calibration_record_from_the_service(seeded, tmp_path):  # noqa: F811
    from disaster_ops.services.camera_calibration import CalibrationMethod, calibration_view

    cam = _calibrate(seeded, tmp_path)
    view = calibration_view(cam.source_key, engine=seeded)
    assert view.method is CalibrationMethod.HOMOGRAPHY and view.n_points == 6
    img = cv2.imdecode(np.frombuffer(view.check_image_png, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (720, 1280) and (img == 90).any() and (img != 90).any()
    worst = max(view.points, key=lambda p: p.error_m)
    assert worst.u_px == 640 and worst.v_px == 560  # the point surveyed 3 m off


def test_cameras_page_says_how_many_cameras_and_when_it_shows_only_some(seeded, monkeypatch):  # noqa: F811
    from disaster_ops.services import cop
    from disaster_ops.services.cameras import count_cameras

    total = count_cameras(engine=seeded)
    assert total > 3
    at = logged_in("manager")
    at.switch_page("app_pages/cameras.py").run()
    assert not at.exception, at.exception
    assert any(c.value == f"{total:,} cameras." for c in at.caption)
    assert len(at.dataframe[0].value) == total

    # At province scale the page sends a capped table: it must say so (a silent cap hid cameras)
    monkeypatch.setattr(cop, "CAMERA_TABLE_LIMIT", 3)
    at.run()
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == 3
    assert any(f"Showing the first 3 of {total:,} cameras" in c.value for c in at.caption)
