"""CAP 1.2 (OASIS Common Alerting Protocol) messages, one ``<alert>`` per message.

Built with lxml, so every text is escaped. Rules the schema and aggregators rely on:

- ``sent``/``effective``/``expires`` carry an explicit offset and UTC is ``-00:00``;
- ``identifier`` is stable per incident and message: ``{prefix}.incident.{id}.{seq}``;
- an ``Update`` or ``Cancel`` names every earlier message of the incident in
  ``<references>`` as ``sender,identifier,sent`` triples separated by spaces;
- one ``<info>`` per language (``ko-KR`` Korean text, ``en-US`` English text);
- the ``<area>`` has one ``<polygon>`` per part of the incident area (CAP polygons have no
  holes: the outer ring of each part), and a ``<circle>`` when the area is a point with a
  radius (a point, or the round buffer the fusion draws around a single detection).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely
from lxml import etree

from disaster_ops.share.views import IncidentShare

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_N = f"{{{CAP_NS}}}"
_M_PER_DEG_LAT = 111_320.0

# kind -> (CAP category, English event, Korean event)
_EVENT = {"fire": ("Fire", "Fire", "화재"), "smoke": ("Fire", "Smoke", "연기"),
          "flood": ("Met", "Flood", "침수"),
          # people detectors (issue #16)
          "collapse": ("Health", "Person collapsed", "실신·쓰러짐"),
          "crowding": ("Safety", "Crowding", "밀집"), "loitering": ("Security", "Loitering", "배회")}
_SEVERITY = {1: "Minor", 2: "Minor", 3: "Moderate", 4: "Severe", 5: "Extreme"}
_STATUS_KO = {"new": "신규", "confirmed": "확인됨", "responding": "대응 중", "resolved": "종료",
              "dismissed": "오탐 처리"}
_CERTAINTY = {"new": "Possible", "confirmed": "Observed", "responding": "Observed",
              "resolved": "Observed", "dismissed": "Unlikely"}


class MsgType:
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


@dataclass(frozen=True)
class CapRef:
    """One earlier message, as ``<references>`` names it."""

    sender: str
    identifier: str
    sent: datetime

    def text(self) -> str:
        return f"{self.sender},{self.identifier},{cap_time(self.sent)}"


def cap_time(t: datetime) -> str:
    """CAP dateTime: seconds, explicit offset, UTC written ``-00:00`` (CAP 1.2 §3.3.2)."""
    if t.tzinfo is None:
        raise ValueError("CAP times must be timezone-aware")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S-00:00")


def identifier(prefix: str, incident_id: int, seq: int) -> str:
    return f"{prefix}.incident.{incident_id}.{seq}"


def _ring_text(ring) -> str:
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in ring.coords)


def area_polygons(geom: shapely.Geometry) -> list[str]:
    """``lat,lon`` closed rings, one per polygon part of ``geom``."""
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and not g.is_empty]
    out = []
    for p in parts:
        ring = shapely.orient_polygons(p).exterior if hasattr(shapely, "orient_polygons") else p.exterior
        if len(ring.coords) >= 4:
            out.append(_ring_text(ring))
    return out


def area_circle_km(geom: shapely.Geometry, *, point_radius_m: float = 50.0) -> tuple[float, float, float] | None:
    """(lat, lon, radius_km) when the area is a point with a radius, else None."""
    if geom.geom_type == "Point":
        return geom.y, geom.x, point_radius_m / 1000.0
    if geom.geom_type != "Polygon" or len(geom.interiors):
        return None
    c = geom.centroid
    # metres on a local equirectangular plane: plenty for a roundness test of a small area
    kx = _M_PER_DEG_LAT * math.cos(math.radians(c.y))
    xy = shapely.get_coordinates(geom.exterior)[:-1]
    if len(xy) < 8:
        return None
    d = np.hypot((xy[:, 0] - c.x) * kx, (xy[:, 1] - c.y) * _M_PER_DEG_LAT)
    if d.min() <= 0 or (d.max() - d.min()) / d.max() > 0.02:
        return None
    return c.y, c.x, float(d.max()) / 1000.0


def _sub(parent, tag: str, text: str | None = None):
    e = etree.SubElement(parent, _N + tag)
    if text is not None:
        e.text = text
    return e


def _info(alert, inc: IncidentShare, *, lang: str, effective: datetime, expires: datetime | None,
          sender_name: str, area_desc: str, web: str | None, snapshot_uri: str | None = None) -> None:
    category, ev_en, ev_ko = _EVENT.get(inc.kind, ("Other", inc.kind.title(), inc.kind))
    info = _sub(alert, "info")
    _sub(info, "language", lang)
    _sub(info, "category", category)
    _sub(info, "event", ev_ko if lang.startswith("ko") else ev_en)
    _sub(info, "responseType", "Monitor" if inc.is_open else "AllClear")
    _sub(info, "urgency", ("Immediate" if inc.severity >= 3 else "Expected") if inc.is_open else "Past")
    _sub(info, "severity", _SEVERITY.get(inc.severity, "Unknown"))
    _sub(info, "certainty", _CERTAINTY.get(inc.status, "Possible"))
    _sub(info, "effective", cap_time(effective))
    if expires is not None:
        _sub(info, "expires", cap_time(expires))
    _sub(info, "senderName", sender_name)
    if lang.startswith("ko"):
        _sub(info, "headline", f"{ev_ko} 감지 (센서 {inc.source_count}개) — {_STATUS_KO.get(inc.status, inc.status)}")
        _sub(info, "description", f"사건 #{inc.id}: {ev_ko}, 상태 {_STATUS_KO.get(inc.status, inc.status)}, "
                                  f"심각도 {inc.severity}/5, 최근 관측 {cap_time(inc.last_seen)}.")
    else:
        _sub(info, "headline", f"{ev_en} detected by {inc.source_count} source(s) — {inc.status}")
        _sub(info, "description", f"Incident #{inc.id}: {inc.kind}, status {inc.status}, "
                                  f"severity {inc.severity}/5, last seen {cap_time(inc.last_seen)}.")
    if web:
        _sub(info, "web", web)
    param = _sub(info, "parameter")
    _sub(param, "valueName", "incident_id")
    _sub(param, "value", str(inc.id))
    if snapshot_uri:  # the GIS feed's blurred copy (services/evidence), never the raw file
        res = _sub(info, "resource")
        _sub(res, "resourceDesc", "사건 스냅숏 (얼굴 흐림)" if lang.startswith("ko") else "Incident snapshot (faces blurred)")
        _sub(res, "mimeType", "image/jpeg")
        _sub(res, "uri", snapshot_uri)
    area = _sub(info, "area")
    _sub(area, "areaDesc", area_desc)
    for ring in area_polygons(inc.geometry):
        _sub(area, "polygon", ring)
    circle = area_circle_km(inc.geometry)
    if circle:
        lat, lon, r_km = circle
        _sub(area, "circle", f"{lat:.6f},{lon:.6f} {r_km:.3f}")


def cap_alert(inc: IncidentShare, *, msg_type: str, ident: str, sent: datetime, sender: str,
              references: Sequence[CapRef] = (), sender_name: str = "disaster-ops",
              area_desc_ko: str = "CCTV·드론 관측 구역", area_desc_en: str = "CCTV/drone observed area",
              expires_after_s: float | None = 3600.0, web: str | None = None,
              status: str = "Actual", snapshot_uri: str | None = None) -> bytes:
    """One CAP 1.2 ``<alert>`` document (UTF-8 bytes with an XML declaration)."""
    if msg_type != MsgType.ALERT and not references:
        raise ValueError(f"a CAP {msg_type} must reference the messages it updates")
    alert = etree.Element(_N + "alert", nsmap={None: CAP_NS})
    _sub(alert, "identifier", ident)
    _sub(alert, "sender", sender)
    _sub(alert, "sent", cap_time(sent))
    _sub(alert, "status", status)
    _sub(alert, "msgType", msg_type)
    _sub(alert, "scope", "Public")
    if references:
        _sub(alert, "references", " ".join(r.text() for r in references))
    _sub(alert, "incidents", f"{sender.split('@')[0]}.incident.{inc.id}".replace(" ", "_").replace(",", "_"))
    expires = sent + timedelta(seconds=expires_after_s) if expires_after_s and inc.is_open else None
    effective = min(sent, inc.last_seen) if msg_type != MsgType.ALERT else min(sent, inc.first_seen)
    for lang, desc in (("ko-KR", area_desc_ko), ("en-US", area_desc_en)):
        _info(alert, inc, lang=lang, effective=effective, expires=expires, sender_name=sender_name,
              area_desc=desc, web=web, snapshot_uri=snapshot_uri)
    return etree.tostring(alert, xml_declaration=True, encoding="UTF-8")


def now_s() -> datetime:
    """Now, to the second (CAP times have no fractions, and references must match exactly)."""
    return datetime.now(UTC).replace(microsecond=0)
