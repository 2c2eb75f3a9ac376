"""Sweep lines over a metric polygon: choosing the sweep angle and cutting the lines into intervals.

Conventions: ``theta_rad`` is the leg direction measured counter-clockwise from
east. Rotating the zone by ``-theta`` makes the legs horizontal; each leg then
flies at the centre ``y_k`` of a band of height ``spacing`` and spans the
x-extent of every connected piece of the zone inside that band, so the band is
covered whole when the footprint is at least one band wide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity

ANGLE_GRID_DEG = 10.0


@dataclass(frozen=True)
class Line:
    """One sweep line in the rotated frame: its y and the disjoint x intervals to fly."""

    y_m: float
    intervals: tuple[tuple[float, float], ...]
    band_area_m2: float


def rotate_m(geom, theta_rad: float):
    """Rotate a metric geometry by -theta about the origin (legs become horizontal)."""
    return affinity.rotate(geom, -theta_rad, origin=(0.0, 0.0), use_radians=True)


def unrotate_xy(x: float, y: float, theta_rad: float) -> tuple[float, float]:
    c, s = math.cos(theta_rad), math.sin(theta_rad)
    return (x * c - y * s, x * s + y * c)


def heading_deg_of(theta_rad: float) -> float:
    """Leg direction as a heading (clockwise from north) in [0, 180)."""
    return (90.0 - math.degrees(theta_rad)) % 180.0


def theta_of_heading(heading_deg: float) -> float:
    return math.radians(90.0 - heading_deg)


def _edges(poly: shapely.Geometry) -> np.ndarray:
    """All ring edges as an (E, 4) array x0, y0, x1, y1."""
    rows = []
    for part in shapely.get_parts(poly):
        for ring in [part.exterior, *part.interiors]:
            c = np.asarray(ring.coords)
            rows.append(np.hstack([c[:-1], c[1:]]))
    return np.vstack(rows) if rows else np.zeros((0, 4))


def candidate_angles_rad(poly: shapely.Geometry, *, n_longest: int = 8) -> np.ndarray:
    """Hull edge directions (rotating calipers), the longest polygon edges and a coarse grid."""
    hull = _edges(poly.convex_hull)
    edges = _edges(poly)
    lengths = np.hypot(edges[:, 2] - edges[:, 0], edges[:, 3] - edges[:, 1])
    longest = edges[np.argsort(-lengths)[:n_longest]]
    both = np.vstack([hull, longest])
    angles = np.arctan2(both[:, 3] - both[:, 1], both[:, 2] - both[:, 0]) % math.pi
    grid = np.radians(np.arange(0.0, 180.0, ANGLE_GRID_DEG))
    allang = np.concatenate([angles, grid])
    return np.unique(np.round(allang, 4))


def _crossings(x0, y0, x1, y1, ys: np.ndarray) -> np.ndarray:
    """x of edge crossings per scanline, sorted, NaN-padded: shape (len(ys), E)."""
    lo, hi = np.minimum(y0, y1), np.maximum(y0, y1)
    cross = (lo[None, :] <= ys[:, None]) & (hi[None, :] > ys[:, None])
    dy = np.where(y1 != y0, y1 - y0, 1.0)
    t = (ys[:, None] - y0[None, :]) / dy[None, :]
    xs = np.where(cross, x0[None, :] + t * (x1 - x0)[None, :], np.inf)
    xs.sort(axis=1)
    return xs


def estimate_cost_m(poly: shapely.Geometry, theta_rad: float, *, spacing_m: float,
                    turnaround_m: float, turn_cost_m: float) -> float:
    """Fast scanline estimate of path length + turn cost for one sweep angle (numpy only).

    Per band: the interval lengths on its centre line, widened by half the shift
    of the outermost crossings between the band's lower and upper edges (the
    legs span the whole band piece, which is longer when edges are slanted).
    """
    e = _edges(poly)
    c, s = math.cos(-theta_rad), math.sin(-theta_rad)
    x0 = e[:, 0] * c - e[:, 1] * s
    y0 = e[:, 0] * s + e[:, 1] * c
    x1 = e[:, 2] * c - e[:, 3] * s
    y1 = e[:, 2] * s + e[:, 3] * c
    ymin, ymax = min(y0.min(), y1.min()), max(y0.max(), y1.max())
    n = max(1, math.ceil((ymax - ymin) / spacing_m - 1e-9))
    step = (ymax - ymin) / n
    ys = ymin + (np.arange(n) + 0.5) * step
    mid = _crossings(x0, y0, x1, y1, ys)
    eps = 1e-6 * step
    bot = _crossings(x0, y0, x1, y1, ys - step / 2 + eps)
    top = _crossings(x0, y0, x1, y1, ys + step / 2 - eps)
    finite = np.isfinite(mid)
    counts = finite.sum(axis=1)
    m = np.where(finite, mid, 0.0)
    width = m.shape[1] // 2 * 2
    pair_ok = finite[:, 1:width:2] & finite[:, 0:width:2]
    total = float(np.sum(np.where(pair_ok, m[:, 1:width:2] - m[:, 0:width:2], 0.0)))
    n_int = int(np.sum(counts // 2))
    has = np.isfinite(bot[:, 0]) & np.isfinite(top[:, 0]) & (counts >= 2)
    b_last = np.where(np.isfinite(bot), bot, -np.inf).max(axis=1)
    t_last = np.where(np.isfinite(top), top, -np.inf).max(axis=1)
    with np.errstate(invalid="ignore"):  # inf - inf on lines that miss the zone
        slant = 0.5 * (np.abs(bot[:, 0] - top[:, 0]) + np.abs(b_last - t_last))
    total += float(np.sum(np.where(has, slant, 0.0)))
    connectors = (n - 1) * step
    return total + n_int * (2 * turnaround_m + turn_cost_m) + connectors


def exact_cost_m(poly: shapely.Geometry, theta_rad: float, *, spacing_m: float,
                 turnaround_m: float, turn_cost_m: float) -> float:
    """Leg length + turn cost from the real band pieces (slower than the estimate)."""
    lines = sweep_lines(rotate_m(poly, theta_rad), spacing_m=spacing_m,
                        merge_gap_m=2 * turnaround_m)
    total = 0.0
    for line in lines:
        total += sum(b - a + 2 * turnaround_m + turn_cost_m for a, b in line.intervals)
    return total + (len(lines) - 1) * spacing_m


def best_angle_rad(poly: shapely.Geometry, *, spacing_m: float, turnaround_m: float,
                   turn_cost_m: float, finalists: int = 4) -> float:
    """The sweep angle with the lowest length + turn cost.

    Every candidate is scored with the numpy estimate; the best few are then
    scored on the real band pieces.
    """
    kw = {"spacing_m": spacing_m, "turnaround_m": turnaround_m, "turn_cost_m": turn_cost_m}
    cands = candidate_angles_rad(poly)
    est = np.array([estimate_cost_m(poly, float(t), **kw) for t in cands])
    top = cands[np.argsort(est)[:finalists]]
    exact = [exact_cost_m(poly, float(t), **kw) for t in top]
    return float(top[int(np.argmin(exact))])


def sweep_lines(poly_rot: shapely.Geometry, *, spacing_m: float, merge_gap_m: float,
                min_piece_m2: float = 1e-3) -> list[Line]:
    """Bands of height <= ``spacing_m`` over a (rotated) polygon and the x intervals per band."""
    xmin, ymin, xmax, ymax = poly_rot.bounds
    n = max(1, math.ceil((ymax - ymin) / spacing_m - 1e-9))
    step = (ymax - ymin) / n
    ys = ymin + (np.arange(n) + 0.5) * step
    boxes = shapely.box(xmin - 1.0, ys - step / 2, xmax + 1.0, ys + step / 2)
    shapely.prepare(poly_rot)
    pieces = shapely.intersection(poly_rot, boxes)
    lines: list[Line] = []
    for y, band in zip(ys, pieces):
        parts = [p for p in shapely.get_parts(band)
                 if isinstance(p, shapely.Polygon) and p.area > min_piece_m2]
        spans = sorted((p.bounds[0], p.bounds[2]) for p in parts)
        merged: list[list[float]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1] + merge_gap_m:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        lines.append(Line(float(y), tuple((a, b) for a, b in merged),
                          float(sum(p.area for p in parts))))
    return lines


def clip_intervals(lines: list[Line], region_rot: shapely.Geometry | None, *,
                   blocked_rot: shapely.Geometry | None, turnaround_m: float,
                   x_span: tuple[float, float]) -> list[list[tuple[float, float, float, float]]]:
    """Per line, the flyable legs as (x_in, x_out, ext_lo, ext_hi).

    ``x_in..x_out`` is the part of each interval that lies in free space, and
    ``ext_lo..ext_hi`` the leg extended by the turnaround, clipped to the same
    free stretch of the line. Without constraints the extension is not clipped.
    """
    out: list[list[tuple[float, float, float, float]]] = []
    lo_x, hi_x = x_span[0] - turnaround_m - 1.0, x_span[1] + turnaround_m + 1.0
    for line in lines:
        if region_rot is None and blocked_rot is None:
            out.append([(a, b, a - turnaround_m, b + turnaround_m) for a, b in line.intervals])
            continue
        ray = shapely.LineString([(lo_x, line.y_m), (hi_x, line.y_m)])
        free = ray.intersection(region_rot) if region_rot is not None else ray
        if blocked_rot is not None and not blocked_rot.is_empty:
            free = free.difference(blocked_rot)
        stretches = sorted((s.bounds[0] + 0.05, s.bounds[2] - 0.05)
                           for s in shapely.get_parts(free) if s.length > 0.2)
        legs = []
        for a, b in line.intervals:
            for s0, s1 in stretches:
                x_in, x_out = max(a, s0), min(b, s1)
                if x_out - x_in > 0.1:
                    legs.append((x_in, x_out, max(s0, x_in - turnaround_m),
                                 min(s1, x_out + turnaround_m)))
        out.append(legs)
    return out
