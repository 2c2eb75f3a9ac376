"""Turn per-cell hazard probability maps into ``Detections``.

A kind is reported where a connected region of cells is confident: region score =
mean of its (up to) 3 most confident cells, the same statistic the image-level
threshold was tuned on in training. Each region gives one box; area hazards (flood)
also give the outline of the region's confidently covered cells (probability >= 0.5)
as a polygon and the share of the frame (or ROI) those cells cover.
"""

from __future__ import annotations

import cv2
import numpy as np

from disaster_ops.detect.records import Detections

AREA_KINDS = frozenset({"flood"})
CELL_FACTOR = 0.6  # cells above CELL_FACTOR * threshold join a region
AREA_CELL_PROB = 0.5  # area hazards: a cell counts as covered (e.g. water) above this probability
AREA_MIN_CELLS = 4  # area hazards: smaller regions are noise
TOP_K = 3
BOX_CORE_FACTOR = 0.9  # point hazards: the box bounds the region's cells above 0.9 x its score


def region_score(values: np.ndarray) -> float:
    k = min(TOP_K, values.size)
    return float(np.partition(values, values.size - k)[-k:].mean())


def maps_to_detections(
    prob: np.ndarray,
    kinds: tuple[str, ...],
    *,
    thresholds: dict[str, float],
    frame_wh: tuple[int, int],
    valid_cells: np.ndarray | None = None,
    min_area_px: float = 0.0,
) -> Detections:
    """Regions of ``prob`` ``(k, gh, gw)`` above threshold as pixel detections.

    Args:
        prob: per-kind cell probabilities, channel order ``kinds``.
        kinds: kind name of each channel.
        thresholds: kind -> minimum region score; kinds missing here are not reported.
        frame_wh: width and height of the original frame, px (boxes are scaled to it).
        valid_cells: optional bool ``(gh, gw)``: cells inside the ROI and outside
            exclusion masks; others are ignored.
        min_area_px: regions whose box is smaller than this (px^2) are dropped.
    """
    _, gh, gw = prob.shape
    w, h = frame_wh
    sx, sy = w / gw, h / gh
    n_valid = int(valid_cells.sum()) if valid_cells is not None else gh * gw
    parts: list[Detections] = []
    for ch, kind in enumerate(kinds):
        if kind not in thresholds:
            continue
        thr = thresholds[kind]
        p = prob[ch]
        if valid_cells is not None:
            p = np.where(valid_cells, p, 0.0)
        is_area = kind in AREA_KINDS
        on = (p >= CELL_FACTOR * thr).astype(np.uint8)
        if not on.any():
            continue
        n_lab, labels, stats, _ = cv2.connectedComponentsWithStats(on, connectivity=8)
        boxes, confs, polys, shares = [], [], [], []
        for lab in range(1, n_lab):
            sel = labels == lab
            score = region_score(p[sel])
            if score < thr:
                continue
            x, y, bw, bh, area = stats[lab]
            if not is_area:  # tight box around the confident core, not the faint glow around it
                ys, xs = np.nonzero(sel & (p >= BOX_CORE_FACTOR * score))
                if xs.size:
                    x, y, bw, bh = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
            covered = sel & (p >= AREA_CELL_PROB) if is_area else sel
            if is_area and (area < AREA_MIN_CELLS or not covered.any()):
                continue
            box = [x * sx, y * sy, (x + bw) * sx, (y + bh) * sy]
            if (box[2] - box[0]) * (box[3] - box[1]) < min_area_px:
                continue
            boxes.append(box)
            confs.append(min(1.0, score))
            shares.append(int(covered.sum()) / max(1, n_valid))
            if is_area:
                contours, _ = cv2.findContours(covered.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
                c = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float32)
                polys.append(np.stack([(c[:, 0] + 0.5) * sx, (c[:, 1] + 0.5) * sy], axis=1))
            else:
                polys.append(None)
        if boxes:
            parts.append(
                Detections(
                    np.array(boxes, np.float32),
                    np.array(confs, np.float32),
                    np.array([kind] * len(boxes), object),
                    tuple(polys),
                    np.array(shares, np.float32) if kind in AREA_KINDS else np.full(len(boxes), np.nan, np.float32),
                )
            )
    return Detections.merge(parts)
