"""Coverage-aware union of many view sectors (city to province scale).

A plain ``shapely.union_all`` of 170,000 sectors spends most of its time merging very
large intermediate geometries at the top of its cascade. Three cheap steps avoid most of
that work without changing the result:

1. **Exact duplicates** (co-located 360° cameras registered as several rows) are unioned once.
2. **Contained sectors** are dropped: a polygon whose enclosing circle lies inside the
   inscribed circle of a disc polygon (a 360° camera) adds nothing. The test is exact-safe
   (conservative) and vectorised over STRtree envelope pairs.
3. **Grouped union** (the product's path, :func:`grouped_union`): what is left is split
   into connected groups of sectors whose enclosing circles overlap; lone sectors need no
   overlay, each group is one ``union_all``. Groups are kept by a digest of their members,
   so a later build (after a registry edit) unions only the groups whose members changed.
   (:class:`geo.coverage.TiledCoverage` instead clips to a square grid and unions per
   tile; kept for callers that want per-tile pieces.)
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

logger = logging.getLogger(__name__)


def dedupe_polygons(polys: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct polygon (exact coordinates).

    Candidates share bounds, area and vertex count (a cheap numeric key, grouped with one
    lexsort); they are confirmed with ``equals_exact`` so distinct polygons are never merged.
    """
    if polys.size == 0:
        return np.array([], dtype=np.int64)
    key = np.column_stack([shapely.bounds(polys), shapely.area(polys), shapely.get_num_coordinates(polys)])
    order = np.lexsort(key.T[::-1])  # stable: within a run, original order
    k = key[order]
    same = np.r_[False, (k[1:] == k[:-1]).all(axis=1)]
    head = order[np.maximum.accumulate(np.where(same, 0, np.arange(order.size)))]  # first of each run
    dup = order[same]
    first = head[same]
    equal = shapely.equals_exact(polys[dup], polys[first], tolerance=0.0)
    keep = np.ones(polys.size, dtype=bool)
    keep[dup[equal]] = False
    return np.flatnonzero(keep)


def _ring_coords(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exterior ring coordinates (closing one included): (coords, owner, start of each ring)."""
    coords, idx = shapely.get_coordinates(shapely.get_exterior_ring(polys), return_index=True)
    starts = np.r_[0, np.flatnonzero(idx[1:] != idx[:-1]) + 1]
    return coords, idx, starts


def areal_polygons(geoms: np.ndarray) -> np.ndarray:
    """The Polygons of ``geoms`` with area > 0 (an overlay's pieces without the points,
    lines and empty pieces it can leave)."""
    geoms = np.asarray(geoms, dtype=object)
    return geoms[(shapely.get_type_id(geoms) == 3) & (shapely.area(geoms) > 0)]


def _geos_union_parts(polys: np.ndarray) -> np.ndarray:
    """One ``shapely.union_all`` of ``polys`` as its areal Polygons."""
    return areal_polygons(shapely.get_parts(shapely.union_all(polys)))


def enclosing_circles(polys: np.ndarray, rings=None) -> tuple[np.ndarray, np.ndarray]:
    """(centre (N, 2), radius (N,)) of a circle enclosing each polygon's exterior vertices.

    Centre = mean of the ring's vertices, radius = farthest vertex: not minimal, but any
    polygon lies inside the convex hull of its vertices, so inside this circle.
    """
    coords, idx, starts = rings if rings is not None else _ring_coords(polys)
    n = polys.size
    counts = np.bincount(idx, minlength=n).astype(float)
    cx = np.bincount(idx, weights=coords[:, 0], minlength=n) / counts
    cy = np.bincount(idx, weights=coords[:, 1], minlength=n) / counts
    d = np.hypot(coords[:, 0] - cx[idx], coords[:, 1] - cy[idx])
    rad = np.maximum.reduceat(d, starts) if d.size else np.zeros(n)
    return np.column_stack([cx, cy]), rad


def disc_inner_circles(discs: np.ndarray, rings=None) -> tuple[np.ndarray, np.ndarray]:
    """(centre, inscribed radius) of convex discs (regular polygons, as built by
    :func:`geo.sectors.view_sectors`): the mean of the vertices and its distance to the
    nearest edge line, shrunk by 1e-9 of itself against rounding."""
    coords, idx, starts = rings if rings is not None else _ring_coords(discs)
    n = discs.size
    closing = np.r_[starts[1:] - 1, idx.size - 1]
    counts = np.bincount(idx, minlength=n).astype(float) - 1.0
    cx = (np.bincount(idx, weights=coords[:, 0], minlength=n) - coords[closing, 0]) / counts
    cy = (np.bincount(idx, weights=coords[:, 1], minlength=n) - coords[closing, 1]) / counts
    a, b = coords[:-1], coords[1:]
    edge = idx[1:] == idx[:-1]
    a, b, own = a[edge], b[edge], idx[:-1][edge]
    ex, ey = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    px, py = cx[own] - a[:, 0], cy[own] - a[:, 1]
    dist = np.abs(ex * py - ey * px) / np.hypot(ex, ey)
    inner = np.minimum.reduceat(dist, starts - np.arange(starts.size)) if dist.size else np.zeros(n)
    return np.column_stack([cx, cy]), inner * (1.0 - 1e-9)


def contained_in_discs(polys: np.ndarray, is_disc: np.ndarray) -> np.ndarray:
    """Boolean mask: polygon ``i`` lies inside some *other* disc polygon (safe to drop from a union)."""
    polys = np.asarray(polys, dtype=object)
    is_disc = np.asarray(is_disc, dtype=bool)
    out = np.zeros(polys.size, dtype=bool)
    disc_idx = np.flatnonzero(is_disc)
    if disc_idx.size == 0 or polys.size < 2:
        return out
    coords, idx, starts = _ring_coords(polys)
    pc, pr = enclosing_circles(polys, (coords, idx, starts))
    sel = is_disc[idx]
    d_idx = np.cumsum(is_disc) - 1  # position among the discs
    d_starts = np.r_[0, np.flatnonzero(np.diff(idx[sel]) != 0) + 1] if sel.any() else np.array([], dtype=np.int64)
    dc, dr = disc_inner_circles(polys[disc_idx], (coords[sel], d_idx[idx[sel]], d_starts))
    # Only polygons smaller than the biggest disc can be inside one.
    cand = np.flatnonzero(pr < dr.max())
    if cand.size == 0:
        return out
    tree = shapely.STRtree(polys[disc_idx])
    # Envelope pairs only (no GEOS predicate): the circle test below decides.
    k, j = tree.query(polys[cand])
    i = cand[k]
    other = disc_idx[j] != i
    i, j = i[other], j[other]
    inside = np.hypot(pc[i, 0] - dc[j, 0], pc[i, 1] - dc[j, 1]) + pr[i] <= dr[j]
    out[i[inside]] = True
    return out


THREADED_QUERY_GEOMS = 50_000  # fewer query geometries: one thread


def in_halves(work: Callable[[slice], object], n: int, min_items: int) -> list:
    """``[work(slice(None))]``, or, for ``n >= min_items`` items on a machine with two cores
    or more, ``[work(first half), work(second half)]`` with the second half run on a thread
    meanwhile: for work whose library releases the GIL (GEOS tree queries, PROJ, numpy)."""
    if n < min_items or (os.cpu_count() or 1) < 2:
        return [work(slice(None))]
    from concurrent.futures import ThreadPoolExecutor

    h = n // 2
    with ThreadPoolExecutor(max_workers=1) as pool:
        second = pool.submit(work, slice(h, None))
        return [work(slice(0, h)), second.result()]


def query_pairs(tree: shapely.STRtree, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(geoms)`` (pairs: input index, tree index), the two halves of a large
    input on two threads (:func:`in_halves`): the same arrays, in the same order, in ~60 %
    of the wall time on an idle second core."""
    geoms = np.asarray(geoms, dtype=object)
    got = in_halves(lambda part: tree.query(geoms[part]), geoms.size, THREADED_QUERY_GEOMS)
    if len(got) == 1:
        return got[0]
    (a1, b1), (a2, b2) = got
    return np.concatenate([a1, a2 + geoms.size // 2]), np.concatenate([b1, b2])


def shape_circles(params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre x, centre y, radius) of a circle enclosing each sector, from its shape row
    (apex x, y, grid heading, fov, reach): a disc's circle; for fov <= 180 the circle
    centred half the reach out along the heading (radius the larger of ``reach / 2`` and
    the distance to an arc end); wider sectors the circle of their reach around the apex.
    Radii carry a 1e-9 relative (+1 nm) margin for rounding."""
    x, y, head, fov, reach = (params[:, i] for i in range(5))
    narrow = (fov < 360.0) & (fov <= 180.0)
    h = np.radians(head)
    half = np.where(narrow, 0.5, 0.0)
    cx, cy = x + half * reach * np.sin(h), y + half * reach * np.cos(h)
    far = np.sqrt(np.maximum(1.25 - np.cos(np.radians(np.minimum(fov, 180.0)) / 2.0), 0.25))
    return cx, cy, np.where(narrow, reach * far, reach) * (1.0 + 1e-9) + 1e-9


def contained_in_discs_by_shape(params: np.ndarray, n_vertices: np.ndarray) -> np.ndarray:
    """:func:`contained_in_discs` from the sectors' shapes (``ViewSectors.params_m``: apex
    x, y, grid heading, fov, reach) instead of their vertices: the same safe test with
    circles known in closed form, and no GEOS call.

    A disc (fov 360, ``n_vertices`` corners on a circle of radius reach) holds the circle of
    radius ``reach * cos(pi / n)``; a sector of fov <= 180 lies in the circle through its
    apex centred half its reach out along the heading (radius the larger of ``reach / 2``
    and the distance to an arc end), a wider one in the circle of its reach. Radii carry a
    1e-9 relative margin for rounding.
    """
    x, y, _, fov, reach = (params[:, i] for i in range(5))
    n = x.size
    out = np.zeros(n, dtype=bool)
    disc = fov >= 360.0
    disc_idx = np.flatnonzero(disc)
    if disc_idx.size == 0 or n < 2:
        return out
    inner = reach[disc_idx] * np.cos(np.pi / np.maximum(n_vertices[disc_idx], 3)) * (1.0 - 1e-9)
    cx, cy, enc = shape_circles(params)
    cand = np.flatnonzero(enc < inner.max())
    if cand.size == 0:
        return out
    # Envelope pairs of the circles' boxes (a disc's box holds its whole polygon).
    dx, dy, dr = x[disc_idx], y[disc_idx], reach[disc_idx]
    tree = shapely.STRtree(shapely.box(dx - dr, dy - dr, dx + dr, dy + dr))
    k, j = query_pairs(tree, shapely.box(cx[cand] - enc[cand], cy[cand] - enc[cand], cx[cand] + enc[cand],
                                         cy[cand] + enc[cand]))
    i = cand[k]
    other = disc_idx[j] != i
    i, j = i[other], j[other]
    dj = disc_idx[j]
    inside = np.hypot(cx[i] - x[dj], cy[i] - y[dj]) + enc[i] <= inner[j]
    out[i[inside]] = True
    return out


def _shape_keep(params: np.ndarray, n_vertices: np.ndarray) -> np.ndarray:
    """Indices of the sectors that matter, from their shape rows (see :func:`coverage_union_polygons`):
    the first of equal rows, and not inside another camera's disc. ``n_vertices``: each
    polygon's corner count (coordinates less the closing one)."""
    order = np.lexsort(params.T[::-1])
    p = params[order]
    same = np.r_[False, (p[1:] == p[:-1]).all(axis=1)]
    keep = np.sort(order[~same])  # the first of equal rows (lexsort is stable)
    drop = contained_in_discs_by_shape(params[keep], np.asarray(n_vertices)[keep])
    logger.debug("coverage union: %d polygons, %d contained in a disc", keep.size, int(drop.sum()))
    return keep[~drop]


def coverage_union_polygons(polys: np.ndarray, is_disc: np.ndarray | None = None, *,
                            params: np.ndarray | None = None) -> np.ndarray:
    """The polygons that matter for the union: duplicates and disc-contained polygons removed.

    With ``params`` (the sectors' shapes, ``ViewSectors.params_m``, one row per polygon)
    duplicates are equal shape rows (the same parameters build the same polygon) and the
    containment test uses closed-form circles: no vertex is read.
    """
    polys = np.asarray(polys, dtype=object)
    if params is not None:
        return polys[_shape_keep(np.asarray(params, dtype=float), shapely.get_num_coordinates(polys) - 1)]
    keep = dedupe_polygons(polys)
    polys = polys[keep]
    if is_disc is None:
        return polys
    is_disc = np.asarray(is_disc, dtype=bool)[keep]
    drop = contained_in_discs(polys, is_disc)
    logger.debug("coverage union: %d polygons, %d contained in a disc", polys.size, int(drop.sum()))
    return polys[~drop]


def union_parts(polys: np.ndarray, is_disc: np.ndarray | None = None, *,
                params: np.ndarray | None = None, workers: int = 1, engine: str | None = None) -> np.ndarray:
    """The union of ``polys`` as an array of disjoint Polygons (parts may touch at points).

    After :func:`coverage_union_polygons`, the polygons are unioned per connected group:
    polygons that overlap nothing are not overlaid at all and each city-sized cluster is
    unioned on its own, instead of one cascade over the whole province. With ``params``
    (``ViewSectors.params_m``) the groups come from the sectors' enclosing circles
    (envelope pairs, then a circle test, then connected components: no GEOS predicate)
    and ``workers > 1`` unions them on that many threads (GEOS releases the GIL; CPU time
    is the same, wall time shorter on idle cores); without, GEOS's ``DisjointSubsetUnion``.
    The result is the geometry of one ``union_all`` of all of them (with the Clipper2
    ``engine``, :func:`grouped_union`'s default, on a 1 mm grid: areas agree to ~1e-8).
    """
    polys = np.asarray(polys, dtype=object)
    present = ~shapely.is_missing(polys)
    polys = polys[present]
    if polys.size == 0:
        return np.array([], dtype=object)
    if params is None:
        polys = coverage_union_polygons(polys, None if is_disc is None else np.asarray(is_disc, dtype=bool)[present])
        union = getattr(shapely, "disjoint_subset_union_all", shapely.union_all)
        parts = shapely.get_parts(union(polys))
    else:
        params = np.asarray(params, dtype=float)[present]
        n_vertices = shapely.get_num_coordinates(polys) - 1
        return grouped_union(params, n_vertices, lambda idx: polys[idx], workers=workers, engine=engine).parts
    return areal_polygons(parts)


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label (the smallest member) of each of ``n`` nodes joined by
    edges ``a``--``b``: vectorised hooking and pointer jumping (no scipy import)."""
    label = np.arange(n)
    while a.size:
        la, lb = label[a], label[b]
        diff = la != lb
        if not diff.any():
            break
        a, b, la, lb = a[diff], b[diff], la[diff], lb[diff]
        np.minimum.at(label, np.maximum(la, lb), np.minimum(la, lb))
        while True:  # point every node at its root
            up = label[label]
            if np.array_equal(up, label):
                break
            label = up
    return label


@dataclass
class GroupedUnion:
    """A union as disjoint Polygons, kept per group so that a later build can reuse it.

    ``parts`` holds first the ``n_alone`` polygons that overlap nothing (no overlay), then
    the union parts of each group in turn (``group_n`` parts each). A group is a connected
    set of sectors whose enclosing circles overlap; ``group_keys`` (16-byte digests, one
    row per group) name a group by its members' shape rows and the build settings
    (``salt``), so two builds with a group of the same members get the same union: a
    registry change only re-unions the groups whose members changed.
    """

    parts: np.ndarray
    n_alone: int
    group_keys: np.ndarray  # (G, 16) uint8
    group_n: np.ndarray  # (G,) int64
    reused: int = 0  # groups taken from the previous build
    unioned: int = 0  # groups unioned by this build

    def part_groups(self) -> np.ndarray:
        """A group number for each of ``parts`` (a polygon that overlaps nothing is a group
        of its own). Parts of different groups never touch: their sectors' enclosing
        circles (radii with a rounding margin) are apart, by more than 2 mm with Clipper2
        (over twice its grid error); GEOS's parts are its inputs' exact union, inside them."""
        return np.r_[np.arange(self.n_alone), self.n_alone + np.repeat(np.arange(self.group_n.size), self.group_n)]

    def by_key(self) -> dict[bytes, np.ndarray]:
        """Parts of each group, by its key."""
        ends = self.n_alone + np.cumsum(self.group_n)
        return {k.tobytes(): self.parts[e - n:e]
                for k, e, n in zip(self.group_keys, ends.tolist(), self.group_n.tolist(), strict=True)}


def group_labels(params: np.ndarray, margin_m: float = 0.0) -> np.ndarray:
    """Connected-component label of each sector (shape rows, ``ViewSectors.params_m``):
    sectors whose enclosing circles overlap, or come within ``margin_m`` of each other, are
    joined (boxes of the circles paired with an STRtree, then the exact circle test; no
    polygon needed)."""
    cx, cy, enc = shape_circles(params)
    enc = enc + margin_m / 2.0
    boxes = shapely.box(cx - enc, cy - enc, cx + enc, cy + enc)
    a, b = query_pairs(shapely.STRtree(boxes), boxes)
    near = (a < b) & (np.hypot(cx[a] - cx[b], cy[a] - cy[b]) <= enc[a] + enc[b])
    return _components(params.shape[0], a[near], b[near])


def union_engine(engine: str | None = None) -> str:
    """The per-group union engine to use: ``"clipper2"`` (the default when it imports) or
    ``"geos"`` (``shapely.union_all``)."""
    if engine is None:
        from geo import clipper_union

        return "clipper2" if clipper_union.available() else "geos"
    if engine not in ("clipper2", "geos"):
        raise ValueError(f"unknown union engine {engine!r}")
    return engine


def grouped_union(params: np.ndarray, n_vertices: np.ndarray, polygons: Callable[[np.ndarray], np.ndarray], *,
                  previous: GroupedUnion | None = None, salt: bytes = b"", workers: int = 1,
                  rings: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
                  engine: str | None = None, sectors: bool = False) -> GroupedUnion:
    """The union of the sectors with shape rows ``params`` as a :class:`GroupedUnion`.

    ``polygons(idx)`` returns the polygons of rows ``idx`` (built on demand: rows dropped
    by the pre-filter, and rows of groups found in ``previous``, are never built).
    Duplicates and sectors inside another camera's disc are dropped
    (:func:`contained_in_discs_by_shape`), the rest grouped (:func:`group_labels`); a
    group whose key is in ``previous`` (same members, same ``salt``) takes its parts from
    there, every other group is unioned. The same inputs give the same parts whether a
    group was reused or unioned.

    ``engine`` (:func:`union_engine`; default Clipper2 when it imports): ``"clipper2"``
    unions each group's exterior rings on a 1 mm integer grid
    (:func:`geo.clipper_union.union_groups`; ``rings(idx)`` gives the closed rings of rows
    ``idx`` as ``(coords, bounds)``, e.g. :func:`geo.sectors.sector_rings`, else they are
    read from ``polygons``: group members' polygons are then never built), its Clipper2 calls
    shared with ``workers - 1`` forked processes on large inputs (same result); with
    ``sectors`` the rows are view-sector shape rows (``n_vertices`` = segments + 2) and each
    process builds the rings of its share itself (:func:`geo.clipper_union.union_sector_groups`,
    what the product does); ``"geos"``
    runs one ``union_all`` per group in shape-row order, optionally on ``workers`` threads
    (GEOS releases the GIL). The engine is part of the group keys, so parts of one engine are
    never reused by the other.
    """
    engine = union_engine(engine)
    if engine == "clipper2":
        from geo import clipper_union

        salt = salt + f"engine=clipper2 {clipper_union.version()} grid={clipper_union.GRID_M}|".encode()
    else:
        salt = salt + b"engine=geos|"
    params = np.asarray(params, dtype=float).reshape(-1, 5)
    n_vertices = np.asarray(n_vertices, dtype=np.int64)
    empty = np.zeros((0, 16), dtype=np.uint8)
    if params.shape[0] == 0:
        return GroupedUnion(np.array([], dtype=object), 0, empty, np.zeros(0, dtype=np.int64))
    keep = _shape_keep(params, n_vertices)
    p, nv = params[keep], n_vertices[keep]
    # Clipper2's parts lie within 0.71 mm (half a grid diagonal) of the exact union: groups
    # closer than 2 mm are joined so that parts of different groups never overlap.
    label = group_labels(p, margin_m=2e-3 if engine == "clipper2" else 0.0)
    size = np.bincount(label)
    alone = keep[size[label] == 1]
    member = np.flatnonzero(size[label] > 1)
    # Members of a group together, each group in shape-row order (deterministic input).
    rows = np.column_stack([p[member], nv[member].astype(float)])
    order = member[np.lexsort((*rows.T[::-1], label[member]))]
    cuts = np.flatnonzero(np.diff(label[order])) + 1
    bounds = [0, *cuts.tolist(), order.size]
    groups = [order[a:b] for a, b in itertools.pairwise(bounds)] if order.size else []
    rows_all = np.column_stack([p, nv.astype(float)])
    keys = np.zeros((len(groups), 16), dtype=np.uint8)
    for i, g in enumerate(groups):
        keys[i] = np.frombuffer(hashlib.blake2b(salt + rows_all[g].tobytes(), digest_size=16).digest(),
                                dtype=np.uint8)
    known = previous.by_key() if previous is not None else {}
    todo = [i for i in range(len(groups)) if keys[i].tobytes() not in known]
    need = np.concatenate([np.arange(0), *(groups[i] for i in todo)]).astype(np.int64)
    lone = np.flatnonzero(size[label] == 1)
    if engine == "clipper2":
        from geo import clipper_union

        alone_polys = np.asarray(polygons(keep[lone]), dtype=object) if lone.size else np.array([], dtype=object)
        done = {}
        if todo:
            at = np.r_[0, np.cumsum([groups[i].size for i in todo])]
            local_groups = [np.arange(at[j], at[j + 1]) for j in range(len(todo))]
            if sectors:  # each process builds the rings of its share from the rows
                got, got_n, failed = clipper_union.union_sector_groups(
                    params[keep[need]], n_vertices[keep[need]] - 2, local_groups, workers=workers)
            else:
                coords, bounds = rings(keep[need]) if rings is not None else _exterior_rings(polygons(keep[need]))
                got, got_n, failed = clipper_union.union_groups(clipper_union.to_grid(coords), bounds, local_groups,
                                                                workers=workers)
            ends = np.cumsum(got_n)
            done = {i: got[e - n:e] for i, e, n in zip(todo, ends.tolist(), got_n.tolist(), strict=True)}
            for j in failed.tolist():  # output Clipper2 gave that could not be read: GEOS for that group
                done[todo[j]] = _geos_union_parts(polygons(keep[groups[todo[j]]]))
    else:
        built = polygons(keep[np.concatenate([lone, need])])
        alone_polys = np.asarray(built[:alone.size], dtype=object)
        by_row = dict(zip(need.tolist(), range(alone.size, alone.size + need.size), strict=True))

        def run(chunk: list) -> list:
            return [(i, _geos_union_parts(built[[by_row[r] for r in groups[i].tolist()]])) for i in chunk]

        if workers > 1 and len(todo) >= 4 * workers:
            from concurrent.futures import ThreadPoolExecutor

            big = sorted(todo, key=lambda i: -groups[i].size)
            chunks = [big[k::4 * workers] for k in range(4 * workers)]
            with ThreadPoolExecutor(max_workers=workers) as pool:
                done = dict(pair for got in pool.map(run, chunks) for pair in got)
        else:
            done = dict(run(todo))
    group_parts = [done[i] if i in done else known[keys[i].tobytes()] for i in range(len(groups))]
    parts = np.concatenate([alone_polys, *group_parts]) if group_parts else alone_polys
    return GroupedUnion(parts, int(alone.size), keys, np.array([g.size for g in group_parts], dtype=np.int64),
                        reused=len(groups) - len(todo), unioned=len(todo))


def _exterior_rings(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coords, bounds) of the polygons' closed exterior rings (see :func:`geo.sectors.sector_rings`)."""
    coords, idx, _ = _ring_coords(np.asarray(polys, dtype=object))
    ends = np.cumsum(np.bincount(idx, minlength=len(polys))).astype(np.int64)
    return coords, np.column_stack([np.r_[0, ends[:-1]], ends])
