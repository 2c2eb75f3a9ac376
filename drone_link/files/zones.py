"""Reading zone polygons (survey areas, no-fly zones, fences) from GeoJSON files.

Accepts a FeatureCollection, a Feature or a bare geometry; keeps Polygon and
MultiPolygon parts (WGS84 ``[lon, lat]``) and names the feature that is wrong.
"""

from __future__ import annotations

from pathlib import Path

import shapely
from shapely.geometry import shape

from drone_link.files.errors import MissionFileError
from drone_link.files.geojson_text import parse_geojson
from geo.budget import MAX_VERTICES, check_crossings, check_vertices
from geo.errors import InvalidGeometryError

MAX_FILE_BYTES = 64 * 2**20


def read_polygons(path: str | Path, *, max_vertices: int = MAX_VERTICES,
                  max_file_bytes: int = MAX_FILE_BYTES) -> list[shapely.Polygon]:
    """All polygons in a GeoJSON file (MultiPolygons split into parts).

    Hostile files fail with :class:`MissionFileError` naming the feature: size, vertex
    and self-crossing budgets are checked before any repair (see :mod:`geo.budget`).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            raise MissionFileError(path, f"{size} bytes, more than the limit of {max_file_bytes} "
                                         "(setting limits.aoi_max_bytes)")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MissionFileError(path, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MissionFileError(path, "not UTF-8 text") from None
    doc = parse_geojson(path, text)
    if doc["type"] == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise MissionFileError(path, "FeatureCollection without a features list", field="features")
        geoms = [(f"features[{i}].geometry", f.get("geometry") if isinstance(f, dict) else None)
                 for i, f in enumerate(feats)]
    elif doc["type"] == "Feature":
        geoms = [("geometry", doc.get("geometry"))]
    else:
        geoms = [("", doc)]
    out: list[shapely.Polygon] = []
    vertices = 0
    for field, g in geoms:
        if not isinstance(g, dict):
            raise MissionFileError(path, "missing geometry", field=field or None)
        try:
            geom = shape(g)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError,
                shapely.errors.ShapelyError) as exc:
            raise MissionFileError(path, f"bad geometry: {str(exc)[:160]}", field=field or None) from None
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise MissionFileError(path, f"expected Polygon or MultiPolygon, got {geom.geom_type}",
                                   field=field or None)
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise MissionFileError(path, "coordinates are not WGS84 [lon, lat]", field=field or None)
        vertices += int(shapely.get_num_coordinates(geom))
        try:
            check_vertices(geom, what="polygon", max_vertices=max_vertices - vertices
                           + int(shapely.get_num_coordinates(geom)))
            if not geom.is_valid:
                check_crossings(geom, what="polygon")  # make_valid is quadratic in crossings
                geom = shapely.make_valid(geom)
        except InvalidGeometryError as exc:
            raise MissionFileError(path, str(exc), field=field or None) from None
        out.extend(p for p in shapely.get_parts(geom)
                   if isinstance(p, shapely.Polygon) and not p.is_empty)
    if not out:
        raise MissionFileError(path, "no polygon found")
    return out
