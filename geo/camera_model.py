"""Pinhole camera intrinsics shared by fixed-camera, aerial projection and the drone planner.

A :class:`CameraIntrinsics` describes the image (pixels) and the lens (focal length in
pixels, principal point). It can be made from a horizontal field of view or from a
focal length plus sensor size, and answers the planner's questions: the ground footprint
and ground sample distance (GSD) of a nadir camera at a given height above flat ground.

Pixel convention: ``u`` to the right, ``v`` down, origin at the top-left corner of the
top-left pixel, so the image centre of a 640×480 image is (320, 240).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geo.errors import CalibrationError


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics (no lens distortion).

    Attributes:
        width_px, height_px: image size in pixels.
        fx_px, fy_px: focal length in pixels along u and v.
        cx_px, cy_px: principal point in pixels.
    """

    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float

    def __post_init__(self) -> None:
        if not (self.width_px > 0 and self.height_px > 0):
            raise CalibrationError(f"image size must be positive, got {self.width_px}x{self.height_px}")
        if not (math.isfinite(self.fx_px) and math.isfinite(self.fy_px) and self.fx_px > 0 and self.fy_px > 0):
            raise CalibrationError(f"focal length must be positive and finite, got fx={self.fx_px}, fy={self.fy_px}")
        if not (math.isfinite(self.cx_px) and math.isfinite(self.cy_px)):
            raise CalibrationError("principal point must be finite")

    @classmethod
    def from_hfov(cls, *, hfov_deg: float, width_px: int, height_px: int) -> CameraIntrinsics:
        """Square pixels, principal point at the image centre, from the horizontal FOV."""
        if not (0.0 < hfov_deg < 180.0):
            raise CalibrationError(f"hfov_deg must be in (0, 180), got {hfov_deg}")
        f = (width_px / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(width_px, height_px, f, f, width_px / 2.0, height_px / 2.0)

    @classmethod
    def from_sensor(
        cls,
        *,
        focal_length_mm: float,
        sensor_width_mm: float,
        width_px: int,
        height_px: int,
        sensor_height_mm: float | None = None,
    ) -> CameraIntrinsics:
        """From lens focal length and sensor size (e.g. a drone camera's data sheet).

        ``sensor_height_mm`` defaults to square pixels (sensor_width × height/width).
        """
        if focal_length_mm <= 0 or sensor_width_mm <= 0:
            raise CalibrationError("focal_length_mm and sensor_width_mm must be positive")
        fx = focal_length_mm / sensor_width_mm * width_px
        if sensor_height_mm is None:
            fy = fx
        else:
            if sensor_height_mm <= 0:
                raise CalibrationError("sensor_height_mm must be positive")
            fy = focal_length_mm / sensor_height_mm * height_px
        return cls(width_px, height_px, fx, fy, width_px / 2.0, height_px / 2.0)

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view (through the principal point), degrees."""
        return math.degrees(math.atan(self.cx_px / self.fx_px) + math.atan((self.width_px - self.cx_px) / self.fx_px))

    @property
    def vfov_deg(self) -> float:
        """Vertical field of view, degrees."""
        return math.degrees(math.atan(self.cy_px / self.fy_px) + math.atan((self.height_px - self.cy_px) / self.fy_px))

    @property
    def matrix(self) -> np.ndarray:
        """The 3×3 camera matrix K."""
        return np.array([[self.fx_px, 0.0, self.cx_px], [0.0, self.fy_px, self.cy_px], [0.0, 0.0, 1.0]])

    def rays_cam(self, u_px, v_px) -> np.ndarray:
        """Unit-free viewing rays in the camera frame (x right, y down, z forward), shape (N, 3)."""
        u = np.atleast_1d(np.asarray(u_px, dtype=float))
        v = np.atleast_1d(np.asarray(v_px, dtype=float))
        return np.column_stack([(u - self.cx_px) / self.fx_px, (v - self.cy_px) / self.fy_px, np.ones_like(u)])

    def contains_px(self, u_px, v_px) -> np.ndarray:
        """True where the pixel coordinate lies inside the image (edges included)."""
        u = np.asarray(u_px, dtype=float)
        v = np.asarray(v_px, dtype=float)
        return (u >= 0) & (u <= self.width_px) & (v >= 0) & (v <= self.height_px)

    def nadir_footprint_m(self, alt_m: float) -> tuple[float, float]:
        """(width_m, height_m) of the ground rectangle a nadir camera sees from ``alt_m`` above flat ground.

        Width is along the image u axis, height along v.
        """
        if not alt_m > 0:
            raise CalibrationError(f"alt_m must be positive, got {alt_m}")
        return alt_m * self.width_px / self.fx_px, alt_m * self.height_px / self.fy_px

    def gsd_m(self, alt_m: float) -> float:
        """Ground sample distance (metres per pixel, the coarser axis) of a nadir camera at ``alt_m``."""
        if not alt_m > 0:
            raise CalibrationError(f"alt_m must be positive, got {alt_m}")
        return alt_m / min(self.fx_px, self.fy_px)

    def alt_for_gsd_m(self, gsd_m: float) -> float:
        """Height above ground (m) at which a nadir camera reaches ``gsd_m`` metres per pixel."""
        if not gsd_m > 0:
            raise CalibrationError(f"gsd_m must be positive, got {gsd_m}")
        return gsd_m * min(self.fx_px, self.fy_px)

    def to_dict(self) -> dict:
        return {
            "width_px": self.width_px,
            "height_px": self.height_px,
            "fx_px": self.fx_px,
            "fy_px": self.fy_px,
            "cx_px": self.cx_px,
            "cy_px": self.cy_px,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CameraIntrinsics:
        try:
            return cls(
                int(data["width_px"]),
                int(data["height_px"]),
                float(data["fx_px"]),
                float(data["fy_px"]),
                float(data["cx_px"]),
                float(data["cy_px"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"bad intrinsics record: {exc}") from exc
