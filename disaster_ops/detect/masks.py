"""Regions of interest and exclusion masks: pixel polygons rasterised to boolean masks."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from disaster_ops.detect.records import Detections

PolygonPx = Sequence[Sequence[float]]


def polygon_mask(polygons: Sequence[PolygonPx], frame_wh: tuple[int, int], *, grid_wh: tuple[int, int] | None = None) -> np.ndarray:
    """Bool mask ``(h, w)`` (or ``grid_wh``) that is True inside any of ``polygons``.

    Polygons are in pixel coordinates of a ``frame_wh`` frame; with ``grid_wh`` they
    are scaled to that grid (e.g. the model's cell grid).
    """
    w, h = frame_wh
    gw, gh = grid_wh or frame_wh
    mask = np.zeros((gh, gw), np.uint8)
    for poly in polygons:
        pts = np.asarray(poly, np.float64).reshape(-1, 2) * [gw / w, gh / h]
        cv2.fillPoly(mask, [np.round(pts - 0.5).astype(np.int32)], 1)
    return mask.astype(bool)


def valid_mask(
    frame_wh: tuple[int, int],
    *,
    roi: Sequence[PolygonPx] = (),
    exclude: Sequence[PolygonPx] = (),
    grid_wh: tuple[int, int] | None = None,
) -> np.ndarray | None:
    """Cells/pixels inside the ROI (whole frame if none) and outside exclusions; None if all."""
    if not roi and not exclude:
        return None
    gw, gh = grid_wh or frame_wh
    keep = polygon_mask(roi, frame_wh, grid_wh=grid_wh) if roi else np.ones((gh, gw), bool)
    if exclude:
        keep &= ~polygon_mask(exclude, frame_wh, grid_wh=grid_wh)
    return keep


def filter_by_mask(dets: Detections, keep_px: np.ndarray, *, min_inside_share: float = 0.5) -> Detections:
    """Keep detections whose box lies at least ``min_inside_share`` inside ``keep_px`` (bool h x w)."""
    if not len(dets):
        return dets
    h, w = keep_px.shape
    integral = cv2.integral(keep_px.astype(np.uint8))
    sel = np.zeros(len(dets), bool)
    for i, (x1, y1, x2, y2) in enumerate(dets.xyxy):
        xa, ya = int(np.clip(np.floor(x1), 0, w)), int(np.clip(np.floor(y1), 0, h))
        xb, yb = int(np.clip(np.ceil(x2), 0, w)), int(np.clip(np.ceil(y2), 0, h))
        area = max(1, (xb - xa) * (yb - ya))
        inside = integral[yb, xb] - integral[ya, xb] - integral[yb, xa] + integral[ya, xa]
        sel[i] = inside / area >= min_inside_share
    return dets[sel]
