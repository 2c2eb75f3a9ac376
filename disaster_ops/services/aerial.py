"""Drone video through the same detectors: aerial frames + telemetry → incidents.

Each frame comes with the drone pose at capture time (from MAVLink telemetry, or a
flight log such as DJI's per-frame ``.SRT``; see ``drone_link.telemetry``). Detections
are geo-referenced with ``geo.aerial`` (flat ground at the drone's height above ground)
and fused into the same incidents as the CCTV detections, with ``source_kind = "drone"``.
A moving camera always shows motion, so the motion gate is off here; N-of-M
confirmation still applies, per kind and, for fire and smoke, per place on the ground
(``place_confirm``: a one-frame false box next to a confirmed fire is not reported).
Parts of one flame column (base and tips) are merged (``detect.stacking``) and each
column is placed where it stands (``geo.box_ground``: the foot, not the box centre),
from the detector's scored cells of the column where it gives them (HazardNet on tiles:
``detect.tiling``), else from the box.
A confirmed hazard is reported when raised and then at most every ``report_interval_s``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy.engine import Engine

from disaster_ops.config import get_settings
from disaster_ops.detect import CameraDetectConfig, Detector, MotionConfig, create_detector
from disaster_ops.detect.pipeline import MultiCameraRunner
from disaster_ops.detect.stacking import COLUMN_KINDS, merge_columns
from disaster_ops.detect.tiling import SlicedDetector
from disaster_ops.incidents.fusion import GroundDetection
from disaster_ops.services import incidents as incident_svc
from disaster_ops.services.incidents import IngestResult
from disaster_ops.services.place_confirm import PlaceConfirmer, PlacedSighting
from disaster_ops.services.projection import to_ground
from disaster_ops.services.roles import Principal
from disaster_ops.services.snapshots import safe_stem, write_snapshot
from drone_link.telemetry.pose import DronePose
from geo.aerial import aerial_pose, image_footprint
from geo.camera_model import CameraIntrinsics
from geo.projection import PinholePose

logger = logging.getLogger(__name__)
# Kinds detected on the overlapping tiles (the rest on the whole frame). Flood too: on the
# whole oblique frame the CCTV-trained scene gate reads a wide view of ground as water;
# on real aerial photos tiles and the whole frame find the same floods
# (benchmarks/aerial_validation.py --flood-data).
TILE_KINDS = ("fire", "flood")

__all__ = ["AerialDetector", "AerialFrame", "DronePose"]


@dataclass(frozen=True)
class AerialFrame:
    image: np.ndarray  # BGR
    captured_at: datetime  # UTC, aware
    pose: DronePose
    index: int = 0


class AerialDetector:
    """Runs the shared detector on one drone's frames and feeds incidents."""

    def __init__(self, drone_name: str, intrinsics: CameraIntrinsics | None = None, *,
                 hfov_deg: float = 84.0, detector: Detector | None = None, engine: Engine | None = None,
                 config: CameraDetectConfig | None = None, snapshot_dir: Path | None = None,
                 max_range_factor: float = 10.0, report_interval_s: float = 5.0, slice_grid: int = 3,
                 tile_kinds: tuple[str, ...] = TILE_KINDS, place_radius_m: float = 10.0) -> None:
        self.drone_name = drone_name
        self.intrinsics = intrinsics
        self.hfov_deg = hfov_deg
        base = detector or create_detector()
        self.detector = SlicedDetector(base, grid=slice_grid, tile_kinds=tile_kinds) if slice_grid > 1 else base
        self.engine = engine
        cfg = config or CameraDetectConfig(motion=MotionConfig(enabled=False))
        self.runner = MultiCameraRunner(self.detector, {drone_name: cfg})
        self.places = PlaceConfirmer(required=cfg.confirm.required, window=cfg.confirm.window,
                                     radius_m=place_radius_m)
        self.snapshot_dir = snapshot_dir or (get_settings().data_dir / "snapshots")
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        self.max_range_factor = max_range_factor
        self.report_interval_s = report_interval_s
        self._last_report: dict[str, float] = {}
        self.principal = Principal.system(f"drone:{drone_name}")
        self.snapshot_failures = 0
        self._logged: set[tuple[str, int]] = set()  # (kinds, incident) already logged at INFO

    def intrinsics_for(self, image: np.ndarray) -> CameraIntrinsics:
        h, w = image.shape[:2]
        if self.intrinsics is not None and (self.intrinsics.width_px, self.intrinsics.height_px) == (w, h):
            return self.intrinsics
        return CameraIntrinsics.from_hfov(hfov_deg=self.hfov_deg, width_px=w, height_px=h)

    def camera_model(self, pose: DronePose, image: np.ndarray) -> PinholePose:
        p = pose
        return aerial_pose(lat=p.lat, lon=p.lon, alt_agl_m=p.alt_agl_m, yaw_deg=p.yaw_deg, pitch_deg=p.pitch_deg,
                           roll_deg=p.roll_deg, gimbal_pitch_deg=p.gimbal_pitch_deg,
                           gimbal_yaw_deg=p.gimbal_yaw_deg, intrinsics=self.intrinsics_for(image))

    def _ground(self, model: PinholePose, dets, frame: AerialFrame, *, kinds: set[str],
                snapshot_path: str | None) -> list[GroundDetection]:
        """Fire/smoke at the foot of their column, flood (an area) at the box centre."""
        common = {"source_kind": "drone", "source_id": self.drone_name, "observed_at": frame.captured_at,
                  "max_range_m": self.max_range_factor * frame.pose.alt_agl_m, "fallback_latlon": None,
                  "snapshot_path": snapshot_path}
        return (to_ground(model, dets, kinds=kinds & set(COLUMN_KINDS), box_point="foot", **common)
                + to_ground(model, dets, kinds=kinds - set(COLUMN_KINDS), box_point="center", **common))

    def process(self, frame: AerialFrame) -> list[IngestResult]:
        """Detect in one frame; report hazards confirmed for their kind and, for fire and
        smoke, at their place on the ground, as drone detections."""
        [res] = self.runner.process({self.drone_name: (frame.image, frame.captured_at.timestamp())})
        if res.detections is None:
            return []
        model = self.camera_model(frame.pose, frame.image)
        dets = merge_columns(res.detections, model)
        # Every sampled frame votes for the places it saw (an empty frame too).
        placed = self._ground(model, dets, frame, kinds=set(COLUMN_KINDS), snapshot_path=None)
        try:
            footprint = image_footprint(model, max_range_m=self.max_range_factor * frame.pose.alt_agl_m)
        except Exception:  # noqa: BLE001 (a degenerate pose: the frame then counts as looking everywhere)
            footprint = None
        votes = self.places.update([PlacedSighting(g.kind, g.ground_lat, g.ground_lon, g.uncertainty_m or 0.0)
                                    for g in placed], footprint)
        confirmed_places = [g for g, ok in zip(placed, votes) if ok]
        logger.debug("%s: %.0f m up, boxes %s %s, merged %s, placed %s, confirmed %s", self.drone_name,
                     frame.pose.alt_agl_m, res.detections.xyxy.astype(int).tolist(), list(res.detections.kind), dets.xyxy.astype(int).tolist(),
                     [(g.kind, round(g.ground_lat, 6), round(g.ground_lon, 6)) for g in placed], votes)
        # Fire and smoke: confirmed per place (frames that looked there); area kinds (flood):
        # the shared N-of-M per kind.
        active = {g.kind for g in confirmed_places}
        if res.confirm is not None:
            active |= {k for k in res.confirm.active if k not in COLUMN_KINDS}
        raised = set(res.confirm.raised) if res.confirm is not None else set()
        now = time.monotonic()
        kinds = {k for k in active
                 if k in raised or k not in self._last_report
                 or now - self._last_report[k] >= self.report_interval_s}
        kinds &= dets.kinds()
        if not kinds:
            return []
        for k in kinds:
            self._last_report[k] = now
        img = frame.image.copy()
        for (x1, y1, x2, y2), k in zip(dets.xyxy.astype(int), dets.kind):
            if k in kinds:
                cv2.rectangle(img, (x1, y1), (x2, y2), (0, 0, 255), 2)
                cv2.putText(img, str(k), (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
        snap = write_snapshot(self.snapshot_dir,
                              safe_stem("drone", None, self.drone_name, frame.captured_at, frame.index),
                              img, who=self.drone_name)
        if snap is None:
            self.snapshot_failures += 1
        ground = [replace(g, snapshot_path=snap) for g in confirmed_places if g.kind in kinds]
        ground += self._ground(model, dets, frame, kinds=kinds - set(COLUMN_KINDS), snapshot_path=snap)
        results = incident_svc.ingest(ground, engine=self.engine, principal=self.principal)
        label = ",".join(sorted(kinds))
        for r in results:
            # Once per hazard and incident at INFO; repeats every report interval at DEBUG.
            seen = (label, r.incident_id) in self._logged
            logger.log(logging.DEBUG if seen else logging.INFO, "%s: %s → incident %d%s", self.drone_name, label,
                       r.incident_id, " (new)" if r.created else "")
            self._logged.add((label, r.incident_id))
        return results
