"""Calibrate a fixed camera: pixel ↔ ground, stored with its reprojection error.

Two ways, both stored as JSON in ``Camera.calibration`` and used by the watcher's ground
projection (:func:`disaster_ops.services.projection.camera_model`):

* a homography fitted to >= 4 control points (pixel ↔ lat/lon), RANSAC in ground metres
  (:class:`geo.homography.HomographyCalibration`);
* a pose (mount height, yaw, pitch, roll, lens field of view) measured on site; control
  points, when given, only measure its error.

Every calibration reports the RMS error in metres (pixel → ground) and pixels (ground →
pixel) over the control points, and can draw a check image: the control points (green),
where the calibration puts them (red, joined by a line), and a 10 m ground grid (cyan).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.errors import InputError
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Camera
from geo.camera_model import CameraIntrinsics
from geo.errors import CalibrationError
from geo.homography import HomographyCalibration, calibration_to_json
from geo.projection import PinholePose

MAX_POINTS = 1000
_POINT_FIELDS = ("u_px", "v_px", "lat", "lon")


@dataclass(frozen=True)
class ControlPoints:
    pixels_px: np.ndarray  # (N, 2) u, v
    latlon: np.ndarray  # (N, 2) lat, lon


@dataclass(frozen=True)
class CalibrationReport:
    camera: str
    kind: str  # homography | pinhole
    rms_m: float  # pixel -> ground, over the control points
    rms_px: float  # ground -> pixel
    n_points: int
    inliers: int
    width_px: int
    height_px: int
    check_image: str | None = None

    def as_dict(self) -> dict:
        def r(v: float) -> float | None:
            return None if not math.isfinite(v) else round(v, 3)

        return {"camera": self.camera, "kind": self.kind, "rms_m": r(self.rms_m), "rms_px": r(self.rms_px),
                "n_points": self.n_points, "inliers": self.inliers, "width_px": self.width_px,
                "height_px": self.height_px, "check_image": self.check_image}


def read_points(path: Path) -> ControlPoints:
    """Control points from a CSV with columns ``u_px,v_px,lat,lon`` (one clear error per bad row)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > 1_000_000:
        raise InputError(f"{path}: control point file is larger than 1 MB")
    text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    missing = [f for f in _POINT_FIELDS if f not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{path}: header needs columns {','.join(_POINT_FIELDS)} (missing {','.join(missing)})")
    rows = []
    for row in reader:
        line = reader.line_num
        vals = []
        for f in _POINT_FIELDS:
            try:
                v = float(row[f])
            except (TypeError, ValueError):
                raise InputError(f"{path}:{line} [{f}]: not a number: {row[f]!r}") from None
            if not math.isfinite(v):
                raise InputError(f"{path}:{line} [{f}]: not finite")
            vals.append(v)
        if not (-90 <= vals[2] <= 90 and -180 <= vals[3] <= 180):
            raise InputError(f"{path}:{line} [lat]: {vals[2]},{vals[3]} is not a WGS84 lat,lon")
        rows.append(vals)
        if len(rows) > MAX_POINTS:
            raise InputError(f"{path}: more than {MAX_POINTS} control points")
    if not rows:
        raise InputError(f"{path}: no control points")
    a = np.asarray(rows, dtype=float)
    return ControlPoints(a[:, :2], a[:, 2:])


def _errors(model, points: ControlPoints | None) -> tuple[float, float]:
    """RMS pixel→ground error (m) and ground→pixel error (px) over the control points."""
    if points is None:
        return math.nan, math.nan
    from geo.crs import LocalFrame

    g = model.pixel_to_ground(points.pixels_px[:, 0], points.pixels_px[:, 1], check_image=False)
    f = LocalFrame.tangent(float(points.latlon[:, 0].mean()), float(points.latlon[:, 1].mean()))
    te, tn = f.to_xy_m(points.latlon[:, 0], points.latlon[:, 1])
    ok = g.ok
    rms_m = math.inf
    if ok.any():
        ge, gn = f.to_xy_m(g.lat[ok], g.lon[ok])
        rms_m = float(np.sqrt(np.mean((ge - te[ok]) ** 2 + (gn - tn[ok]) ** 2)))
        if not ok.all():
            rms_m = math.inf  # a control point above the horizon: the calibration is wrong
    p = model.ground_to_pixel(points.latlon[:, 0], points.latlon[:, 1])
    okp = np.isfinite(p.u_px)
    rms_px = (float(np.sqrt(np.mean((p.u_px[okp] - points.pixels_px[okp, 0]) ** 2
                                    + (p.v_px[okp] - points.pixels_px[okp, 1]) ** 2)))
              if okp.all() else math.inf)
    return rms_m, rms_px


def fit_homography(points: ControlPoints, *, width_px: int, height_px: int) -> HomographyCalibration:
    try:
        return HomographyCalibration.fit(points.pixels_px, points.latlon, width_px=width_px, height_px=height_px)
    except CalibrationError as exc:
        raise InputError(str(exc)) from None


def pose_model(cam: Camera, *, width_px: int, height_px: int, height_m: float, yaw_deg: float,
               pitch_deg: float, hfov_deg: float, roll_deg: float = 0.0) -> PinholePose:
    try:
        return PinholePose.from_angles(
            lat=cam.lat, lon=cam.lon, height_m=height_m, yaw_deg=yaw_deg, pitch_deg=pitch_deg, roll_deg=roll_deg,
            intrinsics=CameraIntrinsics.from_hfov(hfov_deg=hfov_deg, width_px=width_px, height_px=height_px))
    except CalibrationError as exc:
        raise InputError(str(exc)) from None


def get_camera(key: str, *, engine: Engine | None = None) -> Camera:
    with Session(engine or get_engine()) as s:
        cam = s.exec(select(Camera).where(Camera.source_key == key)).first()
    if cam is None:
        raise InputError(f"no camera {key!r} (see `disaster-ops cameras list --json`)")
    return cam


def store(key: str, model, points: ControlPoints | None, *, principal: Principal,
          engine: Engine | None = None) -> CalibrationReport:
    """Save ``model`` as the camera's calibration (audited) and report its errors."""
    require(principal, Action.CONFIGURE_CAMERA)
    rms_m, rms_px = _errors(model, points)
    if isinstance(model, HomographyCalibration):
        kind, w, h = "homography", model.width_px, model.height_px
        inl = model.inliers
    else:
        kind, w, h = "pinhole", model.intrinsics.width_px, model.intrinsics.height_px
        inl = 0 if points is None else int(points.pixels_px.shape[0])
    n = 0 if points is None else int(points.pixels_px.shape[0])
    with session_scope(engine or get_engine()) as s:
        cam = s.exec(select(Camera).where(Camera.source_key == key)).first()
        if cam is None:
            raise InputError(f"no camera {key!r}")
        cam.calibration = calibration_to_json(model)
        s.add(cam)
        audit.record(s, principal=principal, action="camera.calibrate", object_type="camera", object_id=key,
                     details={"kind": kind, "rms_m": None if not math.isfinite(rms_m) else round(rms_m, 3),
                              "rms_px": None if not math.isfinite(rms_px) else round(rms_px, 3),
                              "n_points": n})
    return CalibrationReport(key, kind, rms_m, rms_px, n, inl, w, h)


def draw_check_image(model, points: ControlPoints | None, out: Path, *, background: Path | None = None,
                     width_px: int, height_px: int, grid_m: float = 10.0, grid_extent_m: float = 100.0) -> Path:
    """Write the check image (JPEG/PNG by suffix)."""
    import cv2

    from geo.crs import LocalFrame

    if background is not None:
        img = cv2.imread(str(background))
        if img is None:
            raise InputError(f"{background}: not an image OpenCV can read")
        if img.shape[1] != width_px or img.shape[0] != height_px:
            img = cv2.resize(img, (width_px, height_px))
    else:
        img = np.full((height_px, width_px, 3), 40, dtype=np.uint8)
    if points is not None:
        lat0, lon0 = float(points.latlon[:, 0].mean()), float(points.latlon[:, 1].mean())
    elif isinstance(model, HomographyCalibration):
        lat0, lon0 = model.origin_lat, model.origin_lon
    else:
        lat0, lon0 = model.lat, model.lon
    f = LocalFrame.tangent(lat0, lon0)
    ticks = np.arange(-grid_extent_m, grid_extent_m + 1e-9, grid_m)
    dense = np.linspace(-grid_extent_m, grid_extent_m, 81)
    for t in ticks:
        for e, n in ((np.full_like(dense, t), dense), (dense, np.full_like(dense, t))):
            lat, lon = f.to_latlon(e, n)
            p = model.ground_to_pixel(lat, lon)
            ok = np.isfinite(p.u_px) & np.isfinite(p.v_px)
            pts = np.column_stack([p.u_px[ok], p.v_px[ok]]).round().astype(np.int32)
            if len(pts) >= 2:
                cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, (200, 200, 0), 1, cv2.LINE_AA)
    if points is not None:
        p = model.ground_to_pixel(points.latlon[:, 0], points.latlon[:, 1])
        for i, (u, v) in enumerate(points.pixels_px):
            c = (round(float(u)), round(float(v)))
            cv2.circle(img, c, 5, (0, 200, 0), 2, cv2.LINE_AA)
            if np.isfinite(p.u_px[i]) and np.isfinite(p.v_px[i]):
                q = (round(float(p.u_px[i])), round(float(p.v_px[i])))
                cv2.line(img, c, q, (0, 0, 255), 1, cv2.LINE_AA)
                cv2.drawMarker(img, q, (0, 0, 255), cv2.MARKER_CROSS, 10, 2)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), img):
        raise InputError(f"{out}: cannot write the check image (use .jpg or .png)")
    return out
