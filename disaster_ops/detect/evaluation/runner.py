"""Run a detector over evaluation samples and compute per-kind figures."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from disaster_ops.detect.base import Detector
from disaster_ops.detect.config import CameraDetectConfig
from disaster_ops.detect.errors import FrameError
from disaster_ops.detect.evaluation.datasets import EvalSample
from disaster_ops.detect.evaluation.metrics import KindMetrics, average_precision_50
from disaster_ops.detect.frames import read_image

logger = logging.getLogger(__name__)

AP_THRESHOLD_FACTOR = 0.5  # AP also sees regions scored down to half the default threshold


@dataclass
class EvalReport:
    """Per-kind metrics plus what was evaluated."""

    kinds: dict[str, KindMetrics]
    images: int
    normals: int
    false_alarm_images: int
    groups: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarm_images / self.normals if self.normals else 0.0

    def as_dict(self) -> dict:
        return {
            "images": self.images,
            "normal_images": self.normals,
            "false_alarm_rate": round(self.false_alarm_rate, 4),
            "groups": self.groups,
            "kinds": {k: m.as_dict() for k, m in self.kinds.items()},
            "unreadable": self.unreadable,
            "seconds": round(self.seconds, 1),
        }


def _load(sample: EvalSample) -> np.ndarray:
    img = read_image(sample.path)
    if sample.crop_xyxy is not None:
        x1, y1, x2, y2 = sample.crop_xyxy
        img = np.ascontiguousarray(img[y1:y2, x1:x2])
    return img


def evaluate(
    detector: Detector,
    samples: list[EvalSample],
    *,
    kinds: tuple[str, ...] | None = None,
    batch_size: int = 8,
    box_metrics: bool = True,
) -> EvalReport:
    """Image-level precision/recall/F1/false-alarm rate per kind, AP50 where boxes exist.

    A sample is positive for a kind when its labels contain it; it is a *normal*
    scene when it has no hazard label at all. An image counts as detected for a kind
    when the detector reports at least one detection of that kind with its default
    thresholds (exactly what ``disaster-ops detect`` prints).
    """
    t0 = time.monotonic()
    kinds = kinds or detector.kinds
    metrics = {k: KindMetrics(k) for k in kinds}
    default_cfg = CameraDetectConfig(kinds=list(kinds))
    defaults = detector.default_thresholds()
    low_cfg = CameraDetectConfig(
        kinds=list(kinds), thresholds={k: AP_THRESHOLD_FACTOR * defaults.get(k, 0.5) for k in kinds}
    )
    want_ap = box_metrics and any(s.boxes for s in samples)
    ap_preds: dict[str, list] = {k: [] for k in kinds}
    ap_truth: dict[str, list] = {k: [] for k in kinds}
    normals = false_alarm_images = 0
    unreadable: list[str] = []
    groups = Counter(s.group or "all" for s in samples)
    for i in range(0, len(samples), batch_size):
        chunk, frames = [], []
        for s in samples[i : i + batch_size]:
            try:
                frames.append(_load(s))
                chunk.append(s)
            except FrameError as exc:
                logger.warning("eval: skipping %s", exc)
                unreadable.append(str(s.path))
        if not frames:
            continue
        dets = detector.detect_batch(frames, [default_cfg] * len(frames))
        low = detector.detect_batch(frames, [low_cfg] * len(frames)) if want_ap else None
        for j, (s, d) in enumerate(zip(chunk, dets)):
            found = d.kinds()
            if s.is_normal:
                normals += 1
                false_alarm_images += bool(found & set(kinds))
            for k, m in metrics.items():
                pos, hit = k in s.kinds, k in found
                m.tp += pos and hit
                m.fn += pos and not hit
                m.fp += (not pos) and hit
                m.tn += (not pos) and not hit
                if s.is_normal:
                    m.normals += 1
                    m.false_alarms += hit
            if low is not None and s.boxes is not None:
                h, w = frames[j].shape[:2]
                scale = np.array([w, h, w, h], np.float64)
                for k in kinds:
                    sel = low[j].kind == k
                    ap_preds[k].append((low[j].xyxy[sel], low[j].confidence[sel]))
                    gt = [b[1:] for b in s.boxes if b[0] == k]
                    ap_truth[k].append(np.array(gt, np.float64).reshape(-1, 4) * scale)
    if want_ap:
        for k, m in metrics.items():
            if any(len(t) for t in ap_truth[k]):
                m.map50 = average_precision_50(ap_preds[k], ap_truth[k])
    return EvalReport(
        metrics, sum(groups.values()) - len(unreadable), normals, false_alarm_images, dict(groups), unreadable,
        time.monotonic() - t0,
    )
