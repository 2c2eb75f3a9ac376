"""Drone video through the same detectors: aerial frames + telemetry → incidents.

Each frame comes with the drone pose at capture time (from MAVLink telemetry, or a
flight log such as DJI's per-frame ``.SRT``). Detections are geo-referenced with
``geo.aerial`` (flat ground at the drone's height above ground) and fused into the
same incidents as the CCTV detections, with ``source_kind = "drone"``. A moving camera
always shows motion, so the motion gate is off here; N-of-M confirmation still applies
(a hazard must persist over several frames of the pass).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy.engine import Engine

from disaster_ops.config import get_settings
from disaster_ops.detect import CameraDetectConfig, Detector, MotionConfig, create_detector
from disaster_ops.detect.pipeline import MultiCameraRunner
from disaster_ops.services import incidents as incident_svc
from disaster_ops.services.incidents import IngestResult
from disaster_ops.services.projection import to_ground
from disaster_ops.services.roles import Principal
from geo.aerial import aerial_pose
from geo.camera_model import CameraIntrinsics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DronePose:
    """Drone camera pose at one instant (degrees, metres; heights above the ground below)."""

    lat: float
    lon: float
    alt_agl_m: float
    yaw_deg: float
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    gimbal_pitch_deg: float = -90.0
    gimbal_yaw_deg: float = 0.0


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
                 max_range_factor: float = 10.0) -> None:
        self.drone_name = drone_name
        self.intrinsics = intrinsics
        self.hfov_deg = hfov_deg
        self.detector = detector or create_detector()
        self.engine = engine
        cfg = config or CameraDetectConfig(motion=MotionConfig(enabled=False))
        self.runner = MultiCameraRunner(self.detector, {drone_name: cfg})
        self.snapshot_dir = snapshot_dir or (get_settings().data_dir / "snapshots")
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        self.max_range_factor = max_range_factor

    def _intrinsics_for(self, image: np.ndarray) -> CameraIntrinsics:
        h, w = image.shape[:2]
        if self.intrinsics is not None and (self.intrinsics.width_px, self.intrinsics.height_px) == (w, h):
            return self.intrinsics
        return CameraIntrinsics.from_hfov(hfov_deg=self.hfov_deg, width_px=w, height_px=h)

    def process(self, frame: AerialFrame) -> list[IngestResult]:
        """Detect in one frame; report confirmed hazards as drone detections."""
        [res] = self.runner.process({self.drone_name: (frame.image, frame.captured_at.timestamp())})
        if res.detections is None or res.confirm is None or not res.confirm.active:
            return []
        kinds = set(res.confirm.active) & res.detections.kinds()
        if not kinds:
            return []
        p = frame.pose
        model = aerial_pose(lat=p.lat, lon=p.lon, alt_agl_m=p.alt_agl_m, yaw_deg=p.yaw_deg, pitch_deg=p.pitch_deg,
                            roll_deg=p.roll_deg, gimbal_pitch_deg=p.gimbal_pitch_deg,
                            gimbal_yaw_deg=p.gimbal_yaw_deg, intrinsics=self._intrinsics_for(frame.image))
        snap = self.snapshot_dir / f"drone_{self.drone_name}_{frame.captured_at:%Y%m%dT%H%M%S}_{frame.index}.jpg"
        cv2.imwrite(str(snap), frame.image)
        ground = to_ground(model, res.detections, kinds=kinds, source_kind="drone", source_id=self.drone_name,
                           observed_at=frame.captured_at, max_range_m=self.max_range_factor * p.alt_agl_m,
                           fallback_latlon=(p.lat, p.lon), snapshot_path=str(snap))
        results = incident_svc.ingest(ground, engine=self.engine, principal=Principal.system(f"drone:{self.drone_name}"))
        for r in results:
            logger.info("%s: %s → incident %d%s", self.drone_name, ",".join(sorted(kinds)), r.incident_id,
                        " (new)" if r.created else "")
        return results
