"""Fixed-camera calibration by a homography from pixel ↔ ground control points.

Four or more image points whose ground positions are known (surveyed, or picked on a
map) define the plane-to-plane mapping image → flat ground. The fit uses
``cv2.findHomography`` with RANSAC (threshold in ground metres) so a mis-clicked point is
rejected, and reports the reprojection error in metres and pixels. The result serialises
to a JSON-friendly dict for the Camera row's ``calibration`` column.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import cv2
import numpy as np

from geo.crs import LocalFrame
from geo.errors import CalibrationError
from geo.projection import GroundPoints, PinholePose, PixelPoints, ProjectionStatus, _ground_points


@dataclass(frozen=True)
class HomographyCalibration:
    """Image → ground homography in a tangent frame centred at ``origin_lat, origin_lon``.

    Attributes:
        H: 3×3 matrix (nested tuples) mapping homogeneous pixels to east/north metres.
        width_px, height_px: image size the pixels refer to.
        rms_m: RMS ground error of the inlier control points, metres.
        rms_px: RMS image error of the inlier control points, pixels.
        inliers: number of control points RANSAC kept; n_points: number given.
    """

    origin_lat: float
    origin_lon: float
    H: tuple
    width_px: int
    height_px: int
    rms_m: float
    rms_px: float
    inliers: int
    n_points: int
    horizon_sign: float = 1.0  # sign of the homogeneous w on the ground side of the horizon

    @classmethod
    def fit(cls, pixels_px, ground_latlon, *, width_px: int, height_px: int,
            ransac_threshold_m: float = 1.0) -> HomographyCalibration:
        """Fit from ``pixels_px`` (N, 2: u, v) and ``ground_latlon`` (N, 2: lat, lon), N >= 4."""
        px = np.asarray(pixels_px, dtype=float)
        ll = np.asarray(ground_latlon, dtype=float)
        if px.ndim != 2 or px.shape[1] != 2 or ll.shape != px.shape:
            raise CalibrationError(f"need matching (N, 2) pixel and lat/lon arrays, got {px.shape} and {ll.shape}")
        n = px.shape[0]
        if n < 4:
            raise CalibrationError(f"a homography needs at least 4 control points, got {n}")
        if not (np.isfinite(px).all() and np.isfinite(ll).all()):
            raise CalibrationError("control points contain NaN or infinite values")
        if width_px <= 0 or height_px <= 0:
            raise CalibrationError(f"image size must be positive, got {width_px}x{height_px}")
        lat0, lon0 = float(ll[:, 0].mean()), float(ll[:, 1].mean())
        frame = LocalFrame.tangent(lat0, lon0)
        e, nn = frame.to_xy_m(ll[:, 0], ll[:, 1])
        ground = np.column_stack([e, nn])
        for name, pts in (("pixel", px), ("ground", ground)):
            centred = pts - pts.mean(axis=0)
            sv = np.linalg.svd(centred, compute_uv=False)
            if sv[-1] < 1e-6 * max(sv[0], 1e-12):
                raise CalibrationError(f"{name} control points are collinear; need 4 points spanning an area")
        method = cv2.RANSAC if n > 4 else 0
        H, mask = cv2.findHomography(px, ground, method, ransac_threshold_m)
        if H is None or not np.isfinite(H).all() or abs(np.linalg.det(H)) < 1e-15:
            raise CalibrationError("control points do not define a homography (degenerate layout)")
        if abs(H[2, 2]) > 1e-12:
            H = H / H[2, 2]
        inl = mask.ravel().astype(bool) if mask is not None else np.ones(n, bool)
        if inl.sum() < 4:
            raise CalibrationError(f"only {int(inl.sum())} control points agree (RANSAC); need 4")
        w = np.column_stack([px, np.ones(n)]) @ H.T
        if not (np.sign(w[inl, 2]) == np.sign(w[inl, 2][0])).all():
            raise CalibrationError("control points lie on both sides of the horizon")
        sign = float(np.sign(w[inl, 2][0]))
        proj = w[:, :2] / w[:, 2:3]
        rms_m = float(np.sqrt(np.mean(np.sum((proj[inl] - ground[inl]) ** 2, axis=1))))
        Hinv = np.linalg.inv(H)
        back = np.column_stack([ground, np.ones(n)]) @ Hinv.T
        back = back[:, :2] / back[:, 2:3]
        rms_px = float(np.sqrt(np.mean(np.sum((back[inl] - px[inl]) ** 2, axis=1))))
        return cls(lat0, lon0, tuple(tuple(float(x) for x in r) for r in H), int(width_px), int(height_px),
                   rms_m, rms_px, int(inl.sum()), n, sign)

    @property
    def matrix(self) -> np.ndarray:
        return np.asarray(self.H, dtype=float)

    @property
    def frame(self) -> LocalFrame:
        return LocalFrame.tangent(self.origin_lat, self.origin_lon)

    def pixel_to_ground(self, u_px, v_px, *, max_range_m: float | None = None,
                        check_image: bool = True) -> GroundPoints:
        """Ground points for pixels; ABOVE_HORIZON where the homography's w changes sign.

        ``max_range_m`` is measured from the control points' centre.
        """
        u = np.atleast_1d(np.asarray(u_px, dtype=float))
        v = np.atleast_1d(np.asarray(v_px, dtype=float))
        w = np.column_stack([u, v, np.ones_like(u)]) @ self.matrix.T
        status = np.full(u.shape, ProjectionStatus.OK.value, dtype=object)
        with np.errstate(divide="ignore", invalid="ignore"):
            east = w[:, 0] / w[:, 2]
            north = w[:, 1] / w[:, 2]
        status[~(w[:, 2] * self.horizon_sign > 1e-12)] = ProjectionStatus.ABOVE_HORIZON.value
        if max_range_m is not None:
            far = (status == ProjectionStatus.OK.value) & (np.hypot(east, north) > max_range_m)
            status[far] = ProjectionStatus.BEYOND_RANGE.value
        if check_image:
            inside = (u >= 0) & (u <= self.width_px) & (v >= 0) & (v <= self.height_px)
            status[~inside] = ProjectionStatus.OUTSIDE_IMAGE.value
        return _ground_points(self.frame, east, north, status)

    def ground_to_pixel(self, lat, lon) -> PixelPoints:
        e, n = self.frame.to_xy_m(np.atleast_1d(lat), np.atleast_1d(lon))
        p = np.column_stack([e, n, np.ones_like(e)]) @ np.linalg.inv(self.matrix).T
        status = np.full(e.shape, ProjectionStatus.OK.value, dtype=object)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = p[:, 0] / p[:, 2]
            v = p[:, 1] / p[:, 2]
        outside = ~((u >= 0) & (u <= self.width_px) & (v >= 0) & (v <= self.height_px))
        status[outside] = ProjectionStatus.OUTSIDE_IMAGE.value
        u[outside] = np.nan
        v[outside] = np.nan
        return PixelPoints(u, v, status)

    def to_dict(self) -> dict:
        return {"kind": "homography", "origin_lat": self.origin_lat, "origin_lon": self.origin_lon,
                "H": [list(r) for r in self.H], "width_px": self.width_px, "height_px": self.height_px,
                "rms_m": self.rms_m, "rms_px": self.rms_px, "inliers": self.inliers, "n_points": self.n_points,
                "horizon_sign": self.horizon_sign}

    @classmethod
    def from_dict(cls, data: dict) -> HomographyCalibration:
        try:
            H = np.asarray(data["H"], dtype=float)
            if H.shape != (3, 3) or not np.isfinite(H).all():
                raise CalibrationError("H must be a finite 3x3 matrix")
            return cls(float(data["origin_lat"]), float(data["origin_lon"]),
                       tuple(tuple(float(x) for x in r) for r in H), int(data["width_px"]),
                       int(data["height_px"]), float(data.get("rms_m", math.nan)),
                       float(data.get("rms_px", math.nan)), int(data.get("inliers", 0)),
                       int(data.get("n_points", 0)), float(data.get("horizon_sign", 1.0)))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, CalibrationError):
                raise
            raise CalibrationError(f"bad homography calibration record: {exc}") from exc


def calibration_to_json(cal: HomographyCalibration | PinholePose) -> str:
    """JSON text for the Camera row's ``calibration`` column."""
    return json.dumps(cal.to_dict())


def calibration_from_json(text: str) -> HomographyCalibration | PinholePose:
    """Inverse of :func:`calibration_to_json`; dispatches on ``kind``."""
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"calibration is not valid JSON: {exc}") from exc
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "homography":
        return HomographyCalibration.from_dict(data)
    if kind == "pinhole":
        return PinholePose.from_dict(data)
    raise CalibrationError(f"unknown calibration kind {kind!r} (expected 'homography' or 'pinhole')")
