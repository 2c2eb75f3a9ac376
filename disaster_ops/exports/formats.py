"""Incident exports.

- GeoJSON FeatureCollection (WGS84, ``[lon, lat]``): for GIS and web maps.
- CAP 1.2 (OASIS Common Alerting Protocol, the format of Korea's disaster alert
  systems and most national warning hubs): one ``<alert>`` per incident, area as a
  ``<polygon>`` ("lat,lon lat,lon ..." closed ring) and a ``<circle>``.
- CoT (Cursor on Target XML, read by ATAK/WinTAK/TAK Server): one ``<event>`` per
  incident at its centre, type ``a-h-G`` style hostile ground marker for hazards, stale
  after ``stale_s``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import shapely

from disaster_ops.storage.models import Incident

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_CAP_EVENT = {"fire": ("Fire", "Fire"), "smoke": ("Fire", "Smoke"), "flood": ("Met", "Flood")}
_CAP_SEVERITY = {1: "Minor", 2: "Minor", 3: "Moderate", 4: "Severe", 5: "Extreme"}
_CAP_CERTAINTY = {"new": "Possible", "confirmed": "Observed", "responding": "Observed",
                  "resolved": "Observed", "dismissed": "Unlikely"}
# CoT 2525-style types: a hazard drawn as a ground "hostile" point is what TAK users expect.
_COT_TYPE = {"fire": "a-h-G-E-F", "smoke": "a-h-G-E", "flood": "a-h-G-E"}


def _status(inc: Incident) -> str:
    return str(getattr(inc.status, "value", inc.status))


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def incidents_geojson(incidents: Iterable[Incident]) -> dict:
    feats = []
    for i in incidents:
        feats.append({"type": "Feature", "id": i.id, "geometry": json.loads(i.geometry_geojson), "properties": {
            "kind": i.kind, "status": _status(i), "severity": i.severity, "source_count": i.source_count,
            "first_seen": _iso(i.first_seen), "last_seen": _iso(i.last_seen),
            "acknowledged_by": i.acknowledged_by}})
    return {"type": "FeatureCollection", "features": feats}


def _cap_polygon(geom: shapely.Geometry) -> str | None:
    poly = geom if geom.geom_type == "Polygon" else None
    if geom.geom_type == "MultiPolygon":
        poly = max(geom.geoms, key=lambda g: g.area)
    if poly is None or poly.is_empty:
        return None
    ring = list(poly.exterior.coords)
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in ring)


def incidents_cap(incidents: Iterable[Incident], *, sender: str = "disaster-ops@localhost",
                  area_desc: str = "CCTV/drone observed area") -> str:
    """CAP 1.2 alerts wrapped in one ``<alerts>`` document (one ``<alert>`` per incident)."""
    ET.register_namespace("", CAP_NS)
    root = ET.Element("alerts")
    now = datetime.now(UTC)
    for i in incidents:
        category, event = _CAP_EVENT.get(i.kind, ("Other", i.kind.title()))
        a = ET.SubElement(root, f"{{{CAP_NS}}}alert")
        for tag, text in (("identifier", f"disaster-ops-incident-{i.id}-{int(i.last_seen.timestamp())}"),
                          ("sender", sender), ("sent", _iso(now)), ("status", "Actual"),
                          ("msgType", "Cancel" if _status(i) in ("resolved", "dismissed") else "Alert"),
                          ("scope", "Public")):
            ET.SubElement(a, f"{{{CAP_NS}}}{tag}").text = text
        info = ET.SubElement(a, f"{{{CAP_NS}}}info")
        for tag, text in (("language", "ko-KR"), ("category", category), ("event", event),
                          ("urgency", "Immediate" if i.severity >= 3 else "Expected"),
                          ("severity", _CAP_SEVERITY.get(i.severity, "Unknown")),
                          ("certainty", _CAP_CERTAINTY.get(_status(i), "Possible")),
                          ("effective", _iso(i.first_seen)),
                          ("headline", f"{event} detected by {i.source_count} source(s)"),
                          ("description", (f"Incident #{i.id}: {i.kind}, status {_status(i)}, "
                                           f"severity {i.severity}/5, last seen {_iso(i.last_seen)}."))):
            ET.SubElement(info, f"{{{CAP_NS}}}{tag}").text = text
        area = ET.SubElement(info, f"{{{CAP_NS}}}area")
        ET.SubElement(area, f"{{{CAP_NS}}}areaDesc").text = area_desc
        geom = shapely.from_geojson(i.geometry_geojson)
        poly = _cap_polygon(geom)
        if poly:
            ET.SubElement(area, f"{{{CAP_NS}}}polygon").text = poly
        c = geom.centroid
        ET.SubElement(area, f"{{{CAP_NS}}}circle").text = f"{c.y:.6f},{c.x:.6f} 0.1"
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def incidents_cot(incidents: Iterable[Incident], *, stale_s: float = 600.0) -> str:
    """Cursor-on-Target events wrapped in one ``<events>`` document."""
    root = ET.Element("events")
    now = datetime.now(UTC)
    for i in incidents:
        c = shapely.from_geojson(i.geometry_geojson).centroid
        ev = ET.SubElement(root, "event", {
            "version": "2.0", "uid": f"disaster-ops.incident.{i.id}", "type": _COT_TYPE.get(i.kind, "a-h-G"),
            "how": "m-f", "time": _iso(now), "start": _iso(i.last_seen),
            "stale": _iso(now + timedelta(seconds=stale_s))})
        ET.SubElement(ev, "point", {"lat": f"{c.y:.7f}", "lon": f"{c.x:.7f}", "hae": "9999999.0",
                                    "ce": "50.0", "le": "9999999.0"})
        detail = ET.SubElement(ev, "detail")
        ET.SubElement(detail, "contact", {"callsign": f"{i.kind.upper()} #{i.id}"})
        ET.SubElement(detail, "remarks").text = (f"{i.kind} · {_status(i)} · severity {i.severity}/5 · "
                                                 f"{i.source_count} sources")
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
