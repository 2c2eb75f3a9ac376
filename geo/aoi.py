"""Areas of interest (AOI): normalise what users hand in to one valid WGS84 (multi)polygon.

Accepted: a shapely Polygon / MultiPolygon (lon/lat), a GeoJSON mapping (geometry,
Feature or FeatureCollection; all polygonal features are unioned, e.g. an
administrative boundary file), a path to a GeoJSON file, or a :class:`PointRadius`
(the area around an incident). Invalid polygons (self-intersections, bow-ties) are
repaired with ``shapely.make_valid`` keeping only the polygonal part, or rejected with
an :class:`~geo.errors.InvalidGeometryError` that says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from geo.budget import MAX_VERTICES, check_area, check_crossings, check_vertices
from geo.crs import LocalFrame
from geo.errors import InvalidGeometryError

POLYGONAL = (shapely.Polygon, shapely.MultiPolygon)
MIN_AREA_DEG2 = 1e-12  # about 0.01 m²: anything smaller is a degenerate (collinear) ring


@dataclass(frozen=True)
class PointRadius:
    """A circular AOI: ``radius_m`` metres around ``lat, lon``."""

    lat: float
    lon: float
    radius_m: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise InvalidGeometryError(f"AOI point: lat {self.lat} outside [-90, 90]")
        if not (np.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise InvalidGeometryError(f"AOI point: lon {self.lon} outside [-180, 180]")
        if not (np.isfinite(self.radius_m) and self.radius_m > 0):
            raise InvalidGeometryError(f"AOI point: radius_m must be > 0, got {self.radius_m}")

    def polygon_m(self, frame: LocalFrame, *, quad_segs: int = 32) -> shapely.Polygon:
        """The circle in ``frame`` metres (ground radius corrected by the frame's scale)."""
        x, y = frame.to_xy_m(self.lat, self.lon)
        _, scale = frame.north_and_scale(self.lat, self.lon)
        return shapely.Point(float(x), float(y)).buffer(self.radius_m * float(scale), quad_segs=quad_segs)

    def polygon_wgs84(self) -> shapely.Polygon:
        frame = LocalFrame.around(self.lat, self.lon)
        return frame.geom_to_wgs84(self.polygon_m(frame))


AoiLike = shapely.Geometry | dict | str | Path | PointRadius


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """Polygons (and multipolygons) inside ``geom``, unioned; empty if there are none."""
    if isinstance(geom, POLYGONAL):
        return geom
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if isinstance(p, POLYGONAL)]
    if not polys:
        return shapely.Polygon()
    return shapely.union_all(polys)


def clean_polygonal(geom: shapely.Geometry, *, what: str = "AOI", repair: bool = True,
                    max_vertices: int = MAX_VERTICES) -> shapely.Geometry:
    """A valid, non-empty polygonal geometry, repaired when allowed, else InvalidGeometryError."""
    if geom is None or geom.is_empty:
        raise InvalidGeometryError(f"{what}: geometry is empty")
    if not isinstance(geom, (*POLYGONAL, shapely.GeometryCollection)):
        raise InvalidGeometryError(f"{what}: expected a Polygon or MultiPolygon, got {geom.geom_type}")
    check_vertices(geom, what=what, max_vertices=max_vertices)
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise InvalidGeometryError(f"{what}: coordinates must be finite numbers")
    if not shapely.is_valid(geom):
        why = shapely.is_valid_reason(geom)
        if not repair:
            raise InvalidGeometryError(f"{what}: invalid polygon ({why})")
        check_crossings(geom, what=what)  # make_valid is quadratic in crossings
        geom = _polygonal_part(shapely.make_valid(geom))
        if geom.is_empty or geom.area <= 0:
            raise InvalidGeometryError(f"{what}: invalid polygon ({why}) and nothing polygonal is left after repair")
    else:
        geom = _polygonal_part(geom)
    if geom.is_empty or geom.area <= MIN_AREA_DEG2:
        raise InvalidGeometryError(f"{what}: polygon has zero area")
    return geom


def _check_lonlat(geom: shapely.Geometry, what: str) -> None:
    xmin, ymin, xmax, ymax = geom.bounds
    if not (-180.0 <= xmin <= xmax <= 180.0 and -90.0 <= ymin <= ymax <= 90.0):
        raise InvalidGeometryError(
            f"{what}: coordinates are not WGS84 lon/lat (bounds {xmin:.3f},{ymin:.3f},{xmax:.3f},{ymax:.3f})"
        )


def _from_geojson(obj: Any, what: str) -> shapely.Geometry:
    if not isinstance(obj, dict) or "type" not in obj:
        raise InvalidGeometryError(f"{what}: not a GeoJSON object (no 'type')")
    kind = obj["type"]
    try:
        if kind == "FeatureCollection":
            feats = obj.get("features") or []
            geoms = [shape(f["geometry"]) for f in feats if f.get("geometry")]
            if not geoms:
                raise InvalidGeometryError(f"{what}: FeatureCollection has no geometries")
            polys = [g for g in geoms if isinstance(g, (*POLYGONAL, shapely.GeometryCollection))]
            if not polys:
                raise InvalidGeometryError(f"{what}: no Polygon/MultiPolygon features")
            check_vertices(shapely.GeometryCollection(polys), what=what)
            # Repair each feature first, then union: admin boundaries often hold tiny self-overlaps.
            return shapely.union_all([clean_polygonal(g, what=what) for g in polys])
        if kind == "Feature":
            if not obj.get("geometry"):
                raise InvalidGeometryError(f"{what}: Feature has no geometry")
            return shape(obj["geometry"])
        return shape(obj)
    except InvalidGeometryError:
        raise
    except KeyError as exc:
        raise InvalidGeometryError(f"{what}: GeoJSON geometry has no {exc} member") from exc
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise InvalidGeometryError(f"{what}: malformed GeoJSON geometry ({exc})") from exc


MAX_FILE_BYTES = 64 * 2**20


def load_aoi(aoi: AoiLike, *, repair: bool = True, max_vertices: int = MAX_VERTICES,
             max_area_km2: float | None = None, max_file_bytes: int = MAX_FILE_BYTES,
             ) -> shapely.Geometry | PointRadius:
    """Normalise ``aoi`` to a valid WGS84 polygonal geometry, or return a :class:`PointRadius` as is.

    Budgets (vertex count, self-crossings before a repair, area, file size) are checked
    before the expensive steps, so a hostile polygon fails fast with one clear line.
    """
    if isinstance(aoi, PointRadius):
        if max_area_km2 is not None and 3.1416 * (aoi.radius_m / 1000.0) ** 2 > max_area_km2:
            raise InvalidGeometryError(f"AOI circle of {aoi.radius_m:g} m is larger than the limit of "
                                       f"{max_area_km2:g} km² (setting limits.aoi_max_area_km2)")
        return aoi
    what = "AOI"
    if isinstance(aoi, (str, Path)):
        path = Path(aoi)
        what = f"AOI file {path}"
        if not path.is_file():
            raise InvalidGeometryError(f"{what}: no such file")
        if path.stat().st_size > max_file_bytes:
            raise InvalidGeometryError(f"{what}: {path.stat().st_size} bytes, more than the limit of "
                                       f"{max_file_bytes} (setting limits.aoi_max_bytes)")
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidGeometryError(f"{what}: not valid JSON ({exc})") from exc
        except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, deep nesting
            raise InvalidGeometryError(f"{what}: not usable JSON ({str(exc)[:120]})") from exc
        except OSError as exc:
            raise InvalidGeometryError(f"{what}: cannot read ({exc.strerror or exc})") from exc
        geom = _from_geojson(obj, what)
    elif isinstance(aoi, dict):
        geom = _from_geojson(aoi, what)
    elif isinstance(aoi, shapely.Geometry):
        geom = aoi
    else:
        raise InvalidGeometryError(f"AOI: unsupported type {type(aoi).__name__}")
    geom = clean_polygonal(geom, what=what, repair=repair, max_vertices=max_vertices)
    _check_lonlat(geom, what)
    check_area(geom, what=what, max_area_km2=max_area_km2)
    return geom


def aoi_to_m(aoi: shapely.Geometry | PointRadius, frame: LocalFrame) -> shapely.Geometry:
    """The AOI in ``frame`` metres, valid (projection can fold near-degenerate rings; repaired)."""
    if isinstance(aoi, PointRadius):
        return aoi.polygon_m(frame)
    geom_m = frame.geom_to_m(aoi)
    if not shapely.is_valid(geom_m):
        geom_m = _polygonal_part(shapely.make_valid(geom_m))
    return geom_m


def frame_for_aoi(aoi: shapely.Geometry | PointRadius) -> LocalFrame:
    if isinstance(aoi, PointRadius):
        return LocalFrame.around(aoi.lat, aoi.lon)
    return LocalFrame.for_geometry(aoi)
