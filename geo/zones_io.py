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

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import shapely

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency; GEOS's writer otherwise
    orjson = None

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


def geometries_json(geoms: np.ndarray) -> list[bytes]:
    """GeoJSON text (UTF-8) of each Polygon / MultiPolygon, coordinates exactly as stored
    (the pieces of :func:`geometries_json_pieces` joined)."""
    return [b"".join(pieces) for pieces in geometries_json_pieces(geoms)]


PIECE_COORDS = 65_536  # a geometry with more coordinates is written a chunk of rings at a time


def geometries_json_pieces(geoms: np.ndarray) -> Iterator[Iterator[bytes]]:
    """Per geometry, its GeoJSON text (UTF-8) in pieces, coordinates exactly as stored.

    All coordinates are taken out in one vectorised pass and written by orjson straight
    from the arrays (3x faster than GEOS's GeoJSON writer on a province-wide zone); floats
    are written as the shortest text that reads back to the same double. A geometry of
    more than :data:`PIECE_COORDS` coordinates comes out a chunk of rings at a time (a
    province-wide zone is ~45 MB of text: never one object in memory); the pieces joined
    are the bytes one ``orjson.dumps`` of the whole geometry gives. Without orjson, GEOS's
    writer.
    """
    geoms = np.asarray(geoms, dtype=object)
    if orjson is None or geoms.size == 0:  # pragma: no cover - orjson is a dependency
        for g in geoms:
            yield iter([shapely.to_geojson(g).encode()])
        return
    polys, poly_zone = shapely.get_parts(geoms, return_index=True)
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    ends = np.cumsum(np.bincount(ring_of, minlength=rings.size)).tolist()
    per_ring = [coords[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]  # views, as np.split gives
    ring_cuts = np.r_[0, np.cumsum(np.bincount(ring_poly, minlength=polys.size))]
    per_poly = [per_ring[a:b] for a, b in itertools.pairwise(ring_cuts)]
    poly_cuts = np.r_[0, np.cumsum(np.bincount(poly_zone, minlength=geoms.size))]
    coord_cuts = np.r_[0, ends][ring_cuts[poly_cuts]]  # first coordinate of each geometry, and the end
    multi = shapely.get_type_id(geoms) == 6
    for i, (a, b) in enumerate(itertools.pairwise(poly_cuts)):
        if coord_cuts[i + 1] - coord_cuts[i] <= PIECE_COORDS or b == a:
            doc = ({"type": "MultiPolygon", "coordinates": per_poly[a:b]} if multi[i]
                   else {"type": "Polygon", "coordinates": per_poly[a] if b > a else []})
            yield iter([orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)])
        else:
            yield _pieces(per_poly[a:b], bool(multi[i]))


def _pieces(polys: list[list[np.ndarray]], multi: bool) -> Iterator[bytes]:
    yield b'{"type":"MultiPolygon","coordinates":[' if multi else b'{"type":"Polygon","coordinates":'
    for k, rings in enumerate(polys):
        yield b"," if k else b""
        yield b"["
        start, n = 0, 0
        for j, ring in enumerate(rings):  # chunks of about PIECE_COORDS coordinates
            n += ring.shape[0]
            if n >= PIECE_COORDS or j == len(rings) - 1:
                chunk = orjson.dumps(rings[start:j + 1], option=orjson.OPT_SERIALIZE_NUMPY)
                yield (b"," if start else b"") + chunk[1:-1]
                start, n = j + 1, 0
        yield b"]"
    yield b"]}" if multi else b"}"


def _feature_head(zone) -> bytes:
    """A feature's text up to its geometry (the geometry and a closing ``}`` follow)."""
    props = json.dumps(zone_properties(zone), ensure_ascii=False).encode()
    return b'{"type": "Feature", "properties": ' + props + b', "geometry": '


def write_zones(zones: Iterable, path: Path, *, fmt: str | None = None,
                before_commit: Callable[[], list | None] | None = None) -> str:
    """Write ``zones`` (:class:`~geo.coverage.UncoveredZone`) to ``path``; returns the format used.

    ``before_commit``: called once the file is written under its temporary name, before it
    is renamed into place; when it returns zones, those are written instead (e.g. the
    zones repaired after a validity check that ran while this file was written).
    """
    path = Path(path)
    kind = format_for(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    try:
        _write(list(zones), tmp, kind)
        if before_commit is not None:
            again = before_commit()
            if again is not None:
                _write(list(again), tmp, kind)
        tmp.replace(path)
    except BaseException:  # a failed write (or Ctrl-C) leaves no half file behind
        tmp.unlink(missing_ok=True)
        raise
    return kind


def _write(zones: list, tmp: Path, kind: str) -> None:
    if kind in ("geojson", "geojsonl"):
        geometry = geometries_json_pieces([z.polygon_wgs84 for z in zones])
        # Written piece by piece: a province-wide zone's geometry is ~45 MB of text, never
        # held whole (fresh memory is page-faulted: writing chunks reuses the same pages).
        with tmp.open("wb") as fh:
            if kind == "geojson":
                fh.write(b'{"type": "FeatureCollection", "features": [\n')
            for i, (z, pieces) in enumerate(zip(zones, geometry, strict=True)):
                if kind == "geojson" and i:
                    fh.write(b",\n")
                fh.write(_feature_head(z))
                for piece in pieces:
                    fh.write(piece)
                fh.write(b"}" if kind == "geojson" else b"}\n")
            if kind == "geojson":
                fh.write(b"\n]}\n")
    else:
        _write_gdal(zones, tmp, GDAL_DRIVERS["." + kind])


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
