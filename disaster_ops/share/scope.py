"""An agency's sharing rule as a pure, prepared filter (no database here).

``AgencyScope.admits(view)`` is the one question every push, export and feed asks.
A region meets an incident when the two areas intersect (an incident straddling a
district border is shown to both districts)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import shapely

from disaster_ops.errors import InputError


def parse_region(text: str, *, field: str = "region") -> shapely.Geometry:
    """A WGS84 Polygon/MultiPolygon from GeoJSON text (geometry, Feature or FeatureCollection)."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise InputError(f"{field}: not GeoJSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise InputError(f"{field}: GeoJSON must be an object")
    geoms = []
    if doc.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in doc.get("features") or [] if isinstance(f, dict)]
    elif doc.get("type") == "Feature":
        geoms = [doc.get("geometry")]
    else:
        geoms = [doc]
    parts = []
    for g in geoms:
        if not isinstance(g, dict) or g.get("type") not in ("Polygon", "MultiPolygon"):
            raise InputError(f"{field}: only Polygon or MultiPolygon areas, got {g.get('type') if isinstance(g, dict) else g!r}")
        try:
            parts.append(shapely.from_geojson(json.dumps(g)))
        except shapely.errors.GEOSException as exc:
            raise InputError(f"{field}: bad geometry ({exc})") from exc
    if not parts:
        raise InputError(f"{field}: no polygon in the GeoJSON")
    region = shapely.union_all(parts)
    w, s, e, n = region.bounds
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise InputError(f"{field}: coordinates must be WGS84 [lon, lat]")
    if not region.is_valid:
        region = shapely.make_valid(region)
    if region.is_empty or region.area == 0:
        raise InputError(f"{field}: the area is empty")
    return region


@dataclass(frozen=True)
class AgencyScope:
    """What one agency receives. ``region`` None: everywhere; ``kinds`` None: every kind."""

    name: str
    region: shapely.Geometry | None = None
    kinds: frozenset[str] | None = None
    min_severity: int = 1
    include_media: bool = False
    admits_nothing: bool = False

    def __post_init__(self) -> None:
        if self.region is not None:
            shapely.prepare(self.region)

    @classmethod
    def nothing(cls, name: str) -> AgencyScope:
        """Fail closed: a principal names an agency that has no record."""
        return cls(name=name, admits_nothing=True)

    def admits_area(self, geom: shapely.Geometry) -> bool:
        if self.admits_nothing:
            return False
        return self.region is None or bool(self.region.intersects(geom))

    def admits_point(self, lat: float, lon: float) -> bool:
        return self.admits_area(shapely.Point(lon, lat))

    def admits_incident(self, *, kinds: Iterable[str], severity: int, geometry: shapely.Geometry) -> bool:
        if self.admits_nothing or severity < self.min_severity:
            return False
        if self.kinds is not None and not (set(kinds) & self.kinds):
            return False
        return self.admits_area(geometry)
