"""Image-level confusion counts and box-level AP at IoU 0.5."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class KindMetrics:
    """Image-level counts of one kind; ``false_alarms`` counts normal scenes flagged."""

    kind: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    false_alarms: int = 0
    normals: int = 0
    map50: float | None = None

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.normals if self.normals else 0.0

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "positives": self.tp + self.fn,
            "negatives": self.fp + self.tn,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "false_alarm_rate": round(self.false_alarm_rate, 4),
            "map50": None if self.map50 is None else round(self.map50, 4),
        }


def iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``(n,4)`` and ``(m,4)`` boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(br - tl, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def average_precision_50(
    predictions: list[tuple[np.ndarray, np.ndarray]], truths: list[np.ndarray]
) -> float:
    """All-point interpolated AP at IoU >= 0.5 over images.

    Args:
        predictions: per image ``(boxes (n,4), scores (n,))``.
        truths: per image ground-truth boxes ``(m,4)`` (same coordinates).
    """
    n_gt = sum(len(t) for t in truths)
    if n_gt == 0:
        return 0.0
    records = []  # (score, is_tp)
    for (boxes, scores), gt in zip(predictions, truths):
        order = np.argsort(-np.asarray(scores))
        used = np.zeros(len(gt), bool)
        ious = iou_xyxy(np.asarray(boxes)[order], gt) if len(gt) and len(boxes) else None
        for rank, i in enumerate(order):
            hit = False
            if ious is not None:
                cand = np.where(~used & (ious[rank] >= 0.5))[0]
                if cand.size:
                    used[cand[np.argmax(ious[rank][cand])]] = True
                    hit = True
            records.append((float(scores[i]), hit))
    if not records:
        return 0.0
    records.sort(key=lambda r: -r[0])
    tp = np.cumsum([r[1] for r in records])
    fp = np.cumsum([not r[1] for r in records])
    recall = tp / n_gt
    precision = tp / np.maximum(tp + fp, 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def reliability_table(scores: np.ndarray, labels: np.ndarray, kinds: tuple[str, ...],
                      bins: int = 10) -> dict[str, list[dict]]:
    """Per kind: images per image-score bin and the share of them that truly show the kind.

    ``scores`` and ``labels`` are ``(images, kinds)``; a label below 0 means unknown and the
    image is left out for that kind. The calibration curve written into docs/MODELS.md.
    """
    table = {}
    for k, kind in enumerate(kinds):
        known = labels[:, k] >= 0
        s, y = scores[known, k], labels[known, k] > 0
        rows = []
        for b in range(bins):
            lo, hi = b / bins, (b + 1) / bins
            sel = (s >= lo) & ((s < hi) if b < bins - 1 else (s <= hi))
            rows.append({"score": f"{lo:.1f}-{hi:.1f}", "images": int(sel.sum()),
                         "share_with_kind": None if not sel.any() else round(float(y[sel].mean()), 3)})
        table[kind] = rows
    return table
