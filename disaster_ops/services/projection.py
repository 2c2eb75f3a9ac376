"""From a camera row to a pixel→ground model, and from detections to ground detections."""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime

import numpy as np

from disaster_ops.detect.records import Detections
from disaster_ops.incidents.fusion import GroundDetection
from disaster_ops.storage.models import Camera
from geo.box_ground import box_ground_feet
from geo.crs import LocalFrame
from geo.homography import calibration_from_json
from geo.projection import PinholePose, PoleModel, box_to_ground_point, pixel_polygon_to_ground

logger = logging.getLogger(__name__)
PTZ_LENS_HFOV_DEG = 60.0  # lens of a PTZ camera whose pan/tilt is known but not its zoom


def is_direction_unknown(cam: Camera) -> bool:
    """A rotating / PTZ / 360° camera (coverage fov >= 180°): where it looks now is unknown."""
    return cam.fov_deg >= 180.0


def camera_model(cam: Camera, *, width_px: int, height_px: int, pan_deg: float | None = None,
                 tilt_deg: float | None = None):
    """The pixel→ground model of a camera.

    1. its stored calibration (``cameras calibrate``);
    2. a PTZ / 360° camera whose current ``pan_deg`` / ``tilt_deg`` are known (reported by
       the camera, e.g. ONVIF PTZ GetStatus): a pinhole pose looking that way;
    3. a PTZ / 360° camera otherwise: :class:`~geo.projection.PoleModel`, the detection at
       the pole with the camera's reach as its uncertainty (never a made-up direction);
    4. a fixed camera: a pinhole pose from its registry heading, tilt and mount height.
    """
    if cam.calibration:
        return calibration_from_json(cam.calibration)
    if is_direction_unknown(cam):
        if pan_deg is None or tilt_deg is None:
            return PoleModel(cam.lat, cam.lon, float(cam.range_m))
        return PinholePose.fixed(lat=cam.lat, lon=cam.lon, mount_height_m=cam.mount_height_m,
                                 heading_deg=pan_deg % 360.0, tilt_deg=tilt_deg,
                                 hfov_deg=cam.image_hfov_deg or PTZ_LENS_HFOV_DEG,
                                 width_px=width_px, height_px=height_px)
    hfov = cam.image_hfov_deg or cam.fov_deg
    return PinholePose.fixed(lat=cam.lat, lon=cam.lon, mount_height_m=cam.mount_height_m,
                             heading_deg=cam.heading_deg, tilt_deg=cam.tilt_deg, hfov_deg=hfov,
                             width_px=width_px, height_px=height_px)


def fallback_point(cam: Camera) -> tuple[float, float]:
    """Where to put a hazard whose box does not reach the ground (smoke in the sky):
    half the camera's range along its heading (the pole itself for a PTZ / 360° camera).
    Marked approximate by its footprint-less record."""
    if is_direction_unknown(cam):
        return float(cam.lat), float(cam.lon)
    f = LocalFrame.around(cam.lat, cam.lon)
    x, y = f.to_xy_m(cam.lat, cam.lon)
    d = cam.range_m / 2.0
    h = math.radians(cam.heading_deg)
    lat, lon = f.to_latlon(x + d * math.sin(h), y + d * math.cos(h))
    return float(lat), float(lon)


def to_ground(model, dets: Detections, *, kinds: set[str], source_kind: str, source_id: str,
              observed_at: datetime, max_range_m: float, fallback_latlon: tuple[float, float] | None,
              snapshot_path: str | None = None, box_point: str = "bottom") -> list[GroundDetection]:
    """Project the detections of the given kinds to the ground with any pixel→ground
    ``model`` (fixed pinhole, homography, or an aerial pose). A box whose bottom does not
    reach the ground (smoke against the sky) is placed at ``fallback_latlon``, or dropped
    when that is None (a drone never guesses a position).

    ``box_point``: ``"bottom"`` (bottom centre: where an upright object seen from the
    side meets the ground; CCTV), ``"foot"`` (the centre of the base of an upright column
    for any view, with the base's ground extent as ``uncertainty_m``; drones, see
    ``geo.box_ground``; from the column's scored cells where the detector gave them in
    ``data["cells"]``, else from the box) or ``"center"`` (the box centre)."""
    keep = np.array([k in kinds for k in dets.kind], dtype=bool)
    if not keep.any():
        return []
    sel = dets[keep]
    unc = np.full(len(sel), np.nan)
    if box_point == "foot":
        feet = box_ground_feet(model, sel.xyxy, max_range_m=max_range_m, cells=sel.data.get("cells"))
        pts, unc = feet.ground, feet.uncertainty_m
    elif box_point == "center":
        b = np.atleast_2d(sel.xyxy).astype(float)
        pts = model.pixel_to_ground((b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0, max_range_m=max_range_m)
    elif box_point == "bottom":
        pts = box_to_ground_point(model, sel.xyxy, max_range_m=max_range_m)
    else:
        raise ValueError(f"box_point must be 'bottom', 'foot' or 'center', got {box_point!r}")
    at_pole = isinstance(model, PoleModel)
    out = []
    for i in range(len(sel)):
        if not pts.ok[i] and fallback_latlon is None:
            continue
        lat, lon = (float(pts.lat[i]), float(pts.lon[i])) if pts.ok[i] else fallback_latlon
        footprint = None
        poly = sel.polygons[i]
        if poly is not None and len(poly) >= 3 and not at_pole:
            g = pixel_polygon_to_ground(model, np.asarray(poly, dtype=float))
            footprint = None if g.is_empty else g
        out.append(GroundDetection(
            source_kind=source_kind, source_id=source_id, observed_at=observed_at,
            kind=str(sel.kind[i]), confidence=float(sel.confidence[i]),
            bbox_px=tuple(float(v) for v in sel.xyxy[i]), ground_lat=lat, ground_lon=lon,
            footprint_wgs84=footprint, snapshot_path=snapshot_path,
            uncertainty_m=model.uncertainty_m if at_pole else (float(unc[i]) if np.isfinite(unc[i]) else None)))
    return out


def camera_to_ground(cam: Camera, dets: Detections, *, kinds: set[str], observed_at: datetime,
                     width_px: int, height_px: int, snapshot_path: str | None = None,
                     model=None) -> list[GroundDetection]:
    """Fixed CCTV: project with the camera's calibration or registry pose."""
    model = model or camera_model(cam, width_px=width_px, height_px=height_px)
    return to_ground(model, dets, kinds=kinds, source_kind="cctv", source_id=cam.source_key,
                     observed_at=observed_at, max_range_m=max(cam.range_m * 3, 300.0),
                     fallback_latlon=fallback_point(cam), snapshot_path=snapshot_path)


def detect_config_json(cfg) -> str:
    return json.dumps(cfg.model_dump(mode="json"))
