"""GeoJSON and KML of a coverage plan: flight paths, trigger points and photo footprints.

GeoJSON coordinates are ``[lon, lat]`` (RFC 7946); KML ``lon,lat,alt``. Each
feature says what it is (``kind``: path, photo, footprint) and which drone and
sortie it belongs to, so a map can style and filter them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import shapely

from drone_link.planner.coverage import CoveragePlan


def plan_geojson(plan: CoveragePlan, *, footprints: bool = True) -> dict[str, Any]:
    """A FeatureCollection of every sortie's path, photos and (optionally) footprints."""
    feats: list[dict[str, Any]] = []
    for s in plan.sorties:
        props = {"drone": s.drone + 1, "sortie": s.index + 1}
        coords = [[lon, lat] for lat, lon in plan.path_latlon(s)]
        extra: dict[str, Any] = {}
        profile = getattr(s, "profile", None)
        if profile is not None and len(profile.alt_amsl_m) == len(coords):
            coords = [[lo, la, round(z, 2)] for (lo, la), z in zip(coords, profile.alt_amsl_m)]
            extra = {"altitude_datum": "amsl", "alt_agl_m": [round(a, 1) for a in profile.alt_agl_m]}
        feats.append({"type": "Feature", "properties": {"kind": "path", **props,
                                                        **s.report.to_dict(), **extra},
                      "geometry": {"type": "LineString", "coordinates": coords}})
        if not footprints:
            continue
        lat, lon = plan.frame.to_latlon([p.x_m for p in s.photos], [p.y_m for p in s.photos])
        for i, (poly, la, lo) in enumerate(zip(plan.footprints_wgs84(s), lat, lon)):
            feats.append({"type": "Feature", "properties": {"kind": "photo", "index": i, **props},
                          "geometry": {"type": "Point", "coordinates": [float(lo), float(la)]}})
            feats.append({"type": "Feature", "properties": {"kind": "footprint", "index": i, **props},
                          "geometry": shapely.geometry.mapping(poly)})
    return {"type": "FeatureCollection", "features": feats}


def write_geojson(plan: CoveragePlan, path: str | Path, *, footprints: bool = True) -> Path:
    path = Path(path)
    path.write_text(json.dumps(plan_geojson(plan, footprints=footprints), ensure_ascii=False),
                    encoding="utf-8")
    return path


def plan_kml(plan: CoveragePlan, *, footprints: bool = True) -> str:
    """A KML document: one folder per sortie with its path and footprints."""
    ns = "http://www.opengis.net/kml/2.2"
    kml = ET.Element("kml", xmlns=ns)
    doc = ET.SubElement(kml, "Document")
    ET.SubElement(doc, "name").text = "disaster-ops coverage plan"
    alt = plan.report.alt_rel_m
    for s in plan.sorties:
        folder = ET.SubElement(doc, "Folder")
        ET.SubElement(folder, "name").text = f"drone {s.drone + 1} sortie {s.index + 1}"
        pm = ET.SubElement(folder, "Placemark")
        ET.SubElement(pm, "name").text = "path"
        line = ET.SubElement(pm, "LineString")
        latlon = plan.path_latlon(s)
        profile = getattr(s, "profile", None)
        if profile is not None and len(profile.alt_amsl_m) == len(latlon):  # terrain: AMSL altitudes
            ET.SubElement(line, "altitudeMode").text = "absolute"
            alts = profile.alt_amsl_m
        else:  # relative to the launch point: shown over the ground, exact over flat terrain
            ET.SubElement(line, "altitudeMode").text = "relativeToGround"
            alts = [alt] * len(latlon)
        ET.SubElement(line, "coordinates").text = " ".join(
            f"{lon:.8f},{lat:.8f},{z:.1f}" for (lat, lon), z in zip(latlon, alts))
        if not footprints:
            continue
        for i, poly in enumerate(plan.footprints_wgs84(s)):
            pm = ET.SubElement(folder, "Placemark")
            ET.SubElement(pm, "name").text = f"photo {i}"
            pg = ET.SubElement(pm, "Polygon")
            ring = ET.SubElement(ET.SubElement(pg, "outerBoundaryIs"), "LinearRing")
            ET.SubElement(ring, "coordinates").text = " ".join(
                f"{x:.8f},{y:.8f},0" for x, y in poly.exterior.coords)
    return ET.tostring(kml, encoding="unicode", xml_declaration=True)


def write_kml(plan: CoveragePlan, path: str | Path, *, footprints: bool = True) -> Path:
    path = Path(path)
    path.write_text(plan_kml(plan, footprints=footprints), encoding="utf-8")
    return path
