"""Camera coverage and the zones no camera sees.

``uncovered_zones(aoi, cameras)`` = AOI minus the union of the cameras' view sectors,
as valid polygons with area, centroid and a rank. Two ways in:

* plain :class:`~geo.sectors.Cameras`: the cameras near the AOI are found with a vectorised
  bounding-box filter, their sectors built, and an STRtree keeps only sectors that touch
  the AOI before the union. Good for one-off queries.
* a :class:`CoverageIndex` built once for a whole registry: sectors, STRtree and a
  :class:`TiledCoverage` (the union of all sectors, computed per grid tile) are kept,
  so a query only unions the few tile pieces under the AOI (tens of milliseconds at
  province scale).

The tiled union (:mod:`geo.union`) is the fast path for province-wide coverage:
duplicates and sectors inside another camera's disc are dropped, then the union is
computed independently in each ``tile_m`` square (sectors clipped to the tile), which
avoids the very large intermediate geometries of one global ``shapely.union_all``.
Pieces of different tiles have disjoint interiors, so areas add up exactly;
:meth:`TiledCoverage.merged` dissolves the tile seams when one single geometry is really
needed: after making the seam vertices identical on both sides it is a cheap GEOS
coverage union, not a full overlay.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import shapely
import shapely.errors
from shapely.geometry import mapping

from geo.aoi import AoiLike, PointRadius, _polygonal_part, aoi_to_m, frame_for_aoi, load_aoi
from geo.crs import LocalFrame
from geo.errors import GeoError
from geo.sectors import (
    DEFAULT_ARC_STEP_DEG,
    Cameras,
    SectorDefaults,
    sector_polygons,
    sector_shapes,
    view_sectors,
)
from geo.union import (
    GroupedUnion,
    areal_polygons,
    coverage_union_polygons,
    grouped_union,
    in_halves,
)

logger = logging.getLogger(__name__)

M_PER_DEG_LAT = 111_320.0
DEFAULT_TILE_M = 2000.0  # large enough that few sectors are cut, small enough to keep unions local
# Group unions are reused only from builds by the same GEOS (its overlay decides the parts)
# and numpy (its sin/cos place the sector vertices).
_UNION_SALT = f"geos {shapely.geos_version_string}|numpy {np.__version__}|".encode()


@dataclass
class UncoveredZone:
    """One connected area no camera sees."""

    polygon_wgs84: shapely.Polygon
    polygon_m: shapely.Polygon
    area_m2: float
    centroid_lat: float
    centroid_lon: float
    rank: int
    distance_m: float | None = None  # from ``rank_from`` when given


@dataclass
class CoverageResult:
    """Outcome of :func:`uncovered_zones`.

    ``aoi_area_m2 == covered_area_m2 + uncovered_area_m2`` (up to float rounding);
    ``uncovered_area_m2`` includes slivers that were dropped from ``zones``
    (``dropped_area_m2``).
    """

    zones: list[UncoveredZone]
    aoi_m: shapely.Geometry
    uncovered_m: shapely.Geometry
    frame: LocalFrame
    aoi_area_m2: float
    covered_area_m2: float
    uncovered_area_m2: float
    dropped_area_m2: float
    cameras_used: int
    invalid_cameras: list[tuple[str, str]] = field(default_factory=list)
    _covered_m: shapely.Geometry | None = field(default=None, repr=False)
    _ranked: _RankedZones | None = field(default=None, repr=False)  # set while the output is unchecked

    def output_check(self) -> Callable[[], CoverageResult]:
        """For a result of ``uncovered_zones(..., check_output=False)``: start the validity
        check of the zones' lon/lat polygons (on a forked worker when one runs and the zones
        are large, :func:`geo.forked_workers.validity`) and return a function that waits for
        it and gives the checked result: this one when every polygon was valid (the usual
        case), else a copy with the broken zones repaired as ``check_output=True`` would have."""
        from geo import forked_workers

        ranked = self._ranked
        if ranked is None:
            return lambda: self
        pending = ranked.pending if ranked.pending is not None else forked_workers.validity(ranked.wgs)

        def checked() -> CoverageResult:
            valid = pending.result()
            self._ranked = None
            if valid.all():
                return self
            return dataclasses.replace(self, zones=ranked.zones(valid))

        return checked

    @property
    def covered_m(self) -> shapely.Geometry:
        """The covered part of the AOI (metric frame); computed on first use for indexed queries."""
        if self._covered_m is None:
            self._covered_m = _polygonal_part(shapely.difference(self.aoi_m, self.uncovered_m))
        return self._covered_m

    @property
    def covered_fraction(self) -> float:
        return self.covered_area_m2 / self.aoi_area_m2 if self.aoi_area_m2 > 0 else 0.0

    def to_geojson(self) -> dict:
        """FeatureCollection of the zones (properties ``rank``, ``area_m2``, centroid)."""
        feats = []
        for z in self.zones:
            props = {"rank": z.rank, "area_m2": round(z.area_m2, 2),
                     "centroid_lat": z.centroid_lat, "centroid_lon": z.centroid_lon}
            if z.distance_m is not None:
                props["distance_m"] = round(z.distance_m, 2)
            feats.append({"type": "Feature", "properties": props,
                          "geometry": mapping(z.polygon_wgs84)})
        return {"type": "FeatureCollection", "features": feats}


@dataclass
class TiledCoverage:
    """Union of many polygons, stored as pieces clipped to a square grid (``tile_m``).

    ``pieces`` are Polygons in the metric frame; pieces of different tiles have disjoint
    interiors (they may share tile edges), pieces of one tile are disjoint.
    """

    pieces: np.ndarray
    tile_m: float
    tree: shapely.STRtree
    tile_x: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))  # tile column of each piece
    tile_y: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    workers: int = 1  # threads for queries over many tiles
    # Per tile holding pieces: the tile square minus its pieces (the "gaps"), seam vertices
    # already stripped and made canonical (see :meth:`with_gaps`). Filled by ``with_gaps``
    # for every tile, or lazily for the tiles a query needs.
    _gaps: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)
    _by_tile: dict[tuple[int, int], np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, polygons_m: np.ndarray, *, tile_m: float = DEFAULT_TILE_M,
              is_disc: np.ndarray | None = None, workers: int = 1) -> TiledCoverage:
        """Union ``polygons_m`` tile by tile (see :mod:`geo.union`).

        ``is_disc`` marks regular-polygon discs (360° cameras): polygons inside one of them
        are skipped. Identical polygons always count once. Tiles are independent, so with
        ``workers > 1`` they are unioned on that many threads (GEOS releases the GIL).
        """
        if tile_m <= 0:
            raise GeoError(f"tile_m must be > 0, got {tile_m}")
        polys = np.asarray(polygons_m, dtype=object)
        present = ~shapely.is_missing(polys)
        polys = polys[present]
        if polys.size == 0:
            return cls(np.array([], dtype=object), tile_m, shapely.STRtree([]))
        polys = coverage_union_polygons(polys, None if is_disc is None else np.asarray(is_disc)[present])
        b = shapely.bounds(polys)
        # Tile indices of each polygon's bounds: polygons in one tile need no clipping.
        ix0 = np.floor(b[:, 0] / tile_m).astype(np.int64)
        iy0 = np.floor(b[:, 1] / tile_m).astype(np.int64)
        ix1 = np.floor(b[:, 2] / tile_m).astype(np.int64)
        iy1 = np.floor(b[:, 3] / tile_m).astype(np.int64)
        nx = ix1 - ix0 + 1
        ny = iy1 - iy0 + 1
        count = nx * ny
        owner = np.repeat(np.arange(polys.size), count)
        offs = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
        tx = ix0[owner] + offs % nx[owner]
        ty = iy0[owner] + offs // nx[owner]
        geoms = polys[owner].copy()
        cut = count[owner] > 1
        if cut.any():
            # clip_by_rect takes scalar bounds only; few polygons cross a 2 km tile edge.
            geoms[cut] = [
                shapely.clip_by_rect(g, x * tile_m, y * tile_m, (x + 1) * tile_m, (y + 1) * tile_m)
                for g, x, y in zip(polys[owner[cut]], tx[cut], ty[cut], strict=True)
            ]
        # Polygons whose envelope meets no other polygon's need no overlay at all.
        left, right = shapely.STRtree(polys).query(polys)
        isolated = np.bincount(left[left != right], minlength=polys.size) == 0
        iso = isolated[owner]
        key = tx * 1_000_003 + ty
        order = np.lexsort((iso, key))  # by tile, isolated polygons last within a tile
        key, geoms, iso = key[order], geoms[order], iso[order]
        splits = np.flatnonzero(np.diff(key)) + 1
        starts = np.r_[0, splits]
        ends = np.r_[splits, key.size]
        mids = starts + np.add.reduceat((~iso).astype(np.int64), starts)
        unions = _union_tiles(geoms, starts, mids, ends, workers=workers)
        parts, src = shapely.get_parts(np.asarray(unions, dtype=object), return_index=True)
        ok = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
        parts, src = parts[ok], src[ok]
        tile_x = tx[order][starts][src]
        tile_y = ty[order][starts][src]
        return cls(parts, tile_m, shapely.STRtree(parts), tile_x, tile_y, workers)

    @property
    def area_m2(self) -> float:
        """Total area in frame units (pieces do not overlap)."""
        return float(shapely.area(self.pieces).sum())

    def clip(self, geom_m: shapely.Geometry) -> shapely.Geometry:
        """The coverage inside ``geom_m`` (one valid geometry)."""
        hit = self.tree.query(geom_m, predicate="intersects")
        if hit.size == 0:
            return shapely.Polygon()
        return shapely.union_all(shapely.intersection(self.pieces[hit], geom_m))

    def tiles_with_pieces(self) -> dict[tuple[int, int], np.ndarray]:
        """Indices of :attr:`pieces` per tile ``(ix, iy)`` (computed once)."""
        if self._by_tile is None:
            key = self.tile_x * 1_000_003 + self.tile_y
            order = np.argsort(key, kind="stable")
            cuts = np.flatnonzero(np.diff(key[order])) + 1
            self._by_tile = {(int(self.tile_x[g[0]]), int(self.tile_y[g[0]])): g
                             for g in np.split(order, cuts) if g.size}
        return self._by_tile

    def with_gaps(self, tiles: list[tuple[int, int]] | None = None) -> TiledCoverage:
        """Compute the gaps (tile square minus its pieces) of ``tiles`` (default: every tile
        with pieces) once, so queries over them need no overlay.

        The gaps of one call are seam-stripped together (:func:`_strip_seam_vertices`), so
        both sides of every seam between them carry identical vertices; an index builds all
        of them in one call (:meth:`CoverageIndex.build`) and keeps them on disk.
        """
        by_tile = self.tiles_with_pieces()
        todo = [k for k in (by_tile if tiles is None else tiles) if k in by_tile and k not in self._gaps]
        if not todo:
            return self
        t = self.tile_m

        def gap(keys: list) -> list:
            return [shapely.difference(shapely.box(ix * t, iy * t, (ix + 1) * t, (iy + 1) * t),
                                       shapely.multipolygons(self.pieces[by_tile[(ix, iy)]])) for ix, iy in keys]

        if self.workers > 1 and len(todo) >= 8 * self.workers:
            chunks = [todo[i::4 * self.workers] for i in range(4 * self.workers)]
            with ThreadPoolExecutor(max_workers=self.workers) as pool:  # GEOS releases the GIL
                done = list(pool.map(gap, chunks))
            keys = [k for c in chunks for k in c]
            geoms = [g for d in done for g in d]
        else:
            keys, geoms = todo, gap(todo)
        parts, src = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
        ok = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
        parts, src = _strip_seam_vertices(parts[ok], t), src[ok]
        for k in keys:
            self._gaps[k] = np.array([], dtype=object)
        order = np.argsort(src, kind="stable")
        cuts = np.flatnonzero(np.diff(src[order])) + 1
        for g in np.split(order, cuts):
            if g.size:
                self._gaps[keys[int(src[g[0]])]] = parts[g]
        return self

    def uncovered_parts(self, geom_m: shapely.Geometry, *, check_valid: bool = True) -> np.ndarray:
        """The connected parts of ``geom_m`` that no piece covers: an array of valid Polygons.

        Tiles wholly inside ``geom_m`` contribute their precomputed gaps (or the whole square
        when no camera sees into it); only tiles on the edge of ``geom_m`` need an overlay
        (their gaps intersected with ``geom_m``). Parts of neighbouring tiles that meet along
        a seam belong to one zone: they are grouped (shared seam intervals, a sorted sweep)
        and only each group is dissolved, with GEOS's coverage union (both sides of a seam
        carry identical vertices). A group GEOS finds not exactly noded falls back to
        ``union_all``. Never one province-sized overlay. ``check_valid=False`` skips the
        final validity pass (a second of CPU on a province-wide zone) for callers that
        validate what they write themselves (:func:`uncovered_zones`).
        """
        t = self.tile_m
        x0, y0, x1, y1 = geom_m.bounds
        gx, gy = np.meshgrid(np.arange(math.floor(x0 / t), math.floor(x1 / t) + 1),
                             np.arange(math.floor(y0 / t), math.floor(y1 / t) + 1), indexing="ij")
        gx, gy = gx.ravel(), gy.ravel()
        rects = shapely.box(gx * t, gy * t, (gx + 1) * t, (gy + 1) * t)
        shapely.prepare(geom_m)
        inside = shapely.covers(geom_m, rects)
        edge = ~inside & shapely.intersects(geom_m, rects)
        by_tile = self.tiles_with_pieces()
        keys = list(zip(gx.tolist(), gy.tolist(), strict=True))
        has = np.array([k in by_tile for k in keys], dtype=bool)
        self.with_gaps([k for k, h, use in zip(keys, has, inside | edge, strict=True) if h and use])
        out = [rects[inside & ~has]]
        out += [self._gaps[keys[i]] for i in np.flatnonzero(inside & has)]

        def edge_parts(idx: list) -> list:
            got = []
            for i in idx:
                ix, iy = keys[i]
                part = shapely.clip_by_rect(geom_m, ix * t, iy * t, (ix + 1) * t, (iy + 1) * t)
                if part.is_empty:
                    continue
                if has[i]:
                    gaps = self._gaps[keys[i]]
                    if gaps.size == 0:
                        continue
                    part = shapely.intersection(part, shapely.multipolygons(gaps))
                got.append(part)
            return got

        todo = np.flatnonzero(edge).tolist()
        if self.workers > 1 and len(todo) >= 8 * self.workers:
            chunks = [todo[i::4 * self.workers] for i in range(4 * self.workers)]
            with ThreadPoolExecutor(max_workers=self.workers) as pool:  # GEOS releases the GIL
                fresh = [g for got in pool.map(edge_parts, chunks) for g in got]
        else:
            fresh = edge_parts(todo)
        if fresh:
            fp = shapely.get_parts(np.asarray(fresh, dtype=object))
            fp = areal_polygons(fp)
            out.append(_strip_seam_vertices(fp, t) if fp.size else fp)
        parts = np.concatenate([np.asarray(o, dtype=object) for o in out]) if out else np.array([], dtype=object)
        parts = areal_polygons(parts)
        if parts.size == 0:
            return parts
        labels = _seam_groups(parts, t)
        order = np.argsort(labels, kind="stable")
        cuts = np.flatnonzero(np.diff(labels[order])) + 1
        zones = []
        for group in np.split(order, cuts):
            if group.size == 1:
                zones.append(parts[group[0]])
                continue
            zones.extend(_dissolve_group(parts[group]))
        zones = np.asarray(zones, dtype=object)
        if check_valid:
            bad = ~shapely.is_valid(zones)
            if bad.any():
                fixed = [p for g in zones[bad] for p in shapely.get_parts(_polygonal_part(shapely.make_valid(g)))]
                zones = np.concatenate([zones[~bad], np.asarray(fixed, dtype=object)])
        return areal_polygons(zones)

    def uncovered(self, geom_m: shapely.Geometry, *, check_valid: bool = True) -> shapely.Geometry:
        """``geom_m`` minus the coverage as one (Multi)Polygon (see :meth:`uncovered_parts`)."""
        parts = self.uncovered_parts(geom_m, check_valid=check_valid)
        if parts.size == 0:
            return shapely.Polygon()
        return parts[0] if parts.size == 1 else shapely.multipolygons(parts)

    def merged(self) -> shapely.Geometry:
        """All pieces dissolved across the tile seams into one geometry.

        Redundant vertices along the seams are removed first (a per-tile union keeps the
        points where other sectors met the tile edge), so both sides of every seam carry
        exactly the same vertices and GEOS's coverage union can dissolve them without a
        full overlay. Falls back to ``union_all`` if GEOS still finds the seams not
        exactly noded.
        """
        if self.pieces.size == 0:
            return shapely.Polygon()
        pieces = _strip_seam_vertices(self.pieces, self.tile_m)
        try:
            out = shapely.coverage_union_all(pieces)
            if shapely.is_valid(out):
                return out
        except shapely.errors.GEOSException:
            pass
        logger.debug("tiled coverage: seams not exactly noded, dissolving with union_all")
        return shapely.union_all(self.pieces)


def _polygons_of(geom: shapely.Geometry) -> np.ndarray:
    parts = shapely.get_parts(_polygonal_part(geom))
    return areal_polygons(parts)


def uncovered_from_union(geom_m: shapely.Geometry, parts: np.ndarray, tree: shapely.STRtree,
                         part_group: np.ndarray | None = None) -> np.ndarray:
    """``geom_m`` minus the union ``parts`` (disjoint Polygons, e.g. :func:`geo.union.union_parts`),
    as an array of Polygons, one per uncovered zone.

    Only the parts crossing the edge of ``geom_m`` are overlaid with it. A part wholly
    inside is not: its exterior becomes a hole of the zone around it and each of its holes
    is a zone of its own (holding, as holes, the parts inside it). Each inside part is
    placed by a point on its surface in the smallest zone-to-be that contains it. Zones
    whose holes touch each other (or the shell) around a pocket, which would leave the
    interior disconnected, are found on the ring/touch-point graph (its 2-core) and only
    those rings are overlaid. A province-wide answer costs a fraction of one
    ``difference`` of the area and the whole union, with the same geometry.

    ``part_group`` (:meth:`geo.union.GroupedUnion.part_groups`): parts of different groups
    never touch, so only rings that share their zone with another ring of their group (or
    lie in the area's own zone with a part of a group that crosses the area's edge) can
    touch; the touch search reads only those (on the province 36 % of the rings' vertices),
    with the same result.
    """
    hit = tree.query(geom_m)
    if hit.size == 0:
        return _polygons_of(geom_m)
    cand = parts[hit]
    shapely.prepare(geom_m)
    inside = shapely.contains_properly(geom_m, cand)
    if inside.any() and int(shapely.get_num_interior_rings(shapely.get_parts(geom_m)).sum()):
        # An area with holes: a part inside it whose own hole holds one of the area's holes
        # (its filled outline meets the area's edge) is overlaid like a crossing part.
        idx = np.flatnonzero(inside)
        filled = shapely.polygons(shapely.get_exterior_ring(cand[idx]))
        inside[idx[shapely.intersects(filled, shapely.boundary(geom_m))]] = False
    crossing = ~inside
    crossing[crossing] = shapely.intersects(geom_m, cand[crossing])
    inner, cross = cand[inside], cand[crossing]
    regions = _polygons_of(shapely.difference(geom_m, shapely.multipolygons(cross)) if cross.size else geom_m)
    if inner.size == 0 or regions.size == 0:
        return regions
    rings, owner = shapely.get_rings(inner, return_index=True)
    is_ext = np.r_[True, owner[1:] != owner[:-1]]
    containers = np.concatenate([regions, shapely.polygons(rings[~is_ext])])
    probe = shapely.point_on_surface(inner)
    pi, ci = shapely.STRtree(containers).query(probe, predicate="within")
    order = np.lexsort((shapely.area(containers)[ci], pi))
    pi, ci = pi[order], ci[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    child, home = pi[first], ci[first]
    if child.size != inner.size:  # a part no zone holds (numerically degenerate): overlay all
        logger.debug("uncovered_from_union: %d parts unplaced, overlaying", inner.size - child.size)
        return _polygons_of(shapely.difference(geom_m, shapely.multipolygons(cand)))
    c_rings, c_owner = shapely.get_rings(containers, return_index=True)
    ring_geom = np.concatenate([c_rings, shapely.get_exterior_ring(inner[child])])
    ring_zone = np.concatenate([c_owner, home])
    ring_rank = np.r_[np.where(np.r_[True, c_owner[1:] != c_owner[:-1]], 0, 1), np.full(child.size, 2)]
    if part_group is None:
        cyclic = _rings_in_touch_cycles(ring_geom, ring_zone)
    else:
        cyclic = np.zeros(ring_geom.size, dtype=bool)
        g = np.asarray(part_group)[hit]
        may = _may_touch(g[inside], g[crossing], regions.size, owner[~is_ext], c_owner, child, ring_zone)
        cyclic[may] = _rings_in_touch_cycles(ring_geom[may], ring_zone[may])
    cyclic &= ring_rank == 2  # the children among them
    if cyclic.any():
        ring_geom, ring_zone, ring_rank = _split_pocketed(containers, ring_geom, ring_zone, ring_rank, cyclic,
                                                         inner[child])
    _, ring_zone = np.unique(ring_zone, return_inverse=True)  # zones numbered 0..n-1
    o = np.lexsort((ring_rank, ring_zone))
    return shapely.polygons(ring_geom[o], indices=ring_zone[o])


def _may_touch(inner_g: np.ndarray, cross_g: np.ndarray, n_regions: int, hole_owner: np.ndarray,
               c_owner: np.ndarray, child: np.ndarray, ring_zone: np.ndarray) -> np.ndarray:
    """Mask of the zone rings of :func:`uncovered_from_union` that may share a vertex with
    another ring of their zone: the area's own rings, and rings of a part whose group has
    another ring in that zone (or, in one of the area's zones, a part crossing the area's
    edge). ``inner_g`` / ``cross_g``: the groups of the parts inside the area / crossing
    its edge; ``hole_owner``: the inner part of each hole container; ``c_owner``: the
    container of each container ring; ``child``: the inner parts placed in a zone."""
    container_g = np.r_[np.full(n_regions, -1), inner_g[hole_owner]]
    ring_g = np.concatenate([container_g[c_owner], inner_g[child]])
    own = ring_g < 0  # the area's rings (every region's)
    key = ring_zone.astype(np.int64) * (int(ring_g.max(initial=0)) + 2) + (ring_g + 1)
    _, pair, count = np.unique(key, return_inverse=True, return_counts=True)
    may = own | (count[pair] >= 2)
    if cross_g.size:
        may |= (ring_zone < n_regions) & np.isin(ring_g, cross_g)
    return may


def _rings_in_touch_cycles(rings: np.ndarray, zone: np.ndarray) -> np.ndarray:
    """Mask of rings on a cycle of the graph rings -- shared vertices, within each zone.

    Rings of one polygon that touch only in a tree pattern keep its interior connected;
    a cycle (two holes touching twice, or a ring of holes) may enclose a pocket.
    """
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    last = np.r_[ring_of[1:] != ring_of[:-1], True]  # closing coordinate
    coords, ring_of = coords[~last], ring_of[~last]
    x, y = coords[:, 0], coords[:, 1]
    o = np.argsort(x)  # any order of ties: only equal neighbours are flagged
    dup_x = np.zeros(x.size, dtype=bool)
    same = x[o][1:] == x[o][:-1]
    dup_x[o[1:][same]] = True
    dup_x[o[:-1][same]] = True
    idx = np.flatnonzero(dup_x)
    out = np.zeros(rings.size, dtype=bool)
    if idx.size == 0:
        return out
    z = zone[ring_of[idx]]
    o = idx[np.lexsort((ring_of[idx], y[idx], x[idx], z))]
    zs, xs, ys, rs = zone[ring_of[o]], x[o], y[o], ring_of[o]
    new_pt = np.r_[True, (zs[1:] != zs[:-1]) | (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])]
    pt = np.cumsum(new_pt) - 1
    keep = np.r_[True, (pt[1:] != pt[:-1]) | (rs[1:] != rs[:-1])]  # one edge per (point, ring)
    e_pt, e_ring = pt[keep], rs[keep]
    alive = np.ones(e_pt.size, dtype=bool)
    while alive.any():  # peel leaves until only cycles (the 2-core) are left
        deg_pt = np.bincount(e_pt[alive], minlength=pt[-1] + 1)
        deg_ring = np.bincount(e_ring[alive], minlength=rings.size)
        kill = alive & ((deg_pt[e_pt] <= 1) | (deg_ring[e_ring] <= 1))
        if not kill.any():
            break
        alive &= ~kill
    out[e_ring[alive]] = True
    return out


def _split_pocketed(containers, ring_geom, ring_zone, ring_rank, cyclic, children):
    """Overlay the zones whose holes enclose pockets: container minus its cyclic children;
    the other children of those zones are placed again in the pieces."""
    n_cont = containers.size
    zones = np.unique(ring_zone[cyclic])
    affected = np.isin(ring_zone, zones)
    child_ring = np.flatnonzero(ring_rank == 2)
    child_of_ring = np.full(ring_geom.size, -1)
    child_of_ring[child_ring] = np.arange(child_ring.size)
    pieces, piece_src = [], []
    for zi in zones.tolist():
        # filled exteriors: the children's holes are zones of their own already
        cut = shapely.polygons(shapely.get_exterior_ring(children[child_of_ring[cyclic & (ring_zone == zi)]]))
        got = _polygons_of(shapely.difference(containers[zi], shapely.multipolygons(cut)))
        pieces.append(got)
        piece_src.append(np.full(got.size, zi))
    pieces = np.concatenate(pieces)
    free = np.flatnonzero(affected & (ring_rank == 2) & ~cyclic)
    keep = ~affected
    p_rings, p_owner = shapely.get_rings(pieces, return_index=True)
    new_geom = [ring_geom[keep], p_rings]
    new_zone = [ring_zone[keep], n_cont + p_owner]
    new_rank = [ring_rank[keep], np.where(np.r_[True, p_owner[1:] != p_owner[:-1]], 0, 1)]
    if free.size:
        kids = children[child_of_ring[free]]
        pi, ci = shapely.STRtree(pieces).query(shapely.point_on_surface(kids), predicate="within")
        first = np.r_[True, pi[1:] != pi[:-1]] if pi.size else np.array([], dtype=bool)
        pi, ci = pi[first], ci[first]
        new_geom.append(ring_geom[free[pi]])
        new_zone.append(n_cont + ci)
        new_rank.append(np.full(pi.size, 2))
    return np.concatenate(new_geom), np.concatenate(new_zone), np.concatenate(new_rank)


def _strip_seam_vertices(pieces: np.ndarray, tile_m: float) -> np.ndarray:
    """Pieces without the collinear vertices that lie inside straight runs along tile edges.

    Only rings that reach a tile line are rewritten (holes are covered islands inside one
    tile: most never do).
    """
    rings, owner = shapely.get_rings(pieces, return_index=True)
    b = shapely.bounds(rings)
    cell = np.floor(b / tile_m)
    on_line = b == np.round(b / tile_m) * tile_m
    reach = (cell[:, 0] != cell[:, 2]) | (cell[:, 1] != cell[:, 3]) | on_line.any(axis=1)
    if not reach.any():
        return pieces
    rings = rings.copy()
    rings[reach] = _strip_rings(rings[reach], tile_m)
    return shapely.polygons(rings, indices=owner)


def _strip_rings(rings: np.ndarray, tile_m: float) -> np.ndarray:
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    # drop each ring's closing coordinate (rings are rebuilt closed)
    last = np.r_[ring_of[1:] != ring_of[:-1], True]
    coords, ring_of = coords[~last], ring_of[~last]
    first = np.r_[True, ring_of[1:] != ring_of[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(ring_of.size), 0))
    end = np.r_[np.flatnonzero(first)[1:], ring_of.size]
    length = (end - start[np.r_[np.flatnonzero(first)]])
    ring_len = np.repeat(length, length)
    pos = np.arange(ring_of.size) - start
    prev = start + (pos - 1) % ring_len
    nxt = start + (pos + 1) % ring_len
    x, y = coords[:, 0], coords[:, 1]
    on_x = x == np.round(x / tile_m) * tile_m
    on_y = y == np.round(y / tile_m) * tile_m
    run_x = on_x & (x[prev] == x) & (x[nxt] == x)
    run_y = on_y & (y[prev] == y) & (y[nxt] == y)
    keep = ~(run_x | run_y)
    coords = coords.copy()
    # The two sides of a seam compute the same crossing point separately and may differ
    # in the last bit: give near-equal points on one seam line one canonical value.
    coords[:, 1] = _canonical_along(coords[:, 1], np.where(on_x & ~on_y, x, np.nan))
    coords[:, 0] = _canonical_along(coords[:, 0], np.where(on_y & ~on_x, y, np.nan))
    return shapely.linearrings(coords[keep], indices=ring_of[keep])


def _dissolve_group(parts: np.ndarray) -> list:
    """Dissolve polygons that form a coverage (edge-matched along tile seams) into polygons.

    The holes of the parts (covered islands inside one tile) never meet a seam, so only
    the parts' exteriors are dissolved (GEOS coverage union, about a third of the
    vertices of a province-wide zone) and the holes are put back into the result
    polygon that contains their part. Falls back to a plain coverage union, then
    ``union_all``, when GEOS finds the input not exactly noded (e.g. a part inside
    another's hole).
    """
    try:
        return _dissolve_exteriors(parts)
    except shapely.errors.GEOSException:
        pass
    try:
        merged = shapely.coverage_union_all(parts)
    except shapely.errors.GEOSException:
        logger.debug("tiled uncovered: seams not exactly noded, using union_all")
        merged = shapely.union_all(parts)
    return list(shapely.get_parts(_polygonal_part(merged)))


def _dissolve_exteriors(parts: np.ndarray) -> list:
    out: list = []
    outer, outer_filled = parts, shapely.polygons(shapely.get_exterior_ring(parts))
    merged = shapely.get_parts(shapely.coverage_union_all(outer_filled))
    merged = merged[shapely.get_type_id(merged) == 3]
    if merged.size == 0:
        raise shapely.errors.GEOSException("empty dissolve")
    rings, owner = shapely.get_rings(outer, return_index=True)
    is_ext = np.r_[True, owner[1:] != owner[:-1]]
    holes, hole_part = rings[~is_ext], owner[~is_ext]
    if holes.size == 0:
        return out + list(merged)
    probe = shapely.point_on_surface(outer_filled)
    p_idx, m_idx = shapely.STRtree(merged).query(probe, predicate="intersects")
    where = np.full(outer.size, -1)
    where[p_idx] = m_idx
    if (where[np.unique(hole_part)] < 0).any():
        raise shapely.errors.GEOSException("a part's holes have no dissolved polygon")
    hole_home = where[hole_part]
    for j, poly in enumerate(merged):
        own = [shapely.get_interior_ring(poly, i) for i in range(shapely.get_num_interior_rings(poly))]
        added = holes[hole_home == j]
        if added.size == 0:
            out.append(poly)
        else:
            out.append(shapely.Polygon(shapely.get_exterior_ring(poly), [*own, *added]))
    return out


def _seam_groups(parts: np.ndarray, tile_m: float) -> np.ndarray:
    """Group label per polygon: polygons sharing a stretch of a tile seam get one label.

    Boundary segments lying on a seam line are compared as intervals along that line
    (sorted sweep), so no polygon-polygon predicate is evaluated. Polygons that meet only
    at a point stay apart (a dissolve would leave them separate polygons anyway).
    """
    n = parts.size
    # Holes are covered islands inside one tile: only exteriors run along seams.
    coords, ring_of = shapely.get_coordinates(shapely.get_exterior_ring(parts), return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    seg_owner = ring_of[:-1][same]
    on_x = (a[:, 0] == b[:, 0]) & (a[:, 0] == np.round(a[:, 0] / tile_m) * tile_m)
    on_y = (a[:, 1] == b[:, 1]) & (a[:, 1] == np.round(a[:, 1] / tile_m) * tile_m) & ~on_x
    line = np.r_[a[on_x, 0], a[on_y, 1]]
    kind = np.r_[np.zeros(int(on_x.sum())), np.ones(int(on_y.sum()))]
    lo = np.r_[np.minimum(a[on_x, 1], b[on_x, 1]), np.minimum(a[on_y, 0], b[on_y, 0])]
    hi = np.r_[np.maximum(a[on_x, 1], b[on_x, 1]), np.maximum(a[on_y, 0], b[on_y, 0])]
    own = np.r_[seg_owner[on_x], seg_owner[on_y]]
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if lo.size > 1:
        order = np.lexsort((lo, line, kind))
        line, kind, lo, hi, own = line[order], kind[order], lo[order], hi[order], own[order]
        new_line = np.r_[True, (line[1:] != line[:-1]) | (kind[1:] != kind[:-1])]
        # running max of hi within each seam line
        run = _segmented_cummax(hi, new_line)
        link = np.flatnonzero(~new_line[1:] & (lo[1:] < run[:-1] - 1e-9)) + 1
        for i in link.tolist():
            ra, rb = find(int(own[i])), find(int(own[i - 1]))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)])


def _segmented_cummax(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` restarting wherever ``starts`` is True."""
    seg = np.cumsum(starts) - 1
    # offset each segment above all previous ones so one global running max stays within it
    span = float(values.max() - values.min()) + 1.0
    shifted = values + seg * span
    return np.maximum.accumulate(shifted) - seg * span


def _canonical_along(values: np.ndarray, seam: np.ndarray, *, tol: float = 1e-6) -> np.ndarray:
    """``values`` where points on the same seam (``seam`` not NaN) within ``tol`` get the smallest one."""
    on = np.flatnonzero(~np.isnan(seam))
    if on.size == 0:
        return values
    order = on[np.lexsort((values[on], seam[on]))]
    v, sm = values[order], seam[order]
    new_cluster = np.r_[True, (sm[1:] != sm[:-1]) | (np.diff(v) > tol)]
    head = np.maximum.accumulate(np.where(new_cluster, np.arange(v.size), 0))
    out = values.copy()
    out[order] = v[head]
    return out


def _union_one(geoms: np.ndarray, s: int, m: int, e: int) -> shapely.Geometry:
    """Union of ``geoms[s:m]``, plus ``geoms[m:e]`` that touch nothing (added without an overlay)."""
    if m - s > 1:
        u = shapely.union_all(geoms[s:m])
    elif m > s:
        u = geoms[s]
    else:
        u = None
    if m == e:
        return u
    rest = list(geoms[m:e]) if u is None else [u, *geoms[m:e]]
    if len(rest) == 1:
        return rest[0]
    parts = shapely.get_parts(np.asarray(rest, dtype=object))
    return shapely.multipolygons(parts[shapely.get_type_id(parts) == 3])


def _union_group(geoms: np.ndarray, starts: np.ndarray, mids: np.ndarray, ends: np.ndarray) -> list:
    return [_union_one(geoms, s, m, e) for s, m, e in zip(starts, mids, ends, strict=True)]


def _union_tiles(geoms: np.ndarray, starts: np.ndarray, mids: np.ndarray, ends: np.ndarray, *,
                 workers: int) -> list:
    """One union per tile: ``geoms[starts[i]:mids[i]]`` overlap others, ``geoms[mids[i]:ends[i]]``
    are isolated; optionally on a thread pool."""
    if workers <= 1 or starts.size < 2 * workers:
        return _union_group(geoms, starts, mids, ends)
    # Chunks of about equal polygon count, several per worker to even out dense tiles.
    n_chunks = 8 * workers
    cuts = np.searchsorted(starts, np.linspace(0, geoms.size, n_chunks + 1)[1:-1])
    groups = [(a, b) for a, b in zip(np.r_[0, cuts], np.r_[cuts, starts.size]) if b > a]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda g: _union_group(geoms, starts[g[0]:g[1]], mids[g[0]:g[1]], ends[g[0]:g[1]]),
                           groups)
        return [u for chunk in results for u in chunk]


@dataclass
class CoverageIndex:
    """Sectors of a whole registry, indexed for repeated coverage queries.

    Build once (``CoverageIndex.build(cameras)``), query many times with
    :func:`uncovered_zones`; :meth:`save` / :meth:`load` keep it on disk between
    processes (plain arrays and WKB, no pickle). ``tiled`` is None unless
    ``precompute=True``. The sector polygons themselves are rebuilt only when a query
    needs them (the untiled path).
    """

    frame: LocalFrame
    cameras: Cameras  # the valid cameras, defaults filled in
    tiled: TiledCoverage | None = None
    invalid: list[tuple[str, str]] = field(default_factory=list)
    arc_step_deg: float = DEFAULT_ARC_STEP_DEG
    rows_skipped: int = 0  # source rows that were not cameras at all (set by the caller)
    # The union of all sectors as disjoint Polygons (``union=True``): the product's path,
    # see :func:`uncovered_from_union`.
    union: np.ndarray | None = None
    groups: GroupedUnion | None = None  # ``union`` per group of overlapping sectors, for reuse
    _polygons_m: np.ndarray | None = field(default=None, repr=False)
    _tree: shapely.STRtree | None = field(default=None, repr=False)
    _points: tuple | None = field(default=None, repr=False)
    _union_tree: shapely.STRtree | None = field(default=None, repr=False)

    @classmethod
    def build(cls, cameras: Cameras, *, frame: LocalFrame | None = None, defaults: SectorDefaults | None = None,
              arc_step_deg: float = DEFAULT_ARC_STEP_DEG, precompute: bool = True,
              tile_m: float = DEFAULT_TILE_M, workers: int = 1, union: bool = False,
              reuse: CoverageIndex | None = None) -> CoverageIndex:
        """Sectors of ``cameras``; with ``precompute`` the tiled union and its per-tile gaps,
        with ``union`` the whole union as disjoint polygons (:func:`geo.union.grouped_union`,
        what the product builds: cheaper, and queries of any size are answered from it).

        ``reuse``: an earlier index (e.g. of the registry before an edit); with ``union``,
        every group of overlapping sectors whose members are unchanged takes its union from
        there, so a registry change re-unions only the groups it touches. The result is the
        same as a build without ``reuse``.
        """
        if union and not precompute:
            shapes = sector_shapes(cameras, frame=frame, defaults=defaults, arc_step_deg=arc_step_deg)
            ok = np.flatnonzero(shapes.valid)
            params, n_seg = shapes.params_m[ok], shapes.n_seg[ok]
            previous = reuse.groups if reuse is not None and reuse.arc_step_deg == arc_step_deg else None
            grouped = grouped_union(params, n_seg + 2, lambda idx: sector_polygons(params[idx], n_seg[idx]),
                                    previous=previous, salt=_UNION_SALT, workers=workers, sectors=True)
            problems = [(str(shapes.cameras.ids[i]), str(shapes.reasons[i])) for i in np.flatnonzero(~shapes.valid)]
            return cls(shapes.frame, shapes.cameras.subset(shapes.valid), None, problems, arc_step_deg,
                       union=grouped.parts, groups=grouped)
        sectors = view_sectors(cameras, frame=frame, defaults=defaults, arc_step_deg=arc_step_deg)
        polys = sectors.polygons_m[sectors.valid]
        is_disc = sectors.cameras.fov_deg[sectors.valid] >= 360.0
        tiled = (TiledCoverage.build(polys, tile_m=tile_m, is_disc=is_disc, workers=workers).with_gaps()
                 if precompute else None)
        grouped = None
        if union:
            params = sectors.params_m[sectors.valid]
            grouped = grouped_union(params, shapely.get_num_coordinates(polys) - 1, lambda idx: polys[idx],
                                    salt=_UNION_SALT, workers=workers)
        return cls(sectors.frame, sectors.cameras.subset(sectors.valid), tiled, sectors.problems(),
                   arc_step_deg, union=None if grouped is None else grouped.parts, groups=grouped, _polygons_m=polys)

    @property
    def covered_area_m2(self) -> float | None:
        """Area of the union of all sectors, frame units (None without ``tiled`` or ``union``)."""
        if self.union is not None:
            return float(shapely.area(self.union).sum())
        return self.tiled.area_m2 if self.tiled is not None else None

    @property
    def union_tree(self) -> shapely.STRtree:
        if self._union_tree is None:
            self._union_tree = shapely.STRtree(self.union if self.union is not None else [])
        return self._union_tree

    @property
    def polygons_m(self) -> np.ndarray:
        if self._polygons_m is None:
            s = view_sectors(self.cameras, frame=self.frame, arc_step_deg=self.arc_step_deg)
            self._polygons_m = s.polygons_m
        return self._polygons_m

    @property
    def tree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree(self.polygons_m)
        return self._tree

    def cameras_reaching(self, geom_m: shapely.Geometry) -> int:
        """How many cameras' view sectors touch ``geom_m`` (what a query "uses").

        Decided on the camera positions first (prepared point-in-polygon tests against the
        area shrunk and grown by the longest reach); only cameras near the edge have their
        sectors built and tested (the whole registry's sectors are not needed).
        """
        if len(self.cameras) == 0:
            return 0
        if self._points is None:
            x, y = self.frame.to_xy_m(self.cameras.lat, self.cameras.lon)
            self._points = (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        x, y = self._points
        reach = np.nan_to_num(self.cameras.range_m, nan=0.0)
        r_max = float(reach.max())
        # Cameras standing inside the area farther than the longest reach from its edge
        # surely see into it; cameras farther out than that reach surely do not. Only the
        # band in between has its sectors built and tested.
        inner = shapely.buffer(geom_m, -r_max, quad_segs=4)
        outer = shapely.buffer(geom_m, r_max, quad_segs=4)
        deep = shapely.contains_xy(inner, x, y) if not inner.is_empty else np.zeros(x.shape, dtype=bool)
        near = np.flatnonzero(~deep & shapely.contains_xy(outer, x, y))
        n_deep = int(deep.sum())
        if near.size == 0:
            return n_deep
        if self._polygons_m is not None:
            polys = self._polygons_m[near]
        else:
            polys = view_sectors(self.cameras.subset(near), frame=self.frame,
                                 arc_step_deg=self.arc_step_deg).polygons_m
        return n_deep + int(shapely.intersects(polys, geom_m).sum())

    # ------------------------------------------------------------ on disk
    def save(self, path) -> None:
        """Write the index as a ``.npz`` of plain arrays (cameras, tile pieces as WKB)."""
        write_npz(path, self.save_arrays())

    def save_arrays(self) -> dict[str, np.ndarray]:
        """What :meth:`save` writes, as arrays (copies: the index may change afterwards)."""
        t = self.tiled
        blob, offsets = _wkb_blob(t.pieces if t is not None else np.array([], dtype=object))
        gap_keys = list(t._gaps) if t is not None else []
        gap_n = np.array([t._gaps[k].size for k in gap_keys], dtype=np.int64)
        gap_blob, gap_offsets = _wkb_blob(np.concatenate([t._gaps[k] for k in gap_keys]) if gap_keys
                                          else np.array([], dtype=object))
        union_coords, union_rings, union_polys = _ragged(self.union if self.union is not None
                                                         else np.array([], dtype=object))
        c = self.cameras
        g = self.groups if self.groups is not None and self.union is not None else None
        return dict(lat=c.lat.copy(), lon=c.lon.copy(), heading_deg=c.heading_deg.copy(), fov_deg=c.fov_deg.copy(),
                    range_m=c.range_m.copy(), ids=np.asarray(c.ids, dtype=str), crs=np.array(self.frame.crs.to_wkt()),
                    arc_step_deg=np.array(self.arc_step_deg), rows_skipped=np.array(self.rows_skipped),
                    invalid=np.asarray([f"{k}\t{r}" for k, r in self.invalid], dtype=str),
                    tiled=np.array(t is not None), tile_m=np.array(t.tile_m if t else DEFAULT_TILE_M),
                    tile_x=t.tile_x.copy() if t else np.array([], dtype=np.int64),
                    tile_y=t.tile_y.copy() if t else np.array([], dtype=np.int64),
                    pieces=np.frombuffer(blob, dtype=np.uint8), offsets=offsets,
                    gap_tiles=np.array(gap_keys, dtype=np.int64).reshape(-1, 2), gap_n=gap_n,
                    gaps=np.frombuffer(gap_blob, dtype=np.uint8), gap_offsets=gap_offsets,
                    has_union=np.array(self.union is not None), union_coords=union_coords,
                    union_ring_offsets=union_rings, union_poly_offsets=union_polys, has_groups=np.array(g is not None),
                    group_keys=g.group_keys.copy() if g is not None else np.zeros((0, 16), dtype=np.uint8),
                    group_n=g.group_n.copy() if g is not None else np.zeros(0, dtype=np.int64),
                    n_alone=np.array(g.n_alone if g is not None else 0))

    @classmethod
    def load(cls, path) -> CoverageIndex:
        """Read an index written by :meth:`save` (``allow_pickle`` stays off)."""
        from pyproj import CRS

        from geo.crs import _frame_for_crs

        with np.load(path, allow_pickle=False) as z:
            cams = Cameras(z["lat"], z["lon"], z["heading_deg"], z["fov_deg"], z["range_m"],
                           z["ids"].astype(object))
            frame = _frame_for_crs(CRS.from_wkt(str(z["crs"])))
            invalid = [tuple(v.split("\t", 1)) for v in z["invalid"].tolist()]
            tiled = None
            if bool(z["tiled"]):
                pieces = _from_wkb_blob(z["pieces"], z["offsets"])
                tiled = TiledCoverage(pieces, float(z["tile_m"]), shapely.STRtree(pieces),
                                      z["tile_x"].astype(np.int64), z["tile_y"].astype(np.int64))
                if "gap_tiles" in z.files:
                    gaps = _from_wkb_blob(z["gaps"], z["gap_offsets"])
                    ends = np.cumsum(z["gap_n"])
                    for (ix, iy), e, n in zip(z["gap_tiles"].tolist(), ends.tolist(), z["gap_n"].tolist(),
                                              strict=True):
                        tiled._gaps[(ix, iy)] = gaps[e - n:e]
            union = None
            if "has_union" in z.files and bool(z["has_union"]):
                union = (_from_ragged(z["union_coords"], z["union_ring_offsets"], z["union_poly_offsets"])
                         if "union_coords" in z.files else _from_wkb_blob(z["union"], z["union_offsets"]))
            groups = None
            if union is not None and "has_groups" in z.files and bool(z["has_groups"]):
                keys, counts, n_alone = z["group_keys"], z["group_n"].astype(np.int64), int(z["n_alone"])
                if keys.ndim != 2 or keys.shape != (counts.size, 16) or (counts < 1).any() or n_alone < 0 \
                        or n_alone + int(counts.sum()) != union.size:
                    raise ValueError(f"{path}: group table does not match the union")
                groups = GroupedUnion(union, n_alone, keys.astype(np.uint8), counts)
            return cls(frame, cams, tiled, invalid, float(z["arc_step_deg"]), int(z["rows_skipped"]), union=union,
                       groups=groups)


def write_npz(path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` (:meth:`CoverageIndex.save_arrays`) to ``path`` via a temporary name."""
    from pathlib import Path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.part")  # (not *.npz: never taken for a cache while written)
    try:
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)
        tmp.replace(p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _ragged(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polygons as flat arrays: coordinates, ring offsets, polygon offsets (exact doubles;
    4x cheaper to write and read back than WKB)."""
    if not len(polys):
        return np.zeros((0, 2)), np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    _, coords, (ring_off, poly_off) = shapely.to_ragged_array(polys)
    return np.asarray(coords, dtype=np.float64), np.asarray(ring_off, dtype=np.int64), np.asarray(poly_off, dtype=np.int64)


def _from_ragged(coords: np.ndarray, ring_off: np.ndarray, poly_off: np.ndarray) -> np.ndarray:
    coords, ring_off, poly_off = (np.asarray(coords, dtype=np.float64).reshape(-1, 2),
                                  np.asarray(ring_off, dtype=np.int64), np.asarray(poly_off, dtype=np.int64))
    if poly_off.size < 1 or ring_off.size < 1 or int(poly_off[-1]) != ring_off.size - 1 \
            or int(ring_off[-1]) != coords.shape[0] or (np.diff(ring_off) < 4).any() or (np.diff(poly_off) < 0).any():
        raise ValueError("union arrays do not describe polygons")
    if poly_off.size == 1:
        return np.array([], dtype=object)
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (ring_off, poly_off))


def _wkb_blob(geoms: np.ndarray) -> tuple[bytes, np.ndarray]:
    wkb = shapely.to_wkb(geoms) if len(geoms) else np.array([], dtype=object)
    return b"".join(wkb), np.cumsum([0, *map(len, wkb)]).astype(np.int64)


def _from_wkb_blob(data: np.ndarray, off: np.ndarray) -> np.ndarray:
    blob = data.tobytes()
    wkb = np.array([blob[off[i]:off[i + 1]] for i in range(off.size - 1)], dtype=object)
    return shapely.from_wkb(wkb) if wkb.size else np.array([], dtype=object)


OUTPUT_GRID_DEG = 1e-9  # ~0.1 mm: output coordinates are snapped to this grid


def valid_wgs84(geoms: np.ndarray) -> np.ndarray:
    """Output polygons that stay valid as written: rounded to :data:`OUTPUT_GRID_DEG` (1e-9 deg).

    Reprojection can fold a narrow part of a valid metric polygon; snapping to the grid
    the file will carry (GEOS ``set_precision`` returns valid geometry) and a
    ``make_valid`` pass for anything still invalid make every written zone valid. The
    result is a Polygon or MultiPolygon per input (a zone pinched at one point may split);
    a zone that collapses below the grid is empty.
    """
    geoms = np.asarray(geoms, dtype=object)
    # Rounding to the grid is cheap and keeps almost every zone valid; GEOS's snapping
    # (set_precision, a full noding) runs only on the few that rounding broke.
    g = shapely.transform(geoms, lambda xy: np.round(xy / OUTPUT_GRID_DEG) * OUTPUT_GRID_DEG)
    bad = ~shapely.is_valid(g)
    if bad.any():
        try:
            g[bad] = shapely.set_precision(geoms[bad], OUTPUT_GRID_DEG)
        except shapely.errors.GEOSException:  # an input GEOS cannot snap as is: one by one
            g[bad] = [_snap_one(x) for x in geoms[bad]]
        bad[bad] = ~shapely.is_valid(g[bad])  # only the snapped ones need a second look
    if bad.any():
        g[bad] = [_polygonal_part(x) for x in shapely.make_valid(g[bad])]
    notpoly = ~np.isin(shapely.get_type_id(g), (3, 6))
    if notpoly.any():
        g[notpoly] = [_polygonal_part(x) for x in g[notpoly]]
    return g


def wgs84_on_grid(frame: LocalFrame, geoms_m: np.ndarray) -> np.ndarray:
    """``geoms_m`` in lon/lat rounded to :data:`OUTPUT_GRID_DEG`: the same doubles as
    :func:`valid_wgs84`'s rounding of ``frame.geom_to_wgs84(geoms_m)``, in one pass over the
    coordinates (validity is the caller's to check)."""
    inv = frame._inv.transform

    def on_grid(x, y):
        lon, lat = inv(x, y)
        return np.round(lon / OUTPUT_GRID_DEG) * OUTPUT_GRID_DEG, np.round(lat / OUTPUT_GRID_DEG) * OUTPUT_GRID_DEG

    def to_grid(x, y):
        # PROJ and numpy release the GIL (and pyproj's Transformer keeps one PROJ object per
        # thread): large inputs in two halves, one on a thread; the same doubles.
        got = in_halves(lambda part: on_grid(x[part], y[part]), x.size, THREADED_REPROJECTION_COORDS)
        if len(got) == 1:
            return got[0]
        (lon_a, lat_a), (lon_b, lat_b) = got
        return np.concatenate([lon_a, lon_b]), np.concatenate([lat_a, lat_b])

    return shapely.transform(np.asarray(geoms_m, dtype=object), to_grid, interleaved=False)


THREADED_REPROJECTION_COORDS = 200_000  # fewer coordinates: one thread (a thread costs ~0.1 ms)


def _snap_one(geom: shapely.Geometry) -> shapely.Geometry:
    for candidate in (geom, _polygonal_part(shapely.make_valid(geom))):
        try:
            return shapely.set_precision(candidate, OUTPUT_GRID_DEG)
        except shapely.errors.GEOSException:
            continue
    return _polygonal_part(shapely.make_valid(geom))  # valid, at full precision


def _candidates(cameras: Cameras, aoi_wgs84_bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Indices of cameras whose range may reach the AOI bounding box (vectorised, conservative)."""
    xmin, ymin, xmax, ymax = aoi_wgs84_bounds
    rng = np.nan_to_num(cameras.range_m, nan=0.0, posinf=0.0)
    reach = np.max(rng, initial=0.0)
    dlat = reach / M_PER_DEG_LAT
    coslat = max(math.cos(math.radians(max(abs(ymin), abs(ymax)) + dlat)), 1e-6)
    dlon = reach / (M_PER_DEG_LAT * coslat)
    lat, lon = cameras.lat, cameras.lon
    near = (lat >= ymin - dlat) & (lat <= ymax + dlat) & (lon >= xmin - dlon) & (lon <= xmax + dlon)
    # Cameras with NaN coordinates are kept so they are reported as invalid, not silently lost.
    near |= ~np.isfinite(lat) | ~np.isfinite(lon)
    return np.flatnonzero(near)


def _aoi_bounds_wgs84(aoi: shapely.Geometry | PointRadius) -> tuple[float, float, float, float]:
    if isinstance(aoi, PointRadius):
        dlat = aoi.radius_m / M_PER_DEG_LAT
        dlon = aoi.radius_m / (M_PER_DEG_LAT * max(math.cos(math.radians(abs(aoi.lat) + dlat)), 1e-6))
        return aoi.lon - dlon, aoi.lat - dlat, aoi.lon + dlon, aoi.lat + dlat
    return tuple(aoi.bounds)  # type: ignore[return-value]


def uncovered_zones(
    aoi: AoiLike,
    cameras: Cameras | CoverageIndex,
    *,
    min_area_m2: float = 25.0,
    rank_from: tuple[float, float] | None = None,
    defaults: SectorDefaults | None = None,
    arc_step_deg: float = DEFAULT_ARC_STEP_DEG,
    repair: bool = True,
    check_output: bool = True,
) -> CoverageResult:
    """The parts of ``aoi`` that no camera sees, ranked.

    Args:
        aoi: polygon / multipolygon (lon/lat), GeoJSON mapping or file path, or :class:`PointRadius`.
        cameras: camera arrays, or a prebuilt :class:`CoverageIndex` (fast repeated queries).
        min_area_m2: zones smaller than this (slivers between sectors) are dropped.
        rank_from: ``(lat, lon)``; when given zones are ranked nearest first, else largest first.
        defaults: fill values for missing camera parameters (plain ``Cameras`` only).
        arc_step_deg: arc vertex spacing of sectors (plain ``Cameras`` only).
        repair: repair an invalid AOI polygon (make_valid) instead of raising.
        check_output: check (and repair) the zones' lon/lat polygons now; False leaves the
            check to the caller (:meth:`CoverageResult.output_check`), e.g. to run it on a
            worker process while the file is written.

    Raises:
        InvalidGeometryError: the AOI is empty, not polygonal, not lon/lat, or unrepairable.
    """
    if not (min_area_m2 >= 0):
        raise GeoError(f"min_area_m2 must be >= 0, got {min_area_m2}")
    aoi_n = load_aoi(aoi, repair=repair)
    invalid: list[tuple[str, str]] = []
    if isinstance(cameras, CoverageIndex):
        invalid = list(cameras.invalid)
        frame = cameras.frame
        aoi_m = aoi_to_m(aoi_n, frame)
        if cameras.union is not None:
            covered = None  # computed on demand from the uncovered part
            zones_m = uncovered_from_union(aoi_m, cameras.union, cameras.union_tree,
                                           None if cameras.groups is None else cameras.groups.part_groups())
            uncovered = (zones_m[0] if zones_m.size == 1 else shapely.multipolygons(zones_m)) if zones_m.size \
                else shapely.Polygon()
            used = cameras.cameras_reaching(aoi_m)
        elif cameras.tiled is not None:
            covered = None  # computed on demand from the uncovered part
            uncovered = cameras.tiled.uncovered(aoi_m, check_valid=False)
            used = cameras.cameras_reaching(aoi_m)
        else:
            hit = cameras.tree.query(aoi_m, predicate="intersects")
            used = int(hit.size)
            covered = shapely.intersection(shapely.union_all(cameras.polygons_m[hit]), aoi_m)
    else:
        frame = frame_for_aoi(aoi_n)
        aoi_m = aoi_to_m(aoi_n, frame)
        cand = _candidates(cameras, _aoi_bounds_wgs84(aoi_n))
        sectors = view_sectors(cameras.subset(cand), frame=frame, defaults=defaults, arc_step_deg=arc_step_deg)
        invalid = sectors.problems()
        polys = sectors.polygons_m[sectors.valid]
        tree = shapely.STRtree(polys)
        hit = tree.query(aoi_m, predicate="intersects")
        used = int(hit.size)
        covered = shapely.intersection(shapely.union_all(polys[hit]), aoi_m) if used else shapely.Polygon()
    if covered is not None:
        covered = _polygonal_part(covered)
        uncovered = _polygonal_part(shapely.difference(aoi_m, covered)) if not covered.is_empty else aoi_m
        if not shapely.is_valid(uncovered):  # (tiled parts are validated one by one)
            uncovered = _polygonal_part(shapely.make_valid(uncovered))

    # Areas in true square metres: divide grid area by the squared point scale at the AOI.
    c = shapely.centroid(aoi_m)
    clat, clon = frame.to_latlon(c.x, c.y)
    _, k = frame.north_and_scale(clat, clon)
    k2 = float(k) ** 2
    aoi_area = aoi_m.area / k2
    uncovered_area = uncovered.area / k2
    covered_area = covered.area / k2 if covered is not None else aoi_area - uncovered_area

    parts = shapely.get_parts(uncovered)
    parts = parts[shapely.get_type_id(parts) == 3] if parts.size else parts
    areas = shapely.area(parts) / k2 if parts.size else np.array([])
    keep = areas >= min_area_m2
    dropped = float(areas[~keep].sum()) if areas.size else 0.0
    parts, areas = parts[keep], areas[keep]
    dist = None
    if rank_from is not None:
        px, py = frame.to_xy_m(rank_from[0], rank_from[1])
        dist = shapely.distance(parts, shapely.Point(float(px), float(py))) / float(k) if parts.size else np.array([])
        order = np.lexsort((-areas, dist))
    else:
        order = np.argsort(-areas, kind="stable")
    ranked = _RankedZones(frame, parts[order], areas[order], None if dist is None else dist[order])
    if not check_output:  # the check starts now (on a worker when one runs), the zones are built meanwhile
        from geo import forked_workers

        ranked.pending = forked_workers.validity(ranked.wgs)
    zones = ranked.zones(ranked.valid_mask() if check_output else None)
    logger.debug("uncovered_zones: %d cameras used, %d zones, covered %.1f%%", used, len(zones),
                 100.0 * covered_area / aoi_area if aoi_area else 0.0)
    return CoverageResult(
        zones=zones, aoi_m=aoi_m, uncovered_m=uncovered, frame=frame,
        aoi_area_m2=aoi_area, covered_area_m2=covered_area, uncovered_area_m2=uncovered_area,
        dropped_area_m2=dropped, cameras_used=used, invalid_cameras=invalid, _covered_m=covered,
        _ranked=None if check_output else ranked,
    )


@dataclass
class _RankedZones:
    """The uncovered zones in rank order (metric polygons, areas, distances) and their
    output polygons: lon/lat rounded to :data:`OUTPUT_GRID_DEG` in one coordinate pass."""

    frame: LocalFrame
    parts: np.ndarray
    areas: np.ndarray
    dist: np.ndarray | None
    wgs: np.ndarray = field(init=False)
    pending: object | None = None  # the validity check under way (geo.forked_workers.PendingValidity)

    def __post_init__(self):
        self.wgs = wgs84_on_grid(self.frame, self.parts) if self.parts.size else np.array([], dtype=object)

    def valid_mask(self) -> np.ndarray:
        return shapely.is_valid(self.wgs) if self.wgs.size else np.zeros(0, dtype=bool)

    def zones(self, valid: np.ndarray | None) -> list[UncoveredZone]:
        """The zones, ranked; output polygons that are not ``valid`` (rounding broke them)
        snapped / repaired from the unrounded lon/lat, and their metric zone made valid too
        when the repair changed them. ``valid`` None: taken as valid (not checked)."""
        parts, wgs = self.parts, self.wgs
        if not parts.size:
            return []
        bad = np.zeros(parts.size, dtype=bool) if valid is None else ~np.asarray(valid, dtype=bool)
        changed = np.zeros(parts.size, dtype=bool)
        if bad.any():
            wgs = wgs.copy()
            raw = self.frame.geom_to_wgs84(parts[bad])
            fixed = valid_wgs84(raw)
            changed[bad] = shapely.get_num_coordinates(fixed) != shapely.get_num_coordinates(raw)
            wgs[bad] = fixed
        if changed.any():  # the output needed a repair: make the metric zone valid as well
            parts = parts.copy()
            parts[changed] = [_polygonal_part(shapely.make_valid(p)) for p in parts[changed]]
        cents = shapely.centroid(parts)
        clats, clons = self.frame.to_latlon(shapely.get_x(cents), shapely.get_y(cents))
        zones: list[UncoveredZone] = []
        for i in range(parts.size):
            if wgs[i].is_empty:  # collapsed below the output grid (a sub-centimetre sliver)
                continue
            zones.append(UncoveredZone(
                polygon_wgs84=wgs[i], polygon_m=parts[i], area_m2=float(self.areas[i]),
                centroid_lat=float(clats[i]), centroid_lon=float(clons[i]), rank=len(zones) + 1,
                distance_m=None if self.dist is None else float(self.dist[i]),
            ))
        return zones
