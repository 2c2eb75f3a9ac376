"""Per-group polygon unions with Clipper2 (integer coordinates on a 1 mm grid).

The grouped union (:func:`geo.union.grouped_union`) overlays ~11,000 small groups of
overlapping sectors on a province; GEOS's overlay costs ~2x Clipper2's sweep on them
(measured 2.69 s vs 1.31 s CPU on the 170,000-camera box, docs/BENCHMARKS.md "fifth
pass"). Only per-group unions pay: one Clipper2 union of all 170,000 rings at once took
43 s.

Coordinates are frame metres rounded to :data:`GRID_M` (1 mm) and, per group, shifted by
a whole number of kilometres (the group's own origin, so a group's result depends on its
members only) to keep Clipper2's double-precision cross products exact. The union's
polygon tree (outer rings, holes, islands in holes) becomes shapely Polygons in one
vectorised ``from_ragged_array``; the few polygons that come out invalid (a ring touching
itself at a vertex: Clipper2 may fold a hole that touches the shell into the shell's ring;
~1 % of the province's parts) are repaired with ``make_valid(method="structure")`` (shells
unioned, holes subtracted: the same area; 5x cheaper there than the default linework
method).

``clipper2-py`` is optional at run time: :func:`available` is False when it cannot be
imported and callers fall back to ``shapely.union_all`` (said once in the log).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import shapely

from geo import forked_workers
from geo.sectors import sector_rings
from geo.union import areal_polygons

logger = logging.getLogger(__name__)

GRID_M = 1e-3  # integer grid of the unions, metres
_PER_M = 1000  # 1 / GRID_M, exact
_ORIGIN_M = 1000.0  # per-group origins are whole kilometres
_PAIRS_AT_ONCE = 1_000_000  # hole x shell box tests of one group done as one array, else an STRtree

try:
    import clipper2 as _clipper2
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    _clipper2 = None

_warned = False


def available() -> bool:
    """True when Clipper2 can be used; logs once when it cannot (the GEOS fallback runs)."""
    global _warned
    if _clipper2 is None and not _warned:
        _warned = True
        logger.warning("clipper2 (package clipper2-py) not importable: coverage unions fall back to "
                       "shapely.union_all (same area, ~2x slower cold builds)")
    return _clipper2 is not None


def version() -> str:
    """Clipper2's version ('' when it is not importable): part of the cached groups' keys."""
    return str(getattr(_clipper2, "CLIPPER2_VERSION", "")) if _clipper2 is not None else ""


def to_grid(coords_m: np.ndarray) -> np.ndarray:
    """Frame metres -> int64 grid units (rounded to the nearest :data:`GRID_M`)."""
    return np.rint(np.asarray(coords_m, dtype=float) * _PER_M).astype(np.int64)


def union_groups(grid: np.ndarray, bounds: np.ndarray, groups: Sequence[np.ndarray], *,
                 workers: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union each group of closed rings (sector exteriors) with Clipper2.

    ``grid``: ring coordinates in grid units (:func:`to_grid`), closing points included;
    ring ``r`` is ``grid[bounds[r, 0]:bounds[r, 1]]``; ``groups``: ring indices per group.
    Returns ``(parts, n_parts, failed)``: the union of every group as valid shapely Polygons
    (frame metres, group after group; parts of one group are disjoint and may touch at
    points), how many belong to each group, and the groups whose output could not be read
    as polygons (a hole ring in no shell: never seen; those have no parts here and the
    caller unions them another way).

    ``workers`` > 1 inside :func:`geo.forked_workers.early_workers`: the Clipper2 calls (clipper2-py holds the
    GIL, so threads give nothing) are shared with up to ``workers - 1`` of its forked
    processes when there is enough work (:data:`PARALLEL_MIN_RINGS` rings); each takes a
    share of the groups of about equal estimated cost (:func:`_shares`) as flat int64
    arrays, unions them and makes them valid polygons (all of this is group by group), and
    sends them back as flat arrays (coordinates, ring and polygon offsets), put back in
    group order: the same parts as one process. Clipper2 is deterministic, so the result is the same as with one worker. This
    buys wall time, not CPU time (the fork and the transfer cost a little CPU).
    """
    bounds = np.asarray(bounds, dtype=np.int64).reshape(-1, 2)
    if not len(groups):
        return np.array([], dtype=object), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # Each group's origin: whole kilometres below its first ring's first point.
    shift = int(_ORIGIN_M * _PER_M)
    first = np.array([int(g[0]) for g in groups], dtype=np.int64)
    origins = np.floor_divide(grid[bounds[first, 0]], shift) * shift  # (G, 2)
    ring_origin = np.zeros((bounds.shape[0], 2), dtype=np.int64)
    ring_origin[np.concatenate(groups)] = np.repeat(origins, [len(g) for g in groups], axis=0)
    by_start = np.argsort(bounds[:, 0], kind="stable")
    coord_ring = np.repeat(by_start, bounds[by_start, 1] - bounds[by_start, 0])
    if coord_ring.size != grid.shape[0]:
        raise ValueError("ring bounds do not cover the coordinates exactly")
    local = grid - ring_origin[coord_ring]
    starts, ends = bounds[:, 0].tolist(), (bounds[:, 1] - 1).tolist()  # each closing point dropped

    def run(which: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clipper2's output rings of groups ``which`` (in that order)."""
        return _union_rings(([local[starts[r]:ends[r]] for r in groups[gi].tolist()] for gi in which.tolist()),
                            which.size)

    n_rings = sum(len(g) for g in groups)
    pool = forked_workers.pool() if _clipper2 is not None else []
    helpers = min(int(workers) - 1, len(pool), len(groups) - 1)
    if helpers > 0 and n_rings >= PARALLEL_MIN_RINGS:
        shares = _shares(np.array([int(bounds[g, 1].sum() - bounds[g, 0].sum()) for g in groups]), helpers + 1)
        lo, hi = bounds[:, 0], bounds[:, 1] - 1

        def job(which: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """A share's input as flat arrays: ring coordinates, ring lengths, rings per group."""
            if not which.size:
                return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
            r = np.concatenate([groups[g] for g in which.tolist()])
            n = hi[r] - lo[r]
            at = np.repeat(lo[r] - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(int(n.sum()))
            return local[at], n, np.array([len(groups[g]) for g in which.tolist()], dtype=np.int64)

        def here(which: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return _polygons(*run(which), origins[which])

        done = _with_workers(here, shares, [(*job(w), origins[w]) for w in shares[1:]], pool[:helpers])
        return _in_group_order(done, shares)
    flat_i, length, group_rings = run(np.arange(len(groups)))
    return _polygons(flat_i, length, group_rings, origins)


def union_sector_groups(params_m: np.ndarray, n_seg: np.ndarray, groups: Sequence[np.ndarray], *,
                        workers: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`union_groups` of view sectors given by their shape rows (``params_m``, ``n_seg``:
    :func:`geo.sectors.sector_rings`; ``groups``: row indices per group): the same parts.

    Each process builds the closed rings of its own share of the groups from the rows, so a
    forked worker is sent 6 numbers per sector instead of its ring coordinates (~40 MB on
    the province), and the parent no longer builds, grids and copies the worker's rings.
    A row's ring is the same doubles whichever rows it is built with (element-wise numpy).
    """
    params_m = np.asarray(params_m, dtype=np.float64).reshape(-1, 5)
    n_seg = np.asarray(n_seg, dtype=np.int64)
    if not len(groups):
        return np.array([], dtype=object), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pool = forked_workers.pool() if _clipper2 is not None else []
    helpers = min(int(workers) - 1, len(pool), len(groups) - 1)

    def rows(which: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A share's input: its rows' shape rows and segment counts, group after group, and the rows per group."""
        r = np.concatenate([groups[g] for g in which.tolist()]) if which.size else np.zeros(0, dtype=np.int64)
        return params_m[r], n_seg[r], np.array([len(groups[g]) for g in which.tolist()], dtype=np.int64)

    if helpers > 0 and sum(len(g) for g in groups) >= PARALLEL_MIN_RINGS:
        shares = _shares(np.array([int((n_seg[g] + 3).sum()) for g in groups]), helpers + 1)
        done = _with_workers(lambda which: _sector_share(*rows(which)), shares, [rows(w) for w in shares[1:]],
                             pool[:helpers], kind=b"sectors")
        return _in_group_order(done, shares)
    return _sector_share(*rows(np.arange(len(groups))))


def _sector_share(params_m: np.ndarray, n_seg: np.ndarray, per_group: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of consecutive groups of sectors (``per_group`` rows each), in one process."""
    if not per_group.size:
        return np.array([], dtype=object), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    coords, bounds = sector_rings(params_m, n_seg)
    at = np.r_[0, np.cumsum(per_group)]
    return union_groups(to_grid(coords), bounds, [np.arange(at[j], at[j + 1]) for j in range(per_group.size)])


PARALLEL_MIN_RINGS = 20_000  # fewer rings than this: one process (a fork costs ~10-30 ms)


def _shares(n_vertices: np.ndarray, workers: int) -> list[np.ndarray]:
    """Groups per worker (each ascending), balanced by an estimated Clipper2 cost: largest
    first to the least loaded worker. The cost grows faster than the vertex count (the
    province's largest group, 174,000 vertices, took 0.31 s; one of 47,000, 0.044 s), so
    groups are weighed ``n log2 n`` plus a fixed cost per call."""
    n = np.maximum(np.asarray(n_vertices, dtype=float), 1.0)
    cost = n * np.log2(n + 1.0) + 200.0
    load = np.zeros(workers)
    owner = np.zeros(n.size, dtype=np.int64)
    for gi in np.argsort(-cost, kind="stable").tolist():
        w = int(np.argmin(load))
        owner[gi] = w
        load[w] += cost[gi]
    return [np.flatnonzero(owner == w) for w in range(workers)]


def _in_group_order(done: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                    shares: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shares' ``(parts, parts per group, failed groups)`` put back group after group
    (each group's parts in their order): what one :func:`_polygons` call of all groups gives."""
    gid = np.concatenate(shares)
    per_group = np.concatenate([d[1] for d in done])
    order = np.argsort(np.repeat(gid, per_group), kind="stable")
    parts = np.concatenate([d[0] for d in done])[order]
    n_parts = np.zeros(gid.size, dtype=np.int64)
    n_parts[gid] = per_group
    failed = np.sort(np.concatenate([w[d[2]] for w, d in zip(shares, done, strict=True)])).astype(np.int64)
    return parts, n_parts, failed


def _recv_job(conn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    flat = np.frombuffer(conn.recv_bytes(), dtype=np.int64).reshape(-1, 2)
    length = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    per_group = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    origins = np.frombuffer(conn.recv_bytes(), dtype=np.int64).reshape(-1, 2)
    if int(length.sum()) != flat.shape[0] or int(per_group.sum()) != length.size or origins.shape[0] != per_group.size:
        raise ValueError("inconsistent arrays")
    return flat, length, per_group, origins


def _answer(parts: np.ndarray, n_parts: np.ndarray, failed: np.ndarray) -> list[np.ndarray]:
    """Valid polygons as flat arrays (coordinates, ring and polygon offsets) for the pipe."""
    if parts.size:
        _, coords, (ring_off, poly_off) = shapely.to_ragged_array(parts)
    else:
        coords, ring_off, poly_off = np.zeros((0, 2)), np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    return [np.asarray(coords, dtype=np.float64), np.asarray(ring_off, dtype=np.int64),
            np.asarray(poly_off, dtype=np.int64), np.asarray(n_parts, dtype=np.int64), np.asarray(failed, dtype=np.int64)]


def _recv_answer(conn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    coords = np.frombuffer(conn.recv_bytes(), dtype=np.float64).reshape(-1, 2)
    ring_off = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    poly_off = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    n_parts = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    failed = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    if int(n_parts.sum()) != poly_off.size - 1 or (ring_off.size and int(ring_off[-1]) != coords.shape[0]):
        raise ValueError("inconsistent arrays")
    parts = (shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (ring_off, poly_off))
             if poly_off.size > 1 else np.array([], dtype=object))
    return parts, n_parts, failed


def _union_job(conn) -> list[np.ndarray]:  # pragma: no cover - runs in a forked worker
    """A worker's share of groups in (flat arrays), their valid polygons out."""
    flat, length, per_group, origins = _recv_job(conn)
    ring_at = np.r_[0, np.cumsum(length)].tolist()
    group_at = np.r_[0, np.cumsum(per_group)].tolist()
    groups = ([flat[ring_at[r]:ring_at[r + 1]] for r in range(group_at[k], group_at[k + 1])]
              for k in range(per_group.size))
    return _answer(*_polygons(*_union_rings(groups, per_group.size), origins))


def _union_rings(groups, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clipper2's union of each group's open integer rings (``groups`` yields a list of
    rings per group, ``n_groups`` of them): (flat output coordinates, ring lengths, rings
    per group), what :func:`_polygons` reads."""
    fill = _clipper2.FillRule.NON_ZERO
    rings: list[np.ndarray] = []
    group_rings = np.zeros(n_groups, dtype=np.int64)
    for k, group in enumerate(groups):
        out = _clipper2.union(group, fill)
        rings.extend(out)
        group_rings[k] = len(out)
    length = np.fromiter((r.shape[0] for r in rings), dtype=np.int64, count=len(rings))
    flat = np.concatenate(rings).astype(np.int64, copy=False) if rings else np.zeros((0, 2), dtype=np.int64)
    return flat, length, group_rings


def _sector_job(conn) -> list[np.ndarray]:  # pragma: no cover - runs in a forked worker
    """A worker's share of groups as sector shape rows in, their valid polygons out."""
    params_m = np.frombuffer(conn.recv_bytes(), dtype=np.float64).reshape(-1, 5)
    n_seg = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    per_group = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    if n_seg.size != params_m.shape[0] or int(per_group.sum()) != n_seg.size or (n_seg < 1).any():
        raise ValueError("inconsistent arrays")
    return _answer(*_sector_share(params_m, n_seg, per_group))


def _with_workers(run, shares: list[np.ndarray], jobs: list, pool: list, *, kind: bytes = b"union") -> list:
    """``run(shares[0])`` here while the workers of ``pool`` union the other shares (their
    inputs in ``jobs``) and make them valid polygons; a worker that fails, died or misses
    its deadline (:func:`geo.forked_workers.deadline_s`): its share is run here (logged)."""
    sent = [forked_workers.send(w, kind, job) for w, job in zip(pool, jobs, strict=True)]
    t0 = time.monotonic()
    try:
        out = [run(shares[0])]
    except BaseException:  # the workers' answers will never be read: they must not serve again
        for w, ok in zip(pool, sent, strict=True):
            if ok:
                forked_workers.retire(w)
        raise
    deadline = time.monotonic() + forked_workers.deadline_s(time.monotonic() - t0)
    for k, (worker, ok) in enumerate(zip(pool, sent, strict=True)):
        which = shares[k + 1]
        try:
            if not ok:
                raise OSError("could not send the work")
            forked_workers.wait(worker, deadline - time.monotonic())
            got = _recv_answer(worker[2])
            forked_workers.answered(worker)
            if got[1].size != which.size:
                raise ValueError("wrong number of groups")
            out.append(got)
        except (EOFError, OSError, ValueError, TimeoutError) as exc:
            forked_workers.retire(worker)
            logger.warning("clipper union: worker for %d groups failed (%s); running them here", which.size, exc)
            out.append(run(which))
    return out


def _polygons(flat_i: np.ndarray, length: np.ndarray, group_rings: np.ndarray,
              origins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid shapely Polygons (frame metres) and their count per group from Clipper2's
    flat output: open integer rings relative to each group's origin (``flat_i``, ring after
    ring, ``length`` points each), ``group_rings`` rings per group; counter-clockwise rings are shells, clockwise ones holes (each given to the
    smallest shell of its group around it); also the groups left out (a hole in no shell)."""
    n_rings = length.size
    flat = flat_i.astype(float)  # group-local grid units: exact products below 2**53
    start = np.r_[0, np.cumsum(length)[:-1]]
    ring_of = np.repeat(np.arange(n_rings), length)
    nxt = np.arange(flat.shape[0]) + 1
    nxt[start + length - 1] = start
    x, y = flat[:, 0], flat[:, 1]
    area2 = np.add.reduceat(x * y[nxt] - x[nxt] * y, start)  # twice the signed area
    shell = area2 > 0
    group = np.repeat(np.arange(group_rings.size), group_rings)
    owner = np.where(shell, np.arange(n_rings), -1)  # the shell each ring belongs to
    holes = np.flatnonzero(~shell)
    if holes.size:
        owner[holes] = _hole_owners(holes, shell, group, flat, start, length, area2, ring_of)
    # Rings ordered polygon by polygon (shell, then its holes), polygons in ring order.
    failed = np.unique(group[owner < 0])
    if failed.size:  # never seen; the caller unions these groups with GEOS
        logger.warning("clipper union: %d group(s) with a hole in no shell, left to GEOS", failed.size)
    kept = np.flatnonzero(~np.isin(group, failed))
    order = kept[np.lexsort((~shell[kept], owner[kept]))]
    n_rings = order.size
    poly_first = shell[order]
    ring_n = np.diff(np.r_[np.flatnonzero(poly_first), n_rings])
    poly_n = np.bincount(group[order[poly_first]], minlength=group_rings.size).astype(np.int64)
    length_o = length[order]
    out_len = length_o + 1  # with the closing point
    ring_off = np.r_[0, np.cumsum(out_len)]
    ro = np.repeat(np.arange(n_rings), out_len)
    pos = np.arange(int(ring_off[-1])) - ring_off[:-1][ro]
    src = start[order][ro] + np.where(pos == length_o[ro], 0, pos)
    grid_xy = flat_i[src] + origins[group[order]][ro]
    parts = shapely.from_ragged_array(shapely.GeometryType.POLYGON, grid_xy / float(_PER_M),
                                      (ring_off, np.r_[0, np.cumsum(ring_n)]))
    return (*_repaired(parts, poly_n), failed)


def _hole_owners(holes: np.ndarray, shell: np.ndarray, group: np.ndarray, flat: np.ndarray, start: np.ndarray,
                 length: np.ndarray, area2: np.ndarray, ring_of: np.ndarray) -> np.ndarray:
    """The shell ring holding each hole ring: among the shells of the hole's group whose box
    holds the hole's box, the smallest whose ring contains the middle of the hole's first
    edge (a point of the hole's boundary that is no vertex, so strictly inside its shell)."""
    lo_x = np.minimum.reduceat(flat[:, 0], start)
    hi_x = np.maximum.reduceat(flat[:, 0], start)
    lo_y = np.minimum.reduceat(flat[:, 1], start)
    hi_y = np.maximum.reduceat(flat[:, 1], start)
    shells = np.flatnonzero(shell)
    # Candidate pairs per group: shells and holes of one group are contiguous in ring order.
    pairs_h, pairs_s = [], []
    h_group, s_group = group[holes], group[shells]  # both ascending (rings are in group order)
    gids = np.unique(h_group)
    h_at = np.searchsorted(h_group, gids, side="left").tolist() + [holes.size]
    s_lo = np.searchsorted(s_group, gids, side="left").tolist()
    s_hi = np.searchsorted(s_group, gids, side="right").tolist()
    for k in range(gids.size):
        hs, ss = holes[h_at[k]:h_at[k + 1]], shells[s_lo[k]:s_hi[k]]
        if hs.size * ss.size <= _PAIRS_AT_ONCE:  # all pairs of the group at once
            inside = ((lo_x[ss][None, :] <= lo_x[hs][:, None]) & (hi_x[ss][None, :] >= hi_x[hs][:, None])
                      & (lo_y[ss][None, :] <= lo_y[hs][:, None]) & (hi_y[ss][None, :] >= hi_y[hs][:, None]))
            hi, si = np.nonzero(inside)
        else:  # a very large group: its shells' boxes in an STRtree
            tree = shapely.STRtree(shapely.box(lo_x[ss], lo_y[ss], hi_x[ss], hi_y[ss]))
            hi, si = tree.query(shapely.box(lo_x[hs], lo_y[hs], hi_x[hs], hi_y[hs]), predicate="within")
        pairs_h.append(hs[hi])
        pairs_s.append(ss[si])
    ph, ps = np.concatenate(pairs_h), np.concatenate(pairs_s)
    many = np.bincount(ph, minlength=shell.size)[ph] > 1
    ok = ~many
    if many.any():
        cand = np.unique(ps[many])
        closed = [np.vstack([flat[start[r]:start[r] + length[r]], flat[start[r]:start[r] + 1]]) for r in cand.tolist()]
        shell_poly = np.full(shell.size, None, dtype=object)
        shell_poly[cand] = shapely.polygons(shapely.linearrings(np.concatenate(closed), indices=np.repeat(
            np.arange(cand.size), length[cand] + 1)))
        h = ph[many]
        a, b = flat[start[h]], flat[start[h] + 1 - np.where(length[h] > 1, 0, 1)]
        mx, my = (a[:, 0] + b[:, 0]) / 2.0, (a[:, 1] + b[:, 1]) / 2.0
        ok[many] = shapely.contains_xy(shell_poly[ps[many]], mx, my)
    ph, ps = ph[ok], ps[ok]
    o = np.lexsort((area2[ps], ph))  # per hole, the smallest containing shell first
    ph, ps = ph[o], ps[o]
    first = np.r_[True, ph[1:] != ph[:-1]]
    owner = np.full(shell.size, -1, dtype=np.int64)
    owner[ph[first]] = ps[first]
    return owner[holes]  # -1: in no shell


def _repaired(parts: np.ndarray, poly_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``parts`` with every invalid polygon replaced by valid polygons of the same area
    (:func:`_unpinched`, else ``make_valid(method="structure")``); counts per group adjusted."""
    bad = np.flatnonzero(~shapely.is_valid(parts))
    if bad.size == 0:
        return parts, poly_n
    cand = np.array([_unpinched(parts[i]) for i in bad.tolist()], dtype=object)
    ok = ~shapely.is_missing(cand)
    ok[ok] = shapely.is_valid(cand[ok]) & (np.abs(shapely.area(cand[ok]) - shapely.area(parts[bad[ok]]))
                                            <= 1e-9 * shapely.area(parts[bad[ok]]))
    pieces: dict[int, np.ndarray] = {}
    for i, c, good in zip(bad.tolist(), cand.tolist(), ok.tolist(), strict=True):
        if good:
            pieces[i] = np.array([c], dtype=object)
        else:
            pieces[i] = areal_polygons(shapely.get_parts(shapely.make_valid(parts[i], method="structure")))
    logger.debug("clipper union: %d of %d polygons repaired (%d by make_valid)", bad.size, parts.size,
                 int((~ok).sum()))
    group_of = np.repeat(np.arange(poly_n.size), poly_n)
    counts = np.ones(parts.size, dtype=np.int64)
    for i, pc in pieces.items():
        counts[i] = pc.size
    new_n = np.bincount(group_of, weights=counts, minlength=poly_n.size).astype(np.int64)
    ends = np.r_[bad, parts.size]
    chunks = [parts[:bad[0]]]
    for k, i in enumerate(bad.tolist()):
        chunks += [pieces[i], parts[i + 1:ends[k + 1]]]
    return np.concatenate(chunks), new_n


def _loops(ring: np.ndarray) -> list[np.ndarray]:
    """An open ring (Clipper2 output: it touches itself only at shared vertices, loops
    nested, never crossing) split at its repeated vertices into loops that repeat none."""
    n = ring.shape[0]
    order = np.lexsort((ring[:, 1], ring[:, 0]))
    r = ring[order]
    same = (r[1:] == r[:-1]).all(axis=1)
    if not same.any():
        return [ring]
    vid = np.arange(n)  # vertex id: the first position of each distinct vertex
    run_head = order[np.maximum.accumulate(np.where(np.r_[False, same], 0, np.arange(n)))]
    vid[order] = run_head
    first_seen = np.zeros(n, dtype=bool)
    first_seen[order] = np.r_[True, ~same]
    dup_pos = np.flatnonzero(np.isin(vid, vid[~(vid == np.arange(n))]))  # positions of repeated vertices
    taken = np.zeros(n, dtype=bool)
    out: list[np.ndarray] = []
    open_at: dict[int, list[int]] = {}
    stack: list[int] = []
    for pos in dup_pos.tolist():
        v = int(vid[pos])
        if v in open_at:
            start = open_at[v].pop()
            while stack and stack[-1] != v:
                open_at[stack.pop()].clear()
            idx = np.arange(start, pos)
            idx = idx[~taken[start:pos]]
            taken[start:pos] = True
            taken[pos] = False
            out.append(ring[idx])
            open_at[v].append(pos)
        else:
            open_at[v] = [pos]
            stack.append(v)
    out.append(ring[~taken])
    return [loop for loop in out if loop.shape[0] >= 3]


def _signed_area(loop: np.ndarray) -> float:
    x, y = loop[:, 0] - loop[0, 0], loop[:, 1] - loop[0, 1]
    # (elementwise sums, not np.dot: BLAS would start its threads, which then spin)
    return 0.5 * float((x * np.roll(y, -1)).sum() - (np.roll(x, -1) * y).sum())


def _unpinched(poly: shapely.Polygon) -> shapely.Polygon | None:
    """A Clipper2 polygon whose rings touch themselves at vertices (a hole folded into the
    shell's ring, or two holes into one), rebuilt with the same interior: each ring that
    repeats a vertex is split there into loops, counter-clockwise loops are shells,
    clockwise ones holes (Clipper2's orientation). None unless that gives exactly one shell
    (the caller checks validity and area)."""
    rings = shapely.get_rings(poly)
    coords, ridx = shapely.get_coordinates(rings, return_index=True)
    o = np.lexsort((coords[:, 1], coords[:, 0], ridx))
    c, r = coords[o], ridx[o]
    rep = (r[1:] == r[:-1]) & (c[1:] == c[:-1]).all(axis=1)
    pinched = set(r[1:][rep].tolist())  # the closing point repeats too: count > 1 beyond it
    counts = np.bincount(r[1:][rep], minlength=rings.size)
    pinched = {i for i in pinched if counts[i] > 1}
    if not pinched:
        return None
    starts = np.r_[0, np.cumsum(np.bincount(ridx, minlength=rings.size))]
    shells: list = []
    holes: list = []
    for i in range(rings.size):
        ring = coords[starts[i]:starts[i + 1] - 1]
        if i not in pinched:
            (holes if i else shells).append(ring)
            continue
        for loop in _loops(ring):
            a = _signed_area(loop)
            (shells if a > 0 else holes if a < 0 else []).append(loop)
    if len(shells) != 1:
        return None
    return shapely.Polygon(shells[0], holes)
