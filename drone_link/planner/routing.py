"""Routing around no-fly zones and inside the fence: a visibility graph over buffered vertices.

``FreeSpace`` is the metric region the drone may fly in: inside the fence shrunk
by the margin, outside every exclusion grown by the margin. A straight segment
is used when it stays in free space; otherwise the shortest path goes through
the vertices of a slightly larger buffer (so the nodes themselves are strictly
in free space), found with Dijkstra over the precomputed visibility graph.
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np
import shapely

from drone_link.planner.errors import InfeasibleRouteError
from drone_link.planner.geometry import GRID_M, safe_union
from drone_link.planner.path import Waypoint

_NODE_PAD = 1.15  # nodes on a buffer this much larger than the margin
_MITRE = {"join_style": "mitre", "mitre_limit": 3.0}


class FreeSpace:
    """Flyable region (metric) with a straight-line test and a shortest-path router."""

    def __init__(self, *, fence_m: shapely.Polygon | None, exclusions_m: list[shapely.Polygon],
                 margin_m: float, names: list[str] | None = None) -> None:
        self.margin_m = margin_m
        self._names = list(names or [])
        self._exclusions_m = list(exclusions_m)
        pad = max(margin_m, 0.5)
        exclusions_m = [e if e.is_valid else shapely.make_valid(e) for e in exclusions_m]
        blocked = safe_union([e.buffer(margin_m, **_MITRE) for e in exclusions_m], grid_size=GRID_M) \
            if exclusions_m else shapely.Polygon()
        if fence_m is not None:
            inner = fence_m.buffer(-margin_m, **_MITRE)
            if inner.is_empty:
                raise InfeasibleRouteError("the fence is too small for the safety margin")
            self.region: shapely.Geometry | None = shapely.difference(inner, blocked)
        else:
            self.region = None
        self.blocked = blocked
        self._check = self.region if self.region is not None else blocked
        shapely.prepare(self._check)
        nodes: list[tuple[float, float]] = []
        grow = margin_m + pad * (_NODE_PAD - 1.0) + 0.2
        for e in exclusions_m:
            # nodes only need the outline's shape: simplify detailed real boundaries
            nodes.extend(_vertices(_simplified(e.buffer(grow, **_MITRE))))
        if fence_m is not None:
            nodes.extend(_vertices(_simplified(fence_m.buffer(-grow, **_MITRE))))
        pts = np.array(nodes, dtype=float).reshape(-1, 2)
        if len(pts):
            ok = self.contains_points(pts)
            pts = pts[ok]
        self.nodes = pts
        self._adj = self._visibility(pts)

    # -- tests ---------------------------------------------------------------------------
    def contains_points(self, xy: np.ndarray) -> np.ndarray:
        points = shapely.points(xy)
        if self.region is not None:
            return shapely.covers(self._check, points)
        return ~shapely.intersects(self._check, points)

    def segments_ok(self, a_xy: np.ndarray, b_xy: np.ndarray) -> np.ndarray:
        """For each segment a[i]→b[i]: does it stay in free space?"""
        a_xy = np.asarray(a_xy, dtype=float).reshape(-1, 2)
        b_xy = np.asarray(b_xy, dtype=float).reshape(-1, 2)
        if len(a_xy) == 0:
            return np.zeros(0, dtype=bool)
        coords = np.stack([a_xy, b_xy], axis=1)
        lines = shapely.linestrings(coords)
        if self.region is not None:
            return shapely.covers(self._check, lines)
        return ~shapely.intersects(self._check, lines)

    def segment_ok(self, a: Waypoint, b: Waypoint) -> bool:
        return bool(self.segments_ok(np.array([[a.x_m, a.y_m]]), np.array([[b.x_m, b.y_m]]))[0])

    # -- routing -------------------------------------------------------------------------
    def _visibility(self, pts: np.ndarray) -> list[list[tuple[int, float]]]:
        n = len(pts)
        adj: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        if n < 2:
            return adj
        ii, jj = np.triu_indices(n, k=1)
        ok = self.segments_ok(pts[ii], pts[jj])
        for i, j in zip(ii[ok], jj[ok]):
            d = float(math.dist(pts[i], pts[j]))
            adj[i].append((int(j), d))
            adj[j].append((int(i), d))
        return adj

    def route(self, a: Waypoint, b: Waypoint) -> list[Waypoint]:
        """Shortest free path a → b as waypoints (both ends included)."""
        if self.segment_ok(a, b):
            return [a, b]
        n = len(self.nodes)
        if n == 0:
            raise InfeasibleRouteError(_where(a, b, self._no_way(a, b)))
        a_xy = np.array([a.x_m, a.y_m])
        b_xy = np.array([b.x_m, b.y_m])
        vis_a = self.segments_ok(np.repeat(a_xy[None], n, 0), self.nodes)
        vis_b = self.segments_ok(self.nodes, np.repeat(b_xy[None], n, 0))
        if not vis_a.any() or not vis_b.any():
            raise InfeasibleRouteError(_where(a, b, "an end point is enclosed or not in free space" + self._named(a, b)))
        start, goal = n, n + 1
        dist = {start: 0.0}
        prev: dict[int, int] = {}
        heap = [(0.0, start)]
        d_to_b = np.where(vis_b, np.hypot(*(self.nodes - b_xy).T), np.inf)
        while heap:
            d, u = heapq.heappop(heap)
            if u == goal:
                break
            if d > dist.get(u, math.inf):
                continue
            if u == start:
                nbrs = [(int(j), float(math.dist(a_xy, self.nodes[j]))) for j in np.flatnonzero(vis_a)]
            else:
                nbrs = list(self._adj[u])
                if np.isfinite(d_to_b[u]):
                    nbrs.append((goal, float(d_to_b[u])))
            for v, w in nbrs:
                nd = d + w
                if nd < dist.get(v, math.inf):
                    dist[v] = nd
                    prev[v] = u
                    heapq.heappush(heap, (nd, v))
        if goal not in dist:
            raise InfeasibleRouteError(_where(a, b, self._no_way(a, b)))
        chain = [goal]
        while chain[-1] != start:
            chain.append(prev[chain[-1]])
        chain.reverse()
        out = [a]
        for k in chain[1:-1]:
            out.append(Waypoint(float(self.nodes[k][0]), float(self.nodes[k][1])))
        out.append(b)
        return out

    def _blocking(self, a: Waypoint, b: Waypoint) -> list[str]:
        seg = shapely.LineString([(a.x_m, a.y_m), (b.x_m, b.y_m)]).buffer(self.margin_m + 1.0)
        return [self._names[i] if i < len(self._names) else f"no-fly #{i + 1}"
                for i, e in enumerate(self._exclusions_m) if e.intersects(seg)]

    def _named(self, a: Waypoint, b: Waypoint) -> str:
        names = self._blocking(a, b)
        return f" (no-fly zone {', '.join(map(repr, names))})" if names else ""

    def _no_way(self, a: Waypoint, b: Waypoint) -> str:
        names = self._blocking(a, b)
        if names:
            return (f"no way around no-fly zone{'s' if len(names) > 1 else ''} "
                    f"{', '.join(map(repr, names))} inside the fence")
        return "no way around the no-fly zones"

    def route_length_m(self, a: Waypoint, b: Waypoint) -> float:
        pts = self.route(a, b)
        return sum(math.hypot(q.x_m - p.x_m, q.y_m - p.y_m) for p, q in itertools.pairwise(pts))


def _simplified(geom: shapely.Geometry, *, max_vertices: int = 120) -> shapely.Geometry:
    """Fewer vertices (tolerance doubled until at most ``max_vertices`` remain)."""
    tol = 0.1
    out = geom.simplify(tol)
    while shapely.get_num_coordinates(out) > max_vertices and tol < 1e4:
        tol *= 2
        out = geom.simplify(tol)
    return out


def _vertices(geom: shapely.Geometry) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for poly in shapely.get_parts(geom):
        if poly.is_empty:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            out.extend((float(x), float(y)) for x, y in list(ring.coords)[:-1])
    return out


def _where(a: Waypoint, b: Waypoint, why: str) -> str:
    return (f"cannot route from ({a.x_m:.0f}, {a.y_m:.0f}) to ({b.x_m:.0f}, {b.y_m:.0f}) m "
            f"in the local frame: {why}")
