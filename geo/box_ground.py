"""Where a detection box touches the ground, for any camera pose (CCTV, oblique or nadir drone).

A flame or smoke column is modelled as an upright volume standing on a round base (the
burning area) on flat ground. Its image box holds the base and the column above it; the
ground point we want is the centre of the base, whatever part of the column the detector
boxed. In the image, world-down at a pixel points towards the vertical (nadir) vanishing
point; the base is the end of the box on that side:

- the column's image is a strip along world-down, ``2r`` wide (the base's width); the
  box's width and height give two linear equations in the strip's length and ``r``;
- the middle of the strip's world-down end is the near edge of the base; the base
  centre lies behind it by the disc's radius foreshortened along the view,
  ``r · sin(depression)``.

Seen from the side (CCTV, depression ≈ 0) this is the bottom centre of the box; straight
down on the nadir point it is the box centre (a column seen end-on is its base); a column
off to one side leans away from the nadir point and its foot is at the inner end. The uncertainty is the base's extent on the ground (half its width across, its
half-depth along), so a fusion step knows how far off the point may be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geo.projection import GroundPoints, PinholePose, box_to_ground_point


@dataclass(frozen=True)
class BoxFeet:
    """Per box: the foot pixel, its ground point, and the base's ground half-extent (metres, NaN if unknown)."""

    u_px: np.ndarray
    v_px: np.ndarray
    ground: GroundPoints
    uncertainty_m: np.ndarray


def down_direction_px(pose: PinholePose, u_px: float, v_px: float) -> tuple[float, float]:
    """Unit image vector along which world-down runs at pixel (u, v); (0, 0) at the nadir vanishing point."""
    intr = pose.intrinsics
    ray_cam = np.array([(u_px - intr.cx_px) / intr.fx_px, (v_px - intr.cy_px) / intr.fy_px, 1.0])
    down_cam = np.array([0.0, 0.0, -1.0]) @ pose.R  # world-down in camera coordinates
    p = ray_cam + 1e-3 * down_cam
    if p[2] <= 1e-9:
        return 0.0, 0.0
    du = intr.fx_px * p[0] / p[2] + intr.cx_px - u_px
    dv = intr.fy_px * p[1] / p[2] + intr.cy_px - v_px
    n = math.hypot(du, dv)
    # Near the nadir vanishing point the direction is undefined: a column seen end-on.
    return (0.0, 0.0) if n < 1e-6 * intr.fx_px else (du / n, dv / n)


def depression_deg(pose: PinholePose, u_px: float, v_px: float) -> float:
    """Angle of the pixel's ray below the horizon (90 = straight down)."""
    d = pose.rays_enu(np.array([u_px]), np.array([v_px]))[0]
    return math.degrees(math.asin(max(-1.0, min(1.0, -d[2] / np.linalg.norm(d)))))


def _solve_column(wb: float, hb: float, gu: float, gv: float) -> float:
    """The base half-width ``r`` (px) of a column whose image box is ``wb`` × ``hb``.

    The column is a strip of width ``2r`` across world-down ``g`` and some length along
    it, so its box is ``wb = len·|gu| + 2r·|gv|``, ``hb = len·|gv| + 2r·|gu|``. Where the
    two equations do not separate length from width (``g`` near an image diagonal, i.e.
    a column seen from above off both image axes), the width is taken as half the box's
    smaller side.
    """
    au, av = abs(gu), abs(gv)
    det = au * au - av * av
    r = None
    if abs(det) > 0.25:
        r = (au * hb - av * wb) / (2 * det)
        length = (wb - 2 * r * av) / au if au > av else (hb - 2 * r * au) / av
        if not (r > 0 and length >= 0):
            r = None
    if r is None:
        r = min(wb, hb) / 4.0
    return float(min(r, wb / 2, hb / 2))


def box_foot_px(pose: PinholePose, box) -> tuple[float, float, float, float, float]:
    """``(u, v, du, dv, r)``: the foot pixel of one ``x1, y1, x2, y2`` box, world-down there,
    and the base's half-width across (px)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cu, cv = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    wb, hb = abs(x2 - x1), abs(y2 - y1)
    gu, gv = down_direction_px(pose, cu, cv)
    if gu == 0.0 and gv == 0.0:
        return cu, cv, 0.0, 0.0, min(wb, hb) / 2.0
    r = _solve_column(wb, hb, gu, gv)
    # The near edge of the base: the box's world-down end, at the middle of the strip's end.
    eu = (x2 - r * abs(gv) if gu > 0 else x1 + r * abs(gv)) if abs(gu) > 1e-9 else cu
    ev = (y2 - r * abs(gu) if gv > 0 else y1 + r * abs(gu)) if abs(gv) > 1e-9 else cv
    # The base centre is behind that edge by the base disc's foreshortened radius.
    sin_dep = math.sin(math.radians(max(0.0, depression_deg(pose, eu, ev))))
    fu, fv = eu - gu * r * sin_dep, ev - gv * r * sin_dep
    # Never beyond the box centre: a squat box is a column seen end-on.
    if (fu - cu) * gu + (fv - cv) * gv < 0:
        fu, fv = cu, cv
    return fu, fv, gu, gv, r


# Cells at or above this share of the column's most confident cell outline it; chosen on the
# validation views of benchmarks/aerial_validation.py (0.3: nadir 1.60 m, 45° 2.28 m median;
# 0.5: 1.47 / 2.94 m; 0.7: 1.28 / 3.60 m), never on the tests' or the demo's scenes.
CELL_PEAK_SHARE = 0.3
# The column's near end is the centre of its last cell, not the cell's outer edge: chosen on the
# same validation views after the synthetic flames were made to stand on their ground point
# (aerial4; docs/aerial.md): centre 1.86 m nadir / 2.46 m 45° median, outer edge 2.15 / 3.12 m
# (both err towards the camera with the edge: -1.3 / -1.9 m along the view; centre -0.5 / 0.0 m).
END_AT_CELL_CENTRE = True


def cells_foot_px(pose: PinholePose, cells: np.ndarray, *, peak_share: float | None = None
                  ) -> tuple[float, float, float, float, float] | None:
    """``(u, v, du, dv, r)`` as :func:`box_foot_px`, from a column's scored cells instead of its box.

    ``cells``: rows ``u_px, v_px, score, cell_w_px, cell_h_px`` (cell centres and sizes in
    the image). The column is outlined by its cells scoring at least ``peak_share`` of the
    best one (``CELL_PEAK_SHARE`` by default); its axis runs along world-down through their score-weighted centroid; its
    near end is the centre of the farthest such cell along world-down (not the cell's outer
    edge: a cell scores a flame that covers only part of it, and the model's view of each
    cell is wider than the cell, so the scored region runs past the flame by about half a
    cell; ``END_AT_CELL_CENTRE``), its half-width ``r`` half the
    cells' spread across it; the base centre lies behind the near end by
    ``r · sin(depression)``, as for a box. A box is the cells' bounding rectangle, which
    adds up to a cell of slack on each side and a corner of the rectangle where a leaning
    column has none; the cells' own extent along and across world-down does not.
    None when there are no cells.
    """
    c = np.asarray(cells, dtype=float).reshape(-1, 5)
    if not len(c) or not np.isfinite(c).all() or c[:, 2].max() <= 0:
        return None
    c = c[c[:, 2] >= (CELL_PEAK_SHARE if peak_share is None else peak_share) * c[:, 2].max()]
    w = c[:, 2]
    cu, cv = float(np.average(c[:, 0], weights=w)), float(np.average(c[:, 1], weights=w))
    gu, gv = down_direction_px(pose, cu, cv)
    if gu == 0.0 and gv == 0.0:  # end-on under the camera: the centroid is the base
        half = 0.5 * float(np.mean(np.hypot(c[:, 3], c[:, 4])))
        return cu, cv, 0.0, 0.0, half
    s = (c[:, 0] - cu) * gu + (c[:, 1] - cv) * gv  # along world-down
    t = -(c[:, 0] - cu) * gv + (c[:, 1] - cv) * gu  # across it
    half_s = 0.5 * (abs(gu) * c[:, 3] + abs(gv) * c[:, 4])
    half_t = 0.5 * (abs(gv) * c[:, 3] + abs(gu) * c[:, 4])
    s_end = float((s + (0.0 if END_AT_CELL_CENTRE else half_s)).max())
    t_lo, t_hi = float((t - half_t).min()), float((t + half_t).max())
    r, t_mid = (t_hi - t_lo) / 2.0, (t_hi + t_lo) / 2.0
    eu, ev = cu + gu * s_end - gv * t_mid, cv + gv * s_end + gu * t_mid
    sin_dep = math.sin(math.radians(max(0.0, depression_deg(pose, eu, ev))))
    fu, fv = eu - gu * r * sin_dep, ev - gv * r * sin_dep
    if (fu - cu) * gu + (fv - cv) * gv < 0:  # never behind the centroid (a squat column seen end-on)
        fu, fv = cu - gv * t_mid, cv + gu * t_mid
    return fu, fv, gu, gv, r


def box_ground_feet(model, xyxy, *, max_range_m: float | None = None, cells=None) -> BoxFeet:
    """The ground point of each box (see the module doc) and its uncertainty.

    ``model``: a :class:`PinholePose`; any other pixel→ground model (a homography without
    a pose) gets the bottom centre and no uncertainty. ``cells``: optional, per box the
    column's scored cells (see :func:`cells_foot_px`) or None; where given, the foot comes
    from them, and the uncertainty still from the box.
    """
    b = np.atleast_2d(np.asarray(xyxy, dtype=float))
    if b.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4), got {b.shape}")
    if not isinstance(model, PinholePose):
        g = box_to_ground_point(model, b, max_range_m=max_range_m)
        return BoxFeet((b[:, 0] + b[:, 2]) / 2, np.maximum(b[:, 1], b[:, 3]), g, np.full(len(b), np.nan))
    per_box = list(cells) if cells is not None else [None] * len(b)
    if len(per_box) != len(b):
        raise ValueError(f"cells: {len(per_box)} entries for {len(b)} boxes")
    feet = [(cells_foot_px(model, cl) if cl is not None else None) or box_foot_px(model, row)
            for row, cl in zip(b, per_box)]
    u = np.array([f[0] for f in feet])
    v = np.array([f[1] for f in feet])
    ground = model.pixel_to_ground(u, v, max_range_m=max_range_m, check_image=False)
    unc = np.full(len(b), np.nan)
    for i, (fu, fv, gu, gv, r) in enumerate(feet):
        if not ground.ok[i]:
            continue
        # The base's extent: across (± r) and along world-down (to the box's near edge).
        x1, y1, x2, y2 = b[i]
        t = [abs(x2 - x1) / 2 / abs(gu) if abs(gu) > 1e-9 else math.inf,
             abs(y2 - y1) / 2 / abs(gv) if abs(gv) > 1e-9 else math.inf]
        cu, cv = (x1 + x2) / 2, (y1 + y2) / 2
        t_edge = min(t) if (gu or gv) else 0.0
        pu = np.array([cu + gu * t_edge, fu - gv * r, fu + gv * r]) if (gu or gv) else \
            np.array([cu - r, cu + r, cu])
        pv = np.array([cv + gv * t_edge, fv + gu * r, fv - gu * r]) if (gu or gv) else \
            np.array([cv, cv, cv + r])
        g = model.pixel_to_ground(pu, pv, check_image=False)
        d = np.hypot(g.east_m - ground.east_m[i], g.north_m - ground.north_m[i])
        d = d[np.isfinite(d)]
        unc[i] = float(d.max()) if d.size else np.nan
    return BoxFeet(u, v, ground, unc)


def height_on_column_m(pose: PinholePose, u_px: float, v_px: float, east_m: float, north_m: float
                       ) -> tuple[float, float]:
    """Where the pixel's ray passes the vertical line standing at ground point (east, north)
    (metres from the camera's ground point): ``(height_m, miss_m)``, the ray's height above
    the ground there and its horizontal distance from the line (NaN if it looks away)."""
    d = pose.rays_enu(np.array([u_px]), np.array([v_px]))[0]
    dh = math.hypot(d[0], d[1])
    if dh < 1e-9:
        return (math.nan, math.nan)
    ux, uy = d[0] / dh, d[1] / dh
    along = east_m * ux + north_m * uy
    if along <= 0:
        return (math.nan, math.nan)
    miss = abs(east_m * uy - north_m * ux)
    return pose.height_m + d[2] * along / dh, miss


def fits_column(pose: PinholePose, foot_en_m: tuple[float, float], half_width_m: float, box,
                *, max_height_m: float) -> bool:
    """Whether box ``x1, y1, x2, y2`` lies within an upright column standing at ``foot_en_m``:
    the rays through the middle of its top and bottom edges pass the column's axis between
    the ground and ``max_height_m`` above it, and within ``half_width_m`` plus the box's own
    half-width there (the box overlaps the column across the view)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cu = (x1 + x2) / 2.0
    for v in (y1, y2):
        h, miss = height_on_column_m(pose, cu, v, *foot_en_m)
        if not math.isfinite(h):
            return False
        dist_m = math.sqrt(foot_en_m[0] ** 2 + foot_en_m[1] ** 2 + (pose.height_m - h) ** 2)
        box_half_m = (x2 - x1) / 2.0 * dist_m / pose.intrinsics.fx_px
        if not (miss <= half_width_m + box_half_m and -half_width_m <= h <= max_height_m):
            return False
    return True
