"""Write uncovered zones as files GIS tools open with their default settings.

One feature per zone (Polygon or MultiPolygon, WGS84 lon/lat) with ``rank``, ``area_m2``,
``centroid_lat``, ``centroid_lon`` (and ``distance_m`` when ranked from a point). The
format follows the file name:

* ``.geojson`` / ``.json``: a FeatureCollection, written feature by feature (never one
  giant in-memory document; every zone is its own feature, so no single JSON object is
  the size of the whole answer);
* ``.geojsonl`` / ``.geojsons`` / ``.geojsonseq``: newline-delimited GeoJSON features
  (GDAL's GeoJSONSeq), streamable line by line;
* ``.gpkg`` (GeoPackage) and ``.fgb`` (FlatGeobuf) through GDAL (pyogrio), geometry
  promoted to MultiPolygon so the layer has one type. FlatGeobuf stores features in
  its spatial-index order: sort by ``rank`` when the order matters.

Files are written to a hidden temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import shapely

from geo.errors import GeoError

GEOJSON_SUFFIXES = (".geojson", ".json")
SEQ_SUFFIXES = (".geojsonl", ".geojsons", ".geojsonseq")
GDAL_DRIVERS = {".gpkg": "GPKG", ".fgb": "FlatGeobuf"}
FORMATS = ("geojson", "geojsonl", "gpkg", "fgb")


def format_for(path: Path, fmt: str | None = None) -> str:
    """The output format: ``fmt`` if given, else from the suffix; GeoError when unknown."""
    if fmt:
        if fmt not in FORMATS:
            raise GeoError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
        return fmt
    suffix = path.suffix.lower()
    if suffix in GEOJSON_SUFFIXES:
        return "geojson"
    if suffix in SEQ_SUFFIXES:
        return "geojsonl"
    if suffix in GDAL_DRIVERS:
        return suffix[1:]
    raise GeoError(f"{path}: unknown output type {suffix!r}: use .geojson, .geojsonl, .gpkg or .fgb")


def zone_properties(zone) -> dict:
    props = {"rank": zone.rank, "area_m2": round(zone.area_m2, 2),
             "centroid_lat": round(zone.centroid_lat, 7), "centroid_lon": round(zone.centroid_lon, 7)}
    if zone.distance_m is not None:
        props["distance_m"] = round(zone.distance_m, 2)
    return props


def _feature_text(zone) -> str:
    props = json.dumps(zone_properties(zone), ensure_ascii=False)
    return f'{{"type": "Feature", "properties": {props}, "geometry": {shapely.to_geojson(zone.polygon_wgs84)}}}'


def write_zones(zones: Iterable, path: Path, *, fmt: str | None = None) -> str:
    """Write ``zones`` (:class:`~geo.coverage.UncoveredZone`) to ``path``; returns the format used."""
    path = Path(path)
    kind = format_for(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    if kind == "geojson":
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write('{"type": "FeatureCollection", "features": [\n')
            for i, z in enumerate(zones):
                fh.write((",\n" if i else "") + _feature_text(z))
            fh.write("\n]}\n")
    elif kind == "geojsonl":
        with tmp.open("w", encoding="utf-8") as fh:
            for z in zones:
                fh.write(_feature_text(z) + "\n")
    else:
        _write_gdal(list(zones), tmp, GDAL_DRIVERS["." + kind])
    tmp.replace(path)
    return kind


def _write_gdal(zones: list, path: Path, driver: str) -> None:
    import pyogrio.raw

    if path.exists():
        path.unlink()
    geoms = np.array([z.polygon_wgs84 for z in zones], dtype=object)
    single = shapely.get_type_id(geoms) == 3
    if single.any():
        geoms[single] = shapely.multipolygons(shapely.get_parts(geoms[single]),
                                              indices=np.arange(int(single.sum())))
    props = [zone_properties(z) for z in zones]
    names = ["rank", "area_m2", "centroid_lat", "centroid_lon", "distance_m"]
    data = [np.array([p["rank"] for p in props], dtype=np.int64)]
    data += [np.array([p.get(n, np.nan) for p in props], dtype=float) for n in names[1:]]
    pyogrio.raw.write(str(path), geometry=shapely.to_wkb(geoms), field_data=data, fields=names,
                      layer="uncovered_zones", driver=driver, geometry_type="MultiPolygon", crs="EPSG:4326")
