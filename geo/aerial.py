"""Aerial (drone) camera projection: pose from telemetry, pixel → ground, image footprint.

The camera pose is the vehicle attitude (yaw clockwise from north, pitch nose-up,
roll right-wing-down) composed with the gimbal (yaw relative to the nose, pitch with
-90° = straight down). For a stabilised gimbal that reports absolute angles (most DJI
and PX4 gimbals), pass ``pitch_deg = roll_deg = 0`` and the gimbal's absolute yaw as
``yaw_deg`` with ``gimbal_yaw_deg = 0``.

Flat ground at ``alt_agl_m`` below the camera is assumed (see docs/geo.md): use the
height above the ground under the drone, not above home, where terrain differs.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from geo.camera_model import CameraIntrinsics
from geo.errors import CalibrationError
from geo.projection import PinholePose, _as_tuple, axes_from_angles, body_rotation


def aerial_pose(*, lat: float, lon: float, alt_agl_m: float, yaw_deg: float, pitch_deg: float = 0.0,
                roll_deg: float = 0.0, gimbal_pitch_deg: float = -90.0, gimbal_yaw_deg: float = 0.0,
                intrinsics: CameraIntrinsics) -> PinholePose:
    """The camera pose of a drone camera.

    Args:
        lat, lon: drone position (WGS84 degrees).
        alt_agl_m: camera height above the (flat) ground, metres.
        yaw_deg, pitch_deg, roll_deg: vehicle attitude, degrees.
        gimbal_pitch_deg: camera pitch relative to the body (-90 = nadir, 0 = forward).
        gimbal_yaw_deg: camera yaw relative to the nose, clockwise.
        intrinsics: camera intrinsics.
    """
    for name, val in (("yaw_deg", yaw_deg), ("pitch_deg", pitch_deg), ("roll_deg", roll_deg),
                      ("gimbal_pitch_deg", gimbal_pitch_deg), ("gimbal_yaw_deg", gimbal_yaw_deg),
                      ("alt_agl_m", alt_agl_m)):
        if not math.isfinite(float(val)):
            raise CalibrationError(f"{name} must be finite, got {val}")
    body = body_rotation(yaw_deg, pitch_deg, roll_deg)  # columns: right, forward, up in ENU
    cam_in_body = axes_from_angles(gimbal_yaw_deg, gimbal_pitch_deg, 0.0)  # in (right, forward, up) coords
    return PinholePose(float(lat), float(lon), float(alt_agl_m), _as_tuple(body @ cam_in_body), intrinsics)


def image_footprint(pose: PinholePose, *, max_range_m: float | None = None, min_depression_deg: float = 1.0,
                    samples_per_edge: int = 32) -> shapely.Polygon:
    """The ground area seen by the whole image, as a WGS84 polygon.

    The image border is sampled (``samples_per_edge`` points per edge) and each ray is
    intersected with the flat ground. Rays closer than ``min_depression_deg`` to the
    horizon, or reaching beyond ``max_range_m`` (default 20 × height), are pulled down to
    that limit along their own azimuth, so a view that includes the sky is clipped to a
    finite far edge instead of running to infinity. Returns an empty Polygon when the
    whole image is above the limit.
    """
    intr = pose.intrinsics
    if max_range_m is None:
        max_range_m = 20.0 * pose.height_m
    if max_range_m <= 0:
        raise CalibrationError(f"max_range_m must be > 0, got {max_range_m}")
    w, h = float(intr.width_px), float(intr.height_px)
    t = np.linspace(0.0, 1.0, samples_per_edge, endpoint=False)
    u = np.concatenate([t * w, np.full_like(t, w), (1 - t) * w, np.zeros_like(t)])
    v = np.concatenate([np.zeros_like(t), t * h, np.full_like(t, h), (1 - t) * h])
    d = pose.rays_enu(u, v)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    # Steepest allowed-below-limit: depression >= max(min_depression, atan(h / max_range)).
    limit = max(math.radians(min_depression_deg), math.atan2(pose.height_m, max_range_m))
    depression = np.arcsin(np.clip(-d[:, 2], -1.0, 1.0))
    below = depression >= limit
    if not below.any():
        return shapely.Polygon()
    horiz = np.hypot(d[:, 0], d[:, 1])
    az = np.arctan2(d[:, 0], d[:, 1])
    dist = np.where(below, pose.height_m * horiz / np.maximum(-d[:, 2], 1e-12), pose.height_m / math.tan(limit))
    east = dist * np.sin(az)
    north = dist * np.cos(az)
    # Straight-down rays have no azimuth; their horizontal offset is ~0 either way.
    lat, lon = pose.frame.to_latlon(east, north)
    poly = shapely.Polygon(np.column_stack([lon, lat]))
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
        polys = [g for g in shapely.get_parts(poly) if isinstance(g, shapely.Polygon)]
        poly = max(polys, key=lambda g: g.area) if polys else shapely.Polygon()
    return poly


def nadir_footprint_m(intrinsics: CameraIntrinsics, alt_agl_m: float) -> tuple[float, float]:
    """(width_m, height_m) of a nadir image on flat ground; see :meth:`CameraIntrinsics.nadir_footprint_m`."""
    return intrinsics.nadir_footprint_m(alt_agl_m)

