"""Flood on fixed cameras: share of a ground region that turned to water since a dry
reference frame.

A fixed camera sees the same ground every day. With one reference frame taken in dry
weather and a ground region of interest (road, car park, field; pixel polygon), the
flood measure is the share of that region where the model sees water now but did not
in the reference. Permanent water (a river in view) is thereby ignored. The new-water
mask becomes the detection's polygon.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from disaster_ops.detect.backends.hazardnet import HazardNetDetector
from disaster_ops.detect.errors import ConfigError
from disaster_ops.detect.frames import to_bgr
from disaster_ops.detect.masks import polygon_mask
from disaster_ops.detect.records import Detections


@dataclass(frozen=True)
class FloodAssessment:
    """Result of one frame: share of the ROI newly under water and the detection (if any)."""

    roi_water_share: float
    reference_water_share: float
    new_water_mask: np.ndarray  # bool (gh, gw) cell grid
    detections: Detections


class FloodReferenceMonitor:
    """Per-camera flood measure against a dry reference frame inside a ground ROI."""

    def __init__(
        self,
        detector: HazardNetDetector,
        reference_bgr: np.ndarray,
        *,
        ground_roi: list[list[tuple[float, float]]] | None = None,
        water_prob: float = 0.5,
        min_roi_share: float = 0.1,
    ) -> None:
        if "flood" not in detector.kinds:
            raise ConfigError("the detector has no flood output")
        if not 0.0 < min_roi_share <= 1.0:
            raise ConfigError(f"min_roi_share must be in (0, 1], got {min_roi_share}")
        self.detector = detector
        self.channel = detector.kinds.index("flood")
        self.water_prob = water_prob
        self.min_roi_share = min_roi_share
        ref = to_bgr(reference_bgr, source="reference")
        self.frame_wh = (ref.shape[1], ref.shape[0])
        ref_water = detector.probability_maps([ref])[0][self.channel]
        self.grid_wh = (ref_water.shape[1], ref_water.shape[0])
        self.roi_cells = (
            polygon_mask(ground_roi, self.frame_wh, grid_wh=self.grid_wh) if ground_roi else np.ones(ref_water.shape, bool)
        )
        if not self.roi_cells.any():
            raise ConfigError("ground ROI covers no model cell; draw a larger polygon")
        self.reference_water = ref_water >= water_prob

    def assess(self, frame: np.ndarray) -> FloodAssessment:
        frame = to_bgr(frame, source="frame")
        if (frame.shape[1], frame.shape[0]) != self.frame_wh:
            frame = cv2.resize(frame, self.frame_wh, interpolation=cv2.INTER_AREA)
        prob = self.detector.probability_maps([frame])[0][self.channel]
        new = (prob >= self.water_prob) & ~self.reference_water & self.roi_cells
        n_roi = int(self.roi_cells.sum())
        share = float(new.sum() / n_roi)
        ref_share = float((self.reference_water & self.roi_cells).sum() / n_roi)
        dets = Detections.empty()
        if share >= self.min_roi_share:
            w, h = self.frame_wh
            gw, gh = self.grid_wh
            sx, sy = w / gw, h / gh
            ys, xs = np.nonzero(new)
            box = [xs.min() * sx, ys.min() * sy, (xs.max() + 1) * sx, (ys.max() + 1) * sy]
            contours, _ = cv2.findContours(new.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            c = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float32)
            poly = np.stack([(c[:, 0] + 0.5) * sx, (c[:, 1] + 0.5) * sy], axis=1)
            conf = float(prob[new].mean())
            dets = Detections(np.array([box], np.float32), np.array([conf], np.float32), np.array(["flood"], object), (poly,), np.array([share], np.float32))
        return FloodAssessment(share, ref_share, new, dets)
