"""One flame, one box: merge same-kind boxes that are parts of one upright column.

A detector that scores cells (HazardNet) or tiles can report one flame or smoke column
as two or more regions along the column: the bright base and the flame tips, with dimmer
cells between them. Projected separately, the upper part lands beyond the fire (its
foot is not on the ground). With the camera pose the rule is physical, not a pixel gap:

- each box's ground point is its foot (``geo.box_ground``); of two boxes of one kind,
  the one whose foot is nearer the camera is the candidate base;
- the other is a part of the same column when the rays through the middle of its top
  and bottom edges pass the base's vertical axis within the base's half-width (its
  ground uncertainty, at least ``min_half_width_m``) and between the ground and
  ``max_height_m[kind]`` (a flame is at most tens of metres tall, a smoke plume hundreds).

Merging is transitive (a chain of parts becomes one box: the union), the merged box keeps
the highest confidence, and its polygon is dropped (the parts' outlines no longer bound
it). The cost: a second fire straight behind the first on the same line of sight, and
within that height, is reported as one (at the nearer one's foot).
"""

from __future__ import annotations

import math

import numpy as np

from disaster_ops.detect.records import Detections
from geo.box_ground import box_ground_feet, fits_column
from geo.projection import PinholePose

COLUMN_KINDS = ("fire", "smoke")
MAX_COLUMN_HEIGHT_M = {"fire": 40.0, "smoke": 500.0}


def merge_columns(dets: Detections, pose: PinholePose, *, max_height_m: dict[str, float] | None = None,
                  min_half_width_m: float = 3.0) -> Detections:
    """``dets`` with the parts of each column of a column kind merged into one box."""
    heights = max_height_m or MAX_COLUMN_HEIGHT_M
    n = len(dets)
    if n < 2:
        return dets
    kind = np.asarray([str(k) for k in dets.kind], dtype=object)
    xyxy = np.asarray(dets.xyxy, dtype=float)
    feet = box_ground_feet(pose, xyxy)
    rng = np.hypot(feet.ground.east_m, feet.ground.north_m)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        if kind[i] not in heights or not feet.ground.ok[i]:
            continue
        half = max(min_half_width_m, float(feet.uncertainty_m[i]) if math.isfinite(feet.uncertainty_m[i]) else 0.0)
        base = (float(feet.ground.east_m[i]), float(feet.ground.north_m[i]))
        for j in range(n):
            if j == i or kind[j] != kind[i] or not (not feet.ground.ok[j] or rng[j] > rng[i]):
                continue
            if fits_column(pose, base, half, xyxy[j], max_height_m=heights[kind[i]]):
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    if all(len(g) == 1 for g in groups.values()):
        return dets
    boxes, conf, kinds_out, polys, share = [], [], [], [], []
    data: dict[str, list] = {k: [] for k in dets.data}
    area_share = np.asarray(dets.area_share, dtype=float)
    for members in sorted(groups.values(), key=min):
        m = np.asarray(members)
        best = m[np.argmax(np.asarray(dets.confidence)[m])]
        boxes.append([xyxy[m, 0].min(), xyxy[m, 1].min(), xyxy[m, 2].max(), xyxy[m, 3].max()])
        conf.append(float(dets.confidence[best]))
        kinds_out.append(dets.kind[best])
        polys.append(dets.polygons[best] if len(m) == 1 else None)
        share.append(float(np.nansum(area_share[m])) if np.isfinite(area_share[m]).any() else np.nan)
        for k, arr in dets.data.items():
            data[k].append(_merged_value(arr, m, best))
    out_data = {}
    for k, vals in data.items():
        a = np.empty(len(vals), dtype=dets.data[k].dtype)
        for i, v in enumerate(vals):
            a[i] = v
        out_data[k] = a
    return Detections(np.asarray(boxes, np.float32), np.asarray(conf, np.float32), np.asarray(kinds_out, dtype=object),
                      tuple(polys), np.asarray(share, np.float32), out_data)


def _merged_value(arr: np.ndarray, members: np.ndarray, best: int):
    """A merged column's value of one ``data`` array: per-detection arrays (a part's cells)
    are stacked, with duplicate rows dropped; any other value is the most confident part's."""
    parts = [arr[i] for i in members if isinstance(arr[i], np.ndarray) and arr[i].ndim == 2]
    if parts:
        return np.unique(np.concatenate(parts), axis=0)
    return arr[best]
