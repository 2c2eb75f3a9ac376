"""Drone video through the same detectors: aerial frames + telemetry → incidents.

Each frame comes with the drone pose at capture time (from MAVLink telemetry, or a
flight log such as DJI's per-frame ``.SRT``; see ``drone_link.telemetry``). Detections
are geo-referenced with ``geo.aerial`` (flat ground at the drone's height above ground)
and fused into the same incidents as the CCTV detections, with ``source_kind = "drone"``.
A moving camera always shows motion, so the motion gate is off here; N-of-M
confirmation still applies (a hazard must persist over several frames of the pass).
A confirmed hazard is reported when raised and then at most every ``report_interval_s``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy.engine import Engine

from disaster_ops.config import get_settings
from disaster_ops.detect import CameraDetectConfig, Detector, MotionConfig, create_detector
from disaster_ops.detect.pipeline import MultiCameraRunner
from disaster_ops.detect.tiling import SlicedDetector
from disaster_ops.services import incidents as incident_svc
from disaster_ops.services.incidents import IngestResult
from disaster_ops.services.projection import to_ground
from disaster_ops.services.roles import Principal
from disaster_ops.services.snapshots import safe_stem, write_snapshot
from drone_link.telemetry.pose import DronePose
from geo.aerial import aerial_pose
from geo.camera_model import CameraIntrinsics
from geo.projection import PinholePose

logger = logging.getLogger(__name__)

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
                 max_range_factor: float = 10.0, report_interval_s: float = 5.0, slice_grid: int = 3) -> None:
        self.drone_name = drone_name
        self.intrinsics = intrinsics
        self.hfov_deg = hfov_deg
        base = detector or create_detector()
        self.detector = SlicedDetector(base, grid=slice_grid) if slice_grid > 1 else base
        self.engine = engine
        cfg = config or CameraDetectConfig(motion=MotionConfig(enabled=False))
        self.runner = MultiCameraRunner(self.detector, {drone_name: cfg})
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

    def process(self, frame: AerialFrame) -> list[IngestResult]:
        """Detect in one frame; report confirmed hazards as drone detections."""
        [res] = self.runner.process({self.drone_name: (frame.image, frame.captured_at.timestamp())})
        if res.detections is None or res.confirm is None or not res.confirm.active:
            return []
        now = time.monotonic()
        kinds = {k for k in res.confirm.active
                 if k in res.confirm.raised or now - self._last_report.get(k, -1e9) >= self.report_interval_s}
        kinds &= res.detections.kinds()
        if not kinds:
            return []
        for k in kinds:
            self._last_report[k] = now
        p = frame.pose
        model = self.camera_model(p, frame.image)
        img = frame.image.copy()
        for (x1, y1, x2, y2), k in zip(res.detections.xyxy.astype(int), res.detections.kind):
            if k in kinds:
                cv2.rectangle(img, (x1, y1), (x2, y2), (0, 0, 255), 2)
                cv2.putText(img, str(k), (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
        snap = write_snapshot(self.snapshot_dir,
                              safe_stem("drone", None, self.drone_name, frame.captured_at, frame.index),
                              img, who=self.drone_name)
        if snap is None:
            self.snapshot_failures += 1
        ground = to_ground(model, res.detections, kinds=kinds, source_kind="drone", source_id=self.drone_name,
                           observed_at=frame.captured_at, max_range_m=self.max_range_factor * p.alt_agl_m,
                           fallback_latlon=None, snapshot_path=snap, box_point="center")
        results = incident_svc.ingest(ground, engine=self.engine, principal=self.principal)
        label = ",".join(sorted(kinds))
        for r in results:
            # Once per hazard and incident at INFO; repeats every report interval at DEBUG.
            seen = (label, r.incident_id) in self._logged
            logger.log(logging.DEBUG if seen else logging.INFO, "%s: %s → incident %d%s", self.drone_name, label,
                       r.incident_id, " (new)" if r.created else "")
            self._logged.add((label, r.incident_id))
        return results
