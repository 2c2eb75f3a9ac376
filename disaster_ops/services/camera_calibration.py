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
import enum
import hashlib
import io
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.config import get_settings
from disaster_ops.errors import InputError
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Camera
from geo.camera_model import CameraIntrinsics
from geo.errors import CalibrationError
from geo.homography import HomographyCalibration, calibration_from_json
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
    # The model plus what the dashboard shows about it: its errors, when and by whom, and
    # the control points (so the check image can be drawn again). Readers of the model
    # (geo.homography.calibration_from_json) ignore the extra keys.
    record = {**model.to_dict(),
              "report": {"rms_m": _finite(rms_m), "rms_px": _finite(rms_px), "n_points": n, "inliers": inl,
                         "calibrated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                         "by": principal.name},
              "control_points": [] if points is None else np.column_stack(
                  [points.pixels_px, points.latlon]).round(9).tolist()}
    with session_scope(engine or get_engine()) as s:
        cam = s.exec(select(Camera).where(Camera.source_key == key)).first()
        if cam is None:
            raise InputError(f"no camera {key!r}")
        cam.calibration = json.dumps(record)
        check_image_path(key).unlink(missing_ok=True)  # a previous calibration's image is stale
        s.add(cam)
        audit.record(s, principal=principal, action="camera.calibrate", object_type="camera", object_id=key,
                     details={"kind": kind, "rms_m": None if not math.isfinite(rms_m) else round(rms_m, 3),
                              "rms_px": None if not math.isfinite(rms_px) else round(rms_px, 3),
                              "n_points": n})
    return CalibrationReport(key, kind, rms_m, rms_px, n, inl, w, h)


def _finite(v: float) -> float | None:
    return round(v, 3) if math.isfinite(v) else None


def draw_check_image(model, points: ControlPoints | None, out: Path, *, background: Path | None = None,
                     width_px: int, height_px: int, grid_m: float = 10.0, grid_extent_m: float = 100.0) -> Path:
    """Write the check image (JPEG/PNG by suffix)."""
    import cv2

    img = render_check_image(model, points, background=background, width_px=width_px, height_px=height_px,
                             grid_m=grid_m, grid_extent_m=grid_extent_m)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), img):
        raise InputError(f"{out}: cannot write the check image (use .jpg or .png)")
    return out


def render_check_image(model, points: ControlPoints | None, *, background: Path | None = None,
                       width_px: int, height_px: int, grid_m: float = 10.0,
                       grid_extent_m: float = 100.0) -> np.ndarray:
    """The check image as a BGR array: control points green, where the model puts them
    red (joined by a line), a ``grid_m`` ground grid cyan, over ``background`` if given."""
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
    return img


# ---------------------------------------------------------------- what the dashboard shows
class CalibrationMethod(enum.StrEnum):
    HOMOGRAPHY = "homography"  # fitted to control points
    POSE = "pinhole"  # mount height, yaw, pitch, lens measured on site


@dataclass(frozen=True)
class PointResidual:
    """One control point and where the stored calibration puts it."""

    u_px: float
    v_px: float
    lat: float
    lon: float
    reprojected_u_px: float | None  # ground -> pixel (None: behind the camera)
    reprojected_v_px: float | None
    error_px: float | None
    error_m: float | None  # pixel -> ground distance to the surveyed point (None: above the horizon)


@dataclass(frozen=True)
class CalibrationView:
    """A camera's stored calibration as the cameras page shows it."""

    camera: str
    name: str
    method: CalibrationMethod
    rms_m: float | None  # pixel -> ground RMS over the control points, metres
    rms_px: float | None  # ground -> pixel RMS, pixels
    n_points: int
    inliers: int
    width_px: int
    height_px: int
    calibrated_at: str | None
    calibrated_by: str | None
    points: tuple[PointResidual, ...]
    check_image_png: bytes  # control points green, reprojected red, 10 m ground grid cyan


def check_image_path(key: str) -> Path:
    """Where ``cameras calibrate`` keeps the check image drawn over the camera's frame."""
    digest = hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
    return get_settings().data_dir / "calibration" / f"{digest}.png"


def calibrated_cameras(*, engine: Engine | None = None) -> list[tuple[str, str]]:
    """``(key, name)`` of every camera with a stored calibration, by key."""
    with Session(engine or get_engine()) as s:
        rows = s.exec(select(Camera.source_key, Camera.name).where(Camera.calibration.is_not(None))
                      .order_by(Camera.source_key)).all()
    return [(k, n or k) for k, n in rows]


def _residuals(model, points: ControlPoints) -> tuple[PointResidual, ...]:
    from geo.crs import LocalFrame

    g = model.pixel_to_ground(points.pixels_px[:, 0], points.pixels_px[:, 1], check_image=False)
    p = model.ground_to_pixel(points.latlon[:, 0], points.latlon[:, 1])
    f = LocalFrame.tangent(float(points.latlon[:, 0].mean()), float(points.latlon[:, 1].mean()))
    te, tn = f.to_xy_m(points.latlon[:, 0], points.latlon[:, 1])
    out = []
    for i, ((u, v), (lat, lon)) in enumerate(zip(points.pixels_px, points.latlon, strict=True)):
        ru, rv = float(p.u_px[i]), float(p.v_px[i])
        seen = math.isfinite(ru) and math.isfinite(rv)
        err_m = None
        if g.ok[i]:
            ge, gn = f.to_xy_m(g.lat[i], g.lon[i])
            err_m = round(float(math.hypot(float(ge) - float(te[i]), float(gn) - float(tn[i]))), 3)
        out.append(PointResidual(float(u), float(v), float(lat), float(lon), round(ru, 1) if seen else None,
                                 round(rv, 1) if seen else None,
                                 round(math.hypot(ru - u, rv - v), 2) if seen else None, err_m))
    return tuple(out)


def calibration_view(key: str, *, engine: Engine | None = None) -> CalibrationView | None:
    """The stored calibration of camera ``key`` with its check image; None if it has none.

    The check image is the one ``cameras calibrate`` drew over the camera's frame; if that
    file is gone it is drawn again from the stored model and control points (grey background).
    """
    import cv2

    cam = get_camera(key, engine=engine)
    if not cam.calibration:
        return None
    try:
        model = calibration_from_json(cam.calibration)
        data = json.loads(cam.calibration)
    except (CalibrationError, ValueError) as exc:
        raise InputError(f"camera {key}: stored calibration unreadable ({exc})") from None
    rep = data.get("report") or {}
    cp = np.asarray(data.get("control_points") or [], dtype=float).reshape(-1, 4)
    points = ControlPoints(cp[:, :2], cp[:, 2:]) if len(cp) else None
    if isinstance(model, HomographyCalibration):
        method, w, h = CalibrationMethod.HOMOGRAPHY, model.width_px, model.height_px
    else:
        method, w, h = CalibrationMethod.POSE, model.intrinsics.width_px, model.intrinsics.height_px
    stored = check_image_path(key)
    png = stored.read_bytes() if stored.is_file() else b""
    if not png:
        ok, buf = cv2.imencode(".png", render_check_image(model, points, width_px=w, height_px=h))
        png = buf.tobytes() if ok else b""
    if not rep and points is not None:  # stored before reports were kept: measure now
        rms_m, rms_px = _errors(model, points)
        rep = {"rms_m": _finite(rms_m), "rms_px": _finite(rms_px), "n_points": len(cp)}
    return CalibrationView(
        camera=key, name=cam.name or key, method=method, rms_m=rep.get("rms_m"), rms_px=rep.get("rms_px"),
        n_points=int(rep.get("n_points", len(cp))), inliers=int(rep.get("inliers", 0)), width_px=w, height_px=h,
        calibrated_at=rep.get("calibrated_at"), calibrated_by=rep.get("by"),
        points=_residuals(model, points) if points is not None else (), check_image_png=png)
