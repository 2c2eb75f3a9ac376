"""Pixel ↔ ground projection for a posed pinhole camera over flat ground.

Frames: a local tangent frame centred on the camera's ground point (x east, y true north,
z up, metres; :meth:`geo.crs.LocalFrame.tangent`), and the camera frame (x right, y down,
z forward, pixels via :class:`~geo.camera_model.CameraIntrinsics`).

Flat-ground assumption: the ground is the plane z = 0 at the camera's ground point
(``height_m`` below the optical centre). Real terrain that rises or falls moves the true
point along the same viewing ray; the error grows with distance and with the slope of the
terrain (see docs/geo.md). Rays at or above the horizon never meet the plane: they get
status ``ABOVE_HORIZON`` instead of a point.

Angles: ``yaw_deg`` clockwise from true north, ``pitch_deg`` up from the horizon (a camera
tilted 30° down has pitch -30), ``roll_deg`` positive when the image's right side goes down.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import shapely

from geo.camera_model import CameraIntrinsics
from geo.crs import LocalFrame
from geo.errors import CalibrationError


class ProjectionStatus(str, enum.Enum):
    """Why a pixel does (or does not) have a ground point."""

    OK = "ok"
    ABOVE_HORIZON = "above_horizon"
    OUTSIDE_IMAGE = "outside_image"
    BEYOND_RANGE = "beyond_range"
    BEHIND_CAMERA = "behind_camera"


@dataclass
class GroundPoints:
    """Projected points, one per input pixel; ``lat``/``lon``/``east_m``/``north_m`` are NaN unless OK.

    ``east_m, north_m`` are offsets from ``origin`` (the camera's ground point, or the
    homography's control-point centre).
    """

    lat: np.ndarray
    lon: np.ndarray
    east_m: np.ndarray
    north_m: np.ndarray
    status: np.ndarray  # ProjectionStatus values ('ok', 'above_horizon', ...)

    @property
    def ok(self) -> np.ndarray:
        return np.asarray(self.status == ProjectionStatus.OK.value, dtype=bool)

    def __len__(self) -> int:
        return int(self.lat.shape[0])


@dataclass
class PixelPoints:
    """Ground → image: pixel coordinates (NaN unless ``status`` is OK)."""

    u_px: np.ndarray
    v_px: np.ndarray
    status: np.ndarray


def axes_from_angles(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Columns: the camera's right, down and forward unit vectors in an east-north-up frame."""
    psi, th, phi = math.radians(yaw_deg), math.radians(pitch_deg), math.radians(roll_deg)
    fwd = np.array([math.sin(psi) * math.cos(th), math.cos(psi) * math.cos(th), math.sin(th)])
    right0 = np.array([math.cos(psi), -math.sin(psi), 0.0])
    down0 = np.cross(fwd, right0)
    right = math.cos(phi) * right0 + math.sin(phi) * down0
    down = -math.sin(phi) * right0 + math.cos(phi) * down0
    return np.column_stack([right, down, fwd])


def body_rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Columns: a vehicle's right, forward and up axes in east-north-up (aerospace yaw/pitch/roll)."""
    a = axes_from_angles(yaw_deg, pitch_deg, roll_deg)
    return np.column_stack([a[:, 0], a[:, 2], -a[:, 1]])


def _finite(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise CalibrationError(f"{name} must be finite, got {value}")
    return value


@dataclass(frozen=True)
class PinholePose:
    """A pinhole camera at ``height_m`` above flat ground at ``lat, lon``.

    ``rotation`` maps camera-frame vectors (x right, y down, z forward) to east-north-up.
    Build with :meth:`fixed` (CCTV) or :func:`geo.aerial.aerial_pose` (drones).
    """

    lat: float
    lon: float
    height_m: float
    rotation: tuple  # 3x3 nested tuple (hashable, JSON-friendly)
    intrinsics: CameraIntrinsics

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and -90 <= self.lat <= 90 and math.isfinite(self.lon)
                and -180 <= self.lon <= 180):
            raise CalibrationError(f"camera position out of range: {self.lat}, {self.lon}")
        if not (math.isfinite(self.height_m) and self.height_m > 0):
            raise CalibrationError(f"height above ground must be > 0 m, got {self.height_m}")
        r = np.asarray(self.rotation, dtype=float)
        if r.shape != (3, 3) or not np.allclose(r.T @ r, np.eye(3), atol=1e-6):
            raise CalibrationError("rotation must be a 3x3 orthonormal matrix")

    @classmethod
    def from_angles(cls, *, lat: float, lon: float, height_m: float, yaw_deg: float, pitch_deg: float,
                    roll_deg: float = 0.0, intrinsics: CameraIntrinsics) -> PinholePose:
        r = axes_from_angles(_finite("yaw_deg", yaw_deg), _finite("pitch_deg", pitch_deg),
                             _finite("roll_deg", roll_deg))
        return cls(float(lat), float(lon), float(height_m), _as_tuple(r), intrinsics)

    @classmethod
    def fixed(cls, *, lat: float, lon: float, mount_height_m: float, heading_deg: float, tilt_deg: float,
              hfov_deg: float, width_px: int, height_px: int, roll_deg: float = 0.0) -> PinholePose:
        """A fixed CCTV camera: mounted ``mount_height_m`` up, looking ``tilt_deg`` below the horizon."""
        if not (-90.0 <= tilt_deg <= 90.0):
            raise CalibrationError(f"tilt_deg must be within [-90, 90], got {tilt_deg}")
        intr = CameraIntrinsics.from_hfov(hfov_deg=hfov_deg, width_px=width_px, height_px=height_px)
        return cls.from_angles(lat=lat, lon=lon, height_m=mount_height_m, yaw_deg=heading_deg,
                               pitch_deg=-tilt_deg, roll_deg=roll_deg, intrinsics=intr)

    @property
    def R(self) -> np.ndarray:
        return np.asarray(self.rotation, dtype=float)

    @property
    def frame(self) -> LocalFrame:
        return LocalFrame.tangent(self.lat, self.lon)

    def rays_enu(self, u_px, v_px) -> np.ndarray:
        """Viewing rays (N, 3) in east-north-up for pixels."""
        return self.intrinsics.rays_cam(u_px, v_px) @ self.R.T

    def pixel_to_ground(self, u_px, v_px, *, max_range_m: float | None = None,
                        check_image: bool = True) -> GroundPoints:
        """Ground points (lat/lon) where the pixels' rays meet the flat ground."""
        u = np.atleast_1d(np.asarray(u_px, dtype=float))
        v = np.atleast_1d(np.asarray(v_px, dtype=float))
        d = self.rays_enu(u, v)
        status = np.full(u.shape, ProjectionStatus.OK.value, dtype=object)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -self.height_m / d[:, 2]
        east = t * d[:, 0]
        north = t * d[:, 1]
        status[~(d[:, 2] < -1e-12)] = ProjectionStatus.ABOVE_HORIZON.value
        if max_range_m is not None:
            far = (status == ProjectionStatus.OK.value) & (np.hypot(east, north) > max_range_m)
            status[far] = ProjectionStatus.BEYOND_RANGE.value
        if check_image:
            status[~self.intrinsics.contains_px(u, v)] = ProjectionStatus.OUTSIDE_IMAGE.value
        return _ground_points(self.frame, east, north, status)

    def ground_to_pixel(self, lat, lon, *, ground_z_m: float = 0.0) -> PixelPoints:
        """Pixels where ground points (lat/lon, on the flat ground) appear."""
        east, north = self.frame.to_xy_m(np.atleast_1d(lat), np.atleast_1d(lon))
        return self.enu_to_pixel(east, north, np.full(np.shape(east), ground_z_m))

    def enu_to_pixel(self, east_m, north_m, up_m) -> PixelPoints:
        p = np.column_stack([np.atleast_1d(east_m), np.atleast_1d(north_m),
                             np.atleast_1d(up_m) - self.height_m])
        c = p @ self.R  # camera-frame coordinates (R^T p)
        status = np.full(c.shape[0], ProjectionStatus.OK.value, dtype=object)
        behind = c[:, 2] <= 1e-9
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.intrinsics.fx_px * c[:, 0] / c[:, 2] + self.intrinsics.cx_px
            v = self.intrinsics.fy_px * c[:, 1] / c[:, 2] + self.intrinsics.cy_px
        status[~self.intrinsics.contains_px(u, v)] = ProjectionStatus.OUTSIDE_IMAGE.value
        status[behind] = ProjectionStatus.BEHIND_CAMERA.value
        bad = status != ProjectionStatus.OK.value
        u[bad] = np.nan
        v[bad] = np.nan
        return PixelPoints(u, v, status)

    def to_dict(self) -> dict:
        return {"kind": "pinhole", "lat": self.lat, "lon": self.lon, "height_m": self.height_m,
                "rotation": [list(r) for r in self.rotation], "intrinsics": self.intrinsics.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> PinholePose:
        try:
            return cls(float(data["lat"]), float(data["lon"]), float(data["height_m"]),
                       _as_tuple(np.asarray(data["rotation"], dtype=float)),
                       CameraIntrinsics.from_dict(data["intrinsics"]))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, CalibrationError):
                raise
            raise CalibrationError(f"bad pinhole calibration record: {exc}") from exc


def _as_tuple(r: np.ndarray) -> tuple:
    return tuple(tuple(float(x) for x in row) for row in np.asarray(r))


def _ground_points(frame: LocalFrame, east: np.ndarray, north: np.ndarray, status: np.ndarray) -> GroundPoints:
    ok = np.asarray(status == ProjectionStatus.OK.value, dtype=bool)
    east = np.where(ok, east, np.nan)
    north = np.where(ok, north, np.nan)
    lat = np.full(east.shape, np.nan)
    lon = np.full(east.shape, np.nan)
    if ok.any():
        lat[ok], lon[ok] = frame.to_latlon(east[ok], north[ok])
    return GroundPoints(lat, lon, east, north, status)


@dataclass(frozen=True)
class PoleModel:
    """A camera whose current viewing direction is unknown (PTZ / rotating / 360° without
    reported pan/tilt): every pixel maps to the camera's own ground point, and the
    answer carries ``uncertainty_m`` (the camera's reach), instead of a made-up direction.
    """

    lat: float
    lon: float
    uncertainty_m: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and -90 <= self.lat <= 90 and math.isfinite(self.lon)
                and -180 <= self.lon <= 180):
            raise CalibrationError(f"camera position out of range: {self.lat}, {self.lon}")
        if not (math.isfinite(self.uncertainty_m) and self.uncertainty_m > 0):
            raise CalibrationError(f"uncertainty must be > 0 m, got {self.uncertainty_m}")

    def pixel_to_ground(self, u_px, v_px, *, max_range_m: float | None = None,
                        check_image: bool = True) -> GroundPoints:
        u = np.atleast_1d(np.asarray(u_px, dtype=float))
        n = u.shape[0]
        return GroundPoints(np.full(n, float(self.lat)), np.full(n, float(self.lon)), np.zeros(n), np.zeros(n),
                            np.full(n, ProjectionStatus.OK.value, dtype=object))


def box_to_ground_point(model, xyxy, **kwargs) -> GroundPoints:
    """Ground point of each detection box: the bottom centre (where an object meets the ground).

    ``xyxy``: (N, 4) array of ``x1, y1, x2, y2`` pixels. ``model``: anything with
    ``pixel_to_ground(u, v)`` (:class:`PinholePose`, :class:`~geo.homography.HomographyCalibration`).
    """
    b = np.atleast_2d(np.asarray(xyxy, dtype=float))
    if b.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4), got {b.shape}")
    u = (b[:, 0] + b[:, 2]) / 2.0
    v = np.maximum(b[:, 1], b[:, 3])
    return model.pixel_to_ground(u, v, **kwargs)


def pixel_polygon_to_ground(model, polygon_px, *, densify_px: float = 8.0, **kwargs) -> shapely.Geometry:
    """A box or mask outline (pixel Polygon, or (N, 2) vertices) → WGS84 ground polygon.

    The outline is densified first (a straight image edge is straight on flat ground only
    for an ideal pinhole; densifying also lets the horizon cut be found). Vertices that do
    not reach the ground are dropped; returns an empty Polygon when fewer than 3 remain.
    """
    poly = polygon_px if isinstance(polygon_px, shapely.Geometry) else shapely.Polygon(np.asarray(polygon_px))
    poly = shapely.segmentize(poly, densify_px)
    xy = shapely.get_coordinates(shapely.get_exterior_ring(poly))[:-1]
    pts = model.pixel_to_ground(xy[:, 0], xy[:, 1], check_image=False, **kwargs)
    ok = pts.ok
    if ok.sum() < 3:
        return shapely.Polygon()
    ground = shapely.Polygon(np.column_stack([pts.lon[ok], pts.lat[ok]]))
    if not ground.is_valid:
        ground = shapely.make_valid(ground)
    return ground
