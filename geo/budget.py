"""Resource budgets for user-drawn polygons, checked before any expensive geometry.

``shapely.make_valid`` on a random 3,000-vertex self-crossing polygon runs for minutes
(the repair is quadratic in the number of crossings), and a whole-world AOI makes the
coverage tiling and the survey planner allocate gigabytes. These checks are cheap
(vertex count, a chunked segment STRtree query that stops at the cap, geodesic area)
and turn such inputs into one clear :class:`~geo.errors.InvalidGeometryError`.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer

from geo.errors import InvalidGeometryError

MAX_VERTICES = 100_000
MAX_CROSSINGS = 1_000  # a real boundary with a few self-overlaps has a handful
_CHUNK = 16
_EQUAL_AREA = Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)


def check_vertices(geom: shapely.Geometry, *, what: str, max_vertices: int = MAX_VERTICES) -> None:
    n = int(shapely.get_num_coordinates(geom))
    if n > max_vertices:
        raise InvalidGeometryError(f"{what}: {n} vertices, more than the limit of {max_vertices} "
                                   "(setting limits.aoi_max_vertices); simplify the polygon")


def count_crossings(geom: shapely.Geometry, *, cap: int = MAX_CROSSINGS) -> int:
    """Pairs of non-adjacent polygon edges that touch or cross, counted up to ``cap`` + 1."""
    rings = []
    for poly in shapely.get_parts(geom):
        if isinstance(poly, shapely.Polygon) and not poly.is_empty:
            rings.append(np.asarray(poly.exterior.coords))
            rings.extend(np.asarray(r.coords) for r in poly.interiors)
    if not rings:
        return 0
    starts, ends, ring_id, seg_idx, ring_len = [], [], [], [], []
    for k, c in enumerate(rings):
        if len(c) < 2:
            continue
        starts.append(c[:-1])
        ends.append(c[1:])
        ring_id.append(np.full(len(c) - 1, k))
        seg_idx.append(np.arange(len(c) - 1))
        ring_len.append(np.full(len(c) - 1, len(c) - 1))
    a, b = np.concatenate(starts), np.concatenate(ends)
    rid, sidx, rlen = np.concatenate(ring_id), np.concatenate(seg_idx), np.concatenate(ring_len)
    segs = shapely.linestrings(np.stack([a, b], axis=1))
    tree = shapely.STRtree(segs)
    found = 0
    for lo in range(0, len(segs), _CHUNK):
        q, t = tree.query(segs[lo:lo + _CHUNK], predicate="intersects")
        q = q + lo
        keep = t > q  # each pair once, never a segment with itself
        same = rid[q] == rid[t]
        gap = np.abs(sidx[q] - sidx[t])
        adjacent = same & ((gap == 1) | (gap == rlen[q] - 1))
        found += int(np.count_nonzero(keep & ~adjacent))
        if found > cap:
            break
    return found


def check_crossings(geom: shapely.Geometry, *, what: str, max_crossings: int = MAX_CROSSINGS) -> None:
    n = count_crossings(geom, cap=max_crossings)
    if n > max_crossings:
        raise InvalidGeometryError(f"{what}: the polygon crosses itself more than {max_crossings} times; "
                                   "repairing it would take too long - draw it without crossings")


def area_km2(geom: shapely.Geometry) -> float:
    """Area of a WGS84 lon/lat (multi)polygon, km², in an equal-area projection (EPSG:6933).

    Edges are cut to <= 1 degree first so long lon/lat edges keep their drawn shape; a
    geodesic ring formula is not used because it is ambiguous for polygons that span
    the whole globe (it returns the smaller side).
    """
    g = shapely.segmentize(shapely.clip_by_rect(geom, -180.0, -89.9, 180.0, 89.9), 1.0)

    def fwd(xy: np.ndarray) -> np.ndarray:
        x, y = _EQUAL_AREA.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return float(shapely.transform(g, fwd).area) / 1e6


def check_area(geom: shapely.Geometry, *, what: str, max_area_km2: float | None) -> None:
    if max_area_km2 is None:
        return
    a = area_km2(geom)
    if not np.isfinite(a) or a > max_area_km2:
        raise InvalidGeometryError(f"{what}: area {a:,.1f} km² is larger than the limit of "
                                   f"{max_area_km2:g} km² (setting limits.aoi_max_area_km2); split it")
