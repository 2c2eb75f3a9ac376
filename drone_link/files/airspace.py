"""Reading airspace layers (no-fly / restricted zones) from GeoJSON or KML files.

National drone no-fly layers come as GeoJSON (``FeatureCollection`` of polygons with
a name property) or KML (``Placemark`` with ``<name>`` and ``<Polygon>``). Each zone
keeps its name so that a refused or rerouted mission can say *which* zone it met.
Files over :data:`MAX_BYTES` and XML with a DOCTYPE (entity expansion) are refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import shape

from drone_link.files.errors import MissionFileError, read_text
from drone_link.files.geojson_text import parse_geojson

MAX_BYTES = 64 * 1024 * 1024
_NAME_KEYS = ("name", "NAME", "Name", "zone_name", "ZONE_NAME", "명칭", "이름", "title", "id", "ID")
_KIND_KEYS = ("kind", "type", "category", "구분")
_LOWER_KEYS = ("lower_m", "lower_alt_m", "floor_m")
_UPPER_KEYS = ("upper_m", "upper_alt_m", "ceiling_m")


@dataclass(frozen=True)
class AirspaceZone:
    """One named zone (WGS84 polygon); ``kind`` ``no_fly`` or ``restricted``; limits in metres AGL."""

    name: str
    polygon: shapely.Polygon
    kind: str = "no_fly"
    lower_m: float | None = None
    upper_m: float | None = None


def read_airspace(path: str | Path) -> list[AirspaceZone]:
    """Zones from a GeoJSON (``.geojson``/``.json``) or KML (``.kml``) file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MissionFileError(path, f"cannot read: {exc.strerror or exc}") from None
    if size > MAX_BYTES:
        raise MissionFileError(path, f"{size} bytes is over the {MAX_BYTES} byte limit")
    text = read_text(path)
    if path.suffix.lower() == ".kml" or text.lstrip().startswith("<"):
        zones = _from_kml(path, text)
    else:
        zones = _from_geojson(path, text)
    if not zones:
        raise MissionFileError(path, "no polygon zone found")
    seen: dict[str, int] = {}
    out = []
    for z in zones:  # duplicate names (a zone in several parts) get #2, #3 ...
        n = seen.get(z.name, 0) + 1
        seen[z.name] = n
        out.append(z if n == 1 else AirspaceZone(f"{z.name} #{n}", z.polygon, z.kind, z.lower_m, z.upper_m))
    return out


def _polys(path: Path, geom: shapely.Geometry, field: str) -> list[shapely.Polygon]:
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise MissionFileError(path, f"expected Polygon or MultiPolygon, got {geom.geom_type}", field=field)
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise MissionFileError(path, "coordinates are not WGS84 [lon, lat]", field=field)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon) and not p.is_empty
            and p.area > 0]


def _first(props: dict, keys: tuple[str, ...]):
    for k in keys:
        v = props.get(k)
        if v not in (None, ""):
            return v
    return None


def _number(path: Path, v, field: str) -> float | None:
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise MissionFileError(path, f"expected a number, got {v!r}", field=field) from None


def _from_geojson(path: Path, text: str) -> list[AirspaceZone]:
    doc = parse_geojson(path, text)
    if doc["type"] == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise MissionFileError(path, "FeatureCollection without a features list", field="features")
    elif doc["type"] == "Feature":
        feats = [doc]
    else:
        feats = [{"type": "Feature", "geometry": doc, "properties": {}}]
    out: list[AirspaceZone] = []
    for i, f in enumerate(feats):
        field = f"features[{i}]"
        if not isinstance(f, dict) or not isinstance(f.get("geometry"), dict):
            raise MissionFileError(path, "missing geometry", field=f"{field}.geometry")
        props = f.get("properties") if isinstance(f.get("properties"), dict) else {}
        try:
            geom = shape(f["geometry"])
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError,
                OverflowError, shapely.errors.ShapelyError) as exc:
            raise MissionFileError(path, f"bad geometry: {exc}", field=f"{field}.geometry") from None
        name = str(_first(props, _NAME_KEYS) or f"{path.stem} #{i + 1}")[:200]
        kind = str(_first(props, _KIND_KEYS) or "no_fly").lower()
        kind = "restricted" if "restrict" in kind or kind in ("제한", "제한구역") else "no_fly"
        lower = _number(path, _first(props, _LOWER_KEYS), f"{field}.properties.lower_m")
        upper = _number(path, _first(props, _UPPER_KEYS), f"{field}.properties.upper_m")
        out.extend(AirspaceZone(name, p, kind, lower, upper)
                   for p in _polys(path, geom, f"{field}.geometry"))
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kml_ring(path: Path, el: ET.Element | None, field: str) -> list[tuple[float, float]]:
    coords = None if el is None else next((c for c in el.iter() if _local(c.tag) == "coordinates"), None)
    if coords is None or not (coords.text or "").strip():
        raise MissionFileError(path, "polygon without coordinates", field=field)
    pts = []
    for tok in coords.text.split():
        parts = tok.split(",")
        try:
            pts.append((float(parts[0]), float(parts[1])))
        except (ValueError, IndexError):
            raise MissionFileError(path, f"bad coordinate {tok!r}", field=field) from None
    if len(pts) < 3:
        raise MissionFileError(path, "a ring needs at least 3 points", field=field)
    return pts


def _from_kml(path: Path, text: str) -> list[AirspaceZone]:
    head = text[:4096].upper()
    if "<!DOCTYPE" in head or "<!ENTITY" in text.upper():
        raise MissionFileError(path, "KML with a DOCTYPE/ENTITY declaration is refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise MissionFileError(path, f"invalid XML: {exc}", line=exc.position[0]) from None
    out: list[AirspaceZone] = []
    for i, pm in enumerate(el for el in root.iter() if _local(el.tag) == "Placemark"):
        name_el = next((c for c in pm if _local(c.tag) == "name"), None)
        name = ((name_el.text or "").strip() if name_el is not None else "") or f"{path.stem} #{i + 1}"
        for k, poly in enumerate(el for el in pm.iter() if _local(el.tag) == "Polygon"):
            field = f"Placemark[{i}] {name!r} Polygon[{k}]"
            outer = next((c for c in poly if _local(c.tag) == "outerBoundaryIs"), None)
            holes = [_kml_ring(path, c, field) for c in poly if _local(c.tag) == "innerBoundaryIs"]
            try:
                geom = shapely.Polygon(_kml_ring(path, outer, field), holes)
            except (ValueError, TypeError, shapely.errors.ShapelyError) as exc:
                raise MissionFileError(path, f"bad polygon: {exc}", field=field) from None
            out.extend(AirspaceZone(name[:200], p) for p in _polys(path, geom, field))
    return out
