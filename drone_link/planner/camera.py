"""Nadir camera model for survey planning: ground footprint and GSD at an altitude.

The planner flies the camera in *landscape* orientation (image width across the
flight direction, as QGroundControl's survey does by default), so the swath is
the footprint width and the trigger distance comes from the footprint height.

``geo.camera_model.CameraIntrinsics`` is the shared pinhole model (used for
pixel-to-ground projection); this one holds only what the planner needs, has a
name for presets, and converts both ways (:meth:`CameraModel.from_intrinsics`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drone_link.planner.errors import PlanningError
from geo.camera_model import CameraIntrinsics


@dataclass(frozen=True)
class CameraModel:
    """A pinhole camera pointing straight down.

    Example: ``CameraModel.from_sensor(name="P4RTK", sensor_width_mm=13.2,
    sensor_height_mm=8.8, focal_length_mm=8.8, image_width_px=5472, image_height_px=3648)``.
    """

    name: str
    hfov_deg: float
    vfov_deg: float
    image_width_px: int
    image_height_px: int

    def __post_init__(self) -> None:
        for label, fov in (("hfov_deg", self.hfov_deg), ("vfov_deg", self.vfov_deg)):
            if not 1.0 <= fov < 179.0:
                raise PlanningError(f"camera {self.name}: {label}={fov} is outside [1, 179)")
        if self.image_width_px <= 0 or self.image_height_px <= 0:
            raise PlanningError(f"camera {self.name}: image size must be positive")

    @classmethod
    def from_sensor(
        cls,
        *,
        name: str,
        sensor_width_mm: float,
        sensor_height_mm: float,
        focal_length_mm: float,
        image_width_px: int,
        image_height_px: int,
    ) -> CameraModel:
        if min(sensor_width_mm, sensor_height_mm, focal_length_mm) <= 0:
            raise PlanningError(f"camera {name}: sensor size and focal length must be positive")
        return cls(
            name=name,
            hfov_deg=math.degrees(2 * math.atan(sensor_width_mm / (2 * focal_length_mm))),
            vfov_deg=math.degrees(2 * math.atan(sensor_height_mm / (2 * focal_length_mm))),
            image_width_px=image_width_px,
            image_height_px=image_height_px,
        )

    @classmethod
    def from_hfov(cls, *, name: str, hfov_deg: float, image_width_px: int = 4000,
                  image_height_px: int = 3000) -> CameraModel:
        """HFOV only: VFOV follows from the image aspect ratio (square pixels)."""
        half = math.tan(math.radians(hfov_deg) / 2) * image_height_px / image_width_px
        return cls(name=name, hfov_deg=hfov_deg, vfov_deg=math.degrees(2 * math.atan(half)),
                   image_width_px=image_width_px, image_height_px=image_height_px)

    @classmethod
    def from_intrinsics(cls, intrinsics: CameraIntrinsics, *, name: str = "custom") -> CameraModel:
        """From :class:`geo.camera_model.CameraIntrinsics` (the shared pinhole model)."""
        return cls(name=name, hfov_deg=intrinsics.hfov_deg, vfov_deg=intrinsics.vfov_deg,
                   image_width_px=intrinsics.width_px, image_height_px=intrinsics.height_px)

    def to_intrinsics(self) -> CameraIntrinsics:
        """The same camera as :class:`geo.camera_model.CameraIntrinsics` (centred principal point)."""
        fx = (self.image_width_px / 2) / math.tan(math.radians(self.hfov_deg) / 2)
        fy = (self.image_height_px / 2) / math.tan(math.radians(self.vfov_deg) / 2)
        return CameraIntrinsics(self.image_width_px, self.image_height_px, fx, fy,
                                self.image_width_px / 2, self.image_height_px / 2)

    def footprint_m(self, alt_m: float) -> tuple[float, float]:
        """Ground footprint (width across track, height along track) in metres at ``alt_m`` AGL."""
        return (2 * alt_m * math.tan(math.radians(self.hfov_deg) / 2),
                2 * alt_m * math.tan(math.radians(self.vfov_deg) / 2))

    def gsd_cm_px(self, alt_m: float) -> float:
        """Ground sample distance (cm per pixel, across the image width) at ``alt_m`` AGL."""
        return 100.0 * self.footprint_m(alt_m)[0] / self.image_width_px

    def alt_for_gsd_m(self, gsd_cm_px: float) -> float:
        """Altitude AGL (m) that gives ``gsd_cm_px``."""
        if gsd_cm_px <= 0:
            raise PlanningError(f"target GSD must be positive, got {gsd_cm_px}")
        return gsd_cm_px / self.gsd_cm_px(1.0)


# Published figures (manufacturer spec sheets): sensor size, real focal length, image size.
CAMERA_PRESETS: dict[str, CameraModel] = {
    # DJI Mavic 3 Enterprise wide camera: 4/3" CMOS 17.3 x 13.0 mm, 12.29 mm (24 mm eq.), 5280x3956.
    "mavic3e-wide": CameraModel.from_sensor(
        name="mavic3e-wide", sensor_width_mm=17.3, sensor_height_mm=13.0, focal_length_mm=12.29,
        image_width_px=5280, image_height_px=3956),
    # DJI Matrice 30T wide camera: 1/2" CMOS (6.4 x 4.8 mm), 4.5 mm (24 mm eq.), 4000x3000.
    "m30t-wide": CameraModel.from_sensor(
        name="m30t-wide", sensor_width_mm=6.4, sensor_height_mm=4.8, focal_length_mm=4.5,
        image_width_px=4000, image_height_px=3000),
    # DJI Phantom 4 RTK: 1" CMOS 13.2 x 8.8 mm, 8.8 mm (24 mm eq.), 5472x3648.
    "p4rtk": CameraModel.from_sensor(
        name="p4rtk", sensor_width_mm=13.2, sensor_height_mm=8.8, focal_length_mm=8.8,
        image_width_px=5472, image_height_px=3648),
    # A generic 84 deg HFOV action/FPV-class camera, 4:3, 12 MP.
    "generic-84": CameraModel.from_hfov(name="generic-84", hfov_deg=84.0),
}


def camera_preset(name: str) -> CameraModel:
    """A built-in camera by name (case-insensitive); :class:`PlanningError` lists the choices."""
    try:
        return CAMERA_PRESETS[name.strip().lower()]
    except KeyError:
        raise PlanningError(
            f"unknown camera {name!r}; choose one of {', '.join(sorted(CAMERA_PRESETS))}"
        ) from None
