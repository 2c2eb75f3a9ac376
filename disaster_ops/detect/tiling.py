"""Sliced detection for aerial frames: small, far hazards seen as overlapping tiles.

From 80 m up a fire is a few dozen pixels in a frame that is mostly ground, and a
detector trained on CCTV frames weighs the whole-frame context (an oblique view of
fields reads as water or haze to it). :class:`SlicedDetector` runs any detector on a
grid of overlapping tiles, each seen at the model's full input size (as SAHI does for
small objects in aerial imagery), maps the boxes back to the frame and merges those of
the same kind that overlap (tiles overlap by half, so every object smaller than half a
tile lies whole in at least one tile). It is the same detector, seen closer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from disaster_ops.detect.base import Detector
from disaster_ops.detect.config import CameraDetectConfig
from disaster_ops.detect.records import Detections


def tile_windows(width_px: int, height_px: int, *, grid: int) -> list[tuple[int, int, int, int]]:
    """``(x0, y0, x1, y1)`` of a ``grid``×``grid`` layout of tiles 2/(grid+1) of the frame, half overlapping."""
    if grid < 1:
        raise ValueError(f"grid must be >= 1, got {grid}")
    if grid == 1:
        return [(0, 0, width_px, height_px)]
    tw, th = 2 * width_px // (grid + 1), 2 * height_px // (grid + 1)
    xs = [round(i * (width_px - tw) / (grid - 1)) for i in range(grid)]
    ys = [round(i * (height_px - th) / (grid - 1)) for i in range(grid)]
    return [(x, y, x + tw, y + th) for y in ys for x in xs]


def _merge_same_kind(xyxy: np.ndarray, conf: np.ndarray, kinds: np.ndarray, polys: list):
    """Greedy union of overlapping boxes of one kind (the highest confidence first)."""
    order = np.argsort(-conf)
    used = np.zeros(len(conf), bool)
    out_b, out_c, out_k, out_p = [], [], [], []
    for i in order:
        if used[i]:
            continue
        box = xyxy[i].copy()
        members = [i]
        used[i] = True
        grown = True
        while grown:
            grown = False
            for j in order:
                if used[j] or kinds[j] != kinds[i]:
                    continue
                b = xyxy[j]
                if b[0] <= box[2] and b[2] >= box[0] and b[1] <= box[3] and b[3] >= box[1]:
                    box = np.array([min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3])],
                                   np.float32)
                    used[j] = True
                    members.append(j)
                    grown = True
        out_b.append(box)
        out_c.append(conf[i])
        out_k.append(kinds[i])
        out_p.append(polys[i] if len(members) == 1 else None)
    return out_b, out_c, out_k, out_p


class SlicedDetector(Detector):
    """Wraps ``inner``: detects in ``grid``×``grid`` overlapping tiles, each at the model input size."""

    def __init__(self, inner: Detector, *, grid: int = 3, tile_kinds: tuple[str, ...] = ("fire",)) -> None:
        self.inner = inner
        self.grid = grid
        self.tile_kinds = tuple(k for k in tile_kinds if k in inner.kinds)
        self.whole_frame_kinds = tuple(k for k in inner.kinds if k not in self.tile_kinds)
        self.kinds = inner.kinds
        self.type = f"sliced-{inner.type}"

    def default_thresholds(self) -> dict[str, float]:
        return self.inner.default_thresholds()

    def detect_batch(self, frames: Sequence[np.ndarray], configs: Sequence[CameraDetectConfig] | None = None
                     ) -> list[Detections]:
        frames, configs = self.prepare_batch(frames, configs)
        out = []
        for frame, cfg in zip(frames, configs):
            h, w = frame.shape[:2]
            wins = tile_windows(w, h, grid=self.grid)
            # Each tile goes to the detector as it is: the model scales every input to its own
            # square input size, so a tile is seen at a higher resolution than the frame.
            tiles = [np.ascontiguousarray(frame[y0:y1, x0:x1]) for x0, y0, x1, y1 in wins]
            whole = [frame] if self.whole_frame_kinds else []
            parts = self.inner.detect_batch(whole + tiles, [cfg] * (len(whole) + len(tiles)))
            area = None
            if whole:
                d0 = parts.pop(0)
                area = d0[np.isin(d0.kind.astype(str), self.whole_frame_kinds)]
            boxes, conf, kinds, polys = [], [], [], []
            for (x0, y0, _x1, _y1), d in zip(wins, parts):
                sx = sy = 1.0
                for k in range(len(d)):
                    if str(d.kind[k]) in self.whole_frame_kinds:
                        continue
                    b = d.xyxy[k]
                    boxes.append([x0 + b[0] * sx, y0 + b[1] * sy, x0 + b[2] * sx, y0 + b[3] * sy])
                    conf.append(float(d.confidence[k]))
                    kinds.append(str(d.kind[k]))
                    p = d.polygons[k]
                    polys.append(None if p is None else
                                 (np.asarray(p, np.float32) * np.array([sx, sy], np.float32)
                                  + np.array([x0, y0], np.float32)))
            merged = Detections.empty()
            if boxes:
                b, c, k, p = _merge_same_kind(np.asarray(boxes, np.float32), np.asarray(conf, np.float32),
                                              np.asarray(kinds, dtype=object), polys)
                bb = np.asarray(b, np.float32)
                share = ((bb[:, 2] - bb[:, 0]) * (bb[:, 3] - bb[:, 1]) / float(w * h)).astype(np.float32)
                merged = Detections(bb, np.asarray(c, np.float32), np.asarray(k, dtype=object), tuple(p), share)
            out.append(Detections.merge([merged] + ([area] if area is not None else [])))
        return out
