"""Sliced detection for aerial frames: small, far hazards seen as overlapping tiles.

From 80 m up a fire is a few dozen pixels in a frame that is mostly ground, and a
detector trained on CCTV frames weighs the whole-frame context (an oblique view of
fields reads as water or haze to it). :class:`SlicedDetector` runs any detector on a
grid of overlapping tiles, each seen at the model's full input size (as SAHI does for
small objects in aerial imagery), maps the boxes back to the frame and merges those of
the same kind that overlap (tiles overlap by half, so every object smaller than half a
tile lies whole in at least one tile). It is the same detector, seen closer.

Why tiles and not a larger input: HazardNet scores 8×8-pixel cells; on the whole 640×480
frame at its 320 px input a cell is 16×12 frame pixels (3.6 m × 2.7 m on the ground from
80 m with the 84° lens), in a 320×240 tile 8×6 pixels (1.8 m × 1.35 m). Running the
whole frame or the tiles at 480-640 px input gives the same or finer cells, but the
network then sees fires at a scale it was not trained on and finds far fewer of them
(validation, ``benchmarks/aerial_validation.py``: 0-8 of 24 fires instead of 16-18).

A detector that gives per-cell probability maps (HazardNet) is run once per tile for
both the boxes and the cells: each box of a tiled point kind carries, in ``data["cells"]``,
the cells of the connected regions it holds (``CELL_COLUMNS``, frame pixels; a flame
whose bright core alone makes the box still brings its dimmer base), from which
the aerial path places a column's foot more finely than from the box
(``geo.box_ground.cells_foot_px``).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from disaster_ops.detect.base import Detector
from disaster_ops.detect.config import CameraDetectConfig
from disaster_ops.detect.postprocess import AREA_KINDS
from disaster_ops.detect.records import Detections

CELL_COLUMNS = ("u_px", "v_px", "prob", "cell_w_px", "cell_h_px")  # columns of data["cells"] rows
# A box's cells: its regions' cells within this many cells of the box (6 rather than 2 on the
# validation views: the dim base of a flame whose core alone made the box is 3-5 cells below it).
CELL_MARGIN = 6


def _cells_of(cells: np.ndarray, box: np.ndarray, margin_cells: int | None = None) -> np.ndarray:
    """The cells of the connected regions that ``box`` holds (rows of ``cells``: ``CELL_COLUMNS`` +
    region label), limited to the box grown by ``margin_cells`` cells; ``CELL_COLUMNS`` only."""
    if not len(cells):
        return cells[:, :len(CELL_COLUMNS)]
    inside = ((cells[:, 0] >= box[0]) & (cells[:, 0] <= box[2]) & (cells[:, 1] >= box[1]) & (cells[:, 1] <= box[3]))
    m = CELL_MARGIN if margin_cells is None else margin_cells
    mx, my = m * cells[:, 3], m * cells[:, 4]
    near = ((cells[:, 0] >= box[0] - mx) & (cells[:, 0] <= box[2] + mx)
            & (cells[:, 1] >= box[1] - my) & (cells[:, 1] <= box[3] + my))
    sel = near & np.isin(cells[:, 5], np.unique(cells[inside, 5])) if inside.any() else near
    return cells[sel, :len(CELL_COLUMNS)]


def _label_regions(rows: np.ndarray) -> np.ndarray:
    """One row per frame cell (the most confident of the tiles that saw it), with the label
    of its 8-connected region appended. Half-overlapping tiles put their cells on one grid
    of the frame (a tile offset is a whole number of cells)."""
    cw, ch = float(rows[:, 3].max()), float(rows[:, 4].max())
    gx = np.round(rows[:, 0] / cw - 0.5).astype(int)
    gy = np.round(rows[:, 1] / ch - 0.5).astype(int)
    grid = np.zeros((gy.max() + 1, gx.max() + 1), np.float32)
    np.maximum.at(grid, (gy, gx), rows[:, 2])
    _, labels = cv2.connectedComponents((grid > 0).astype(np.uint8), connectivity=8)
    ys, xs = np.nonzero(grid > 0)
    return np.column_stack([(xs + 0.5) * cw, (ys + 0.5) * ch, grid[ys, xs], np.full(xs.size, cw),
                            np.full(xs.size, ch), labels[ys, xs]]).astype(np.float32)


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
        out_p.append(polys[i] if len(members) == 1 else _union_outline([polys[m] for m in members]))
    return out_b, out_c, out_k, out_p


def _union_outline(polys: list) -> np.ndarray | None:
    """The outline of the union of the parts' polygons (an area hazard seen in several tiles),
    the largest piece where they do not touch; None when no part has one."""
    import shapely

    parts = [shapely.Polygon(p).buffer(0) for p in polys if p is not None and len(p) >= 3]
    parts = [p for p in parts if not p.is_empty]
    if not parts:
        return None
    u = shapely.union_all(parts)
    if u.geom_type != "Polygon":
        u = max(getattr(u, "geoms", [u]), key=lambda g: g.area)
    if u.geom_type != "Polygon" or u.is_empty:
        return None
    return np.asarray(u.exterior.coords[:-1], np.float32)


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
            batch, cfgs = whole + tiles, [cfg] * (len(whole) + len(tiles))
            with_maps = hasattr(self.inner, "probability_maps") and hasattr(self.inner, "detections_from_maps")
            cells: dict[str, np.ndarray] = {}
            if with_maps:
                prob = self.inner.probability_maps(batch)
                parts = self.inner.detections_from_maps(batch, prob, cfgs)
                cells = self._frame_cells(prob[len(whole):], wins, cfg)
            else:
                parts = self.inner.detect_batch(batch, cfgs)
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
                for i, (kind, poly) in enumerate(zip(k, p)):  # an area hazard: the share its outline covers
                    if kind in AREA_KINDS and poly is not None and len(poly) >= 3:
                        share[i] = min(1.0, abs(float(cv2.contourArea(np.asarray(poly, np.float32)))) / float(w * h))
                    elif kind not in AREA_KINDS:
                        share[i] = np.nan
                merged = Detections(bb, np.asarray(c, np.float32), np.asarray(k, dtype=object), tuple(p), share)
            if with_maps:
                merged = merged.with_data(cells=_object_array(
                    [_cells_of(cells[str(k)], b) if str(k) in cells else None
                     for b, k in zip(merged.xyxy, merged.kind)]))
                if area is not None:
                    area = area.with_data(cells=_object_array([None] * len(area)))
            out.append(Detections.merge([merged] + ([area] if area is not None else [])))
        return out

    def _frame_cells(self, prob: np.ndarray, wins, cfg: CameraDetectConfig) -> dict[str, np.ndarray]:
        """Per tiled point kind (not area kinds), its cells at or above the region level
        (``CELL_FACTOR`` × threshold) in frame pixels, with their region labels."""
        from disaster_ops.detect.postprocess import CELL_FACTOR

        kinds = list(self.inner.kinds)
        thr = {**self.inner.default_thresholds(), **cfg.thresholds}
        out = {}
        for k in self.tile_kinds:
            if k in AREA_KINDS:
                continue
            rows = []
            for (x0, y0, x1, y1), p in zip(wins, prob):
                gh, gw = p.shape[1:]
                sx, sy = (x1 - x0) / gw, (y1 - y0) / gh
                c = p[kinds.index(k)]
                ys, xs = np.nonzero(c >= CELL_FACTOR * thr.get(k, 0.5))
                if xs.size:
                    rows.append(np.column_stack([x0 + (xs + 0.5) * sx, y0 + (ys + 0.5) * sy, c[ys, xs],
                                                 np.full(xs.size, sx), np.full(xs.size, sy)]))
            out[k] = (_label_regions(np.concatenate(rows)) if rows
                      else np.zeros((0, len(CELL_COLUMNS) + 1), np.float32))
        return out


def _object_array(items: list) -> np.ndarray:
    """A 1-D object array holding ``items`` as they are (numpy would stack equal-shaped arrays)."""
    out = np.empty(len(items), dtype=object)
    for i, it in enumerate(items):
        out[i] = it
    return out
