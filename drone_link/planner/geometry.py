"""Making polygons safe for overlay operations: valid, on a fixed precision grid, unioned.

Gap zones come out of a metric overlay and are reprojected to WGS84; two zones
that touched along an edge can then cross by a few nanodegrees and GEOS'
overlay raises ``TopologyException: side location conflict``. Every polygon
the planner overlays goes through :func:`clean_polygons` first: ``make_valid``,
snapped to a precision grid, dissolved with a grid-size (OverlayNG, which is
robust on such inputs). What had to be fixed is reported in one line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import shapely

from drone_link.planner.errors import PlanningError

logger = logging.getLogger(__name__)

GRID_DEG = 1e-9  # ~0.1 mm: far below any position a vehicle stores (1e-7 deg)
GRID_M = 1e-4


@dataclass
class CleanPolygons:
    """Valid, non-overlapping polygons and what had to be fixed to get them."""

    polygons: list[shapely.Polygon]
    problems: list[str] = field(default_factory=list)

    @property
    def union(self) -> shapely.Geometry:
        return shapely.MultiPolygon(self.polygons) if len(self.polygons) != 1 else self.polygons[0]

    def summary(self, what: str = "zones") -> str:
        """One line: ``zones: 2 invalid made valid (self-intersection at ...); 3 overlapping merged``."""
        return f"{what}: " + "; ".join(self.problems) if self.problems else ""


def clean_polygons(geoms, *, grid_size: float = GRID_DEG, dissolve: bool = True,
                   min_area: float = 0.0, what: str = "zone") -> CleanPolygons:
    """Valid polygons from polygons / multipolygons / collections (one or a sequence).

    ``grid_size`` is in the geometries' units (degrees for WGS84, ``GRID_M`` for metres).
    With ``dissolve`` overlapping or touching polygons are merged (their union is what
    is flown anyway). Non-areal parts (lines, points left by ``make_valid``) are dropped.
    """
    seq = list(geoms) if isinstance(geoms, (list, tuple)) else [geoms]
    problems: list[str] = []
    parts: list[shapely.Geometry] = []
    invalid: list[str] = []
    for i, g in enumerate(seq):
        if g is None or g.is_empty:
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
            raise PlanningError(f"{what} {i}: expected a polygon, got {g.geom_type}")
        if not g.is_valid:
            invalid.append(f"{what} {i} ({shapely.is_valid_reason(g)})")
            g = shapely.make_valid(g)
        try:
            g = shapely.set_precision(g, grid_size)
        except shapely.errors.GEOSException:
            g = shapely.set_precision(shapely.make_valid(g.buffer(0)), grid_size)
        parts.extend(p for p in shapely.get_parts(_areal(g)) if not p.is_empty)
    if invalid:
        problems.append(f"{len(invalid)} invalid made valid: " + ", ".join(invalid[:3])
                        + (" ..." if len(invalid) > 3 else ""))
    if dissolve and len(parts) > 1:
        merged = _areal(shapely.union_all(parts, grid_size=grid_size))
        out = [p for p in shapely.get_parts(merged) if not p.is_empty]
        if len(out) < len(parts):
            problems.append(f"{len(parts) - len(out) } overlapping or touching {what}s merged")
        parts = out
    polys = [p for p in parts if isinstance(p, shapely.Polygon) and p.area > min_area]
    result = CleanPolygons(polys, problems)
    if problems:
        logger.info("%s", result.summary(what + "s"))
    return result


def safe_union(geoms, *, grid_size: float = GRID_DEG) -> shapely.Geometry:
    """``union_all`` that does not raise on nearly-coincident edges (valid + grid-snapped)."""
    seq = [g for g in (list(geoms) if isinstance(geoms, (list, tuple)) else [geoms])
           if g is not None and not g.is_empty]
    if not seq:
        return shapely.Polygon()
    fixed = [g if g.is_valid else shapely.make_valid(g) for g in seq]
    return shapely.union_all(fixed, grid_size=grid_size)


def _areal(g: shapely.Geometry) -> shapely.Geometry:
    """Only the polygonal parts of ``g`` (``make_valid`` may return lines and points)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    flat = [q for p in polys for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(flat) if flat else shapely.Polygon()
