"""Cursor-on-Target (CoT 2.0) events for TAK (ATAK, WinTAK, iTAK, TAK Server), built with lxml.

Event types from the CoT type tree that TAK clients draw natively:

- ``b-m-p-s-m`` (bits / map / point / spot / marker): the incident marker at the centre
  of its area, coloured by kind (red fire, grey smoke, blue flood);
- ``u-d-f`` (user drawing, freeform shape): one closed polygon per part of the incident
  area, its vertices as ``<link point="lat,lon"/>`` in order, with stroke/fill colours;
- ``u-d-c-c`` (user drawing, circle): the area when it is a point with a radius;
- ``a-f-A-M-H-Q`` (atom / friendly / air / military / rotary wing / drone (UAV)): a drone
  track with ``<track course speed>``.

``stale`` keeps an active incident alive: the publisher re-sends it before it goes stale
(``stale_s`` ahead of now). An ended incident is sent once more with ``stale`` = now, so
every client drops it at once, and then no more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import shapely
from lxml import etree

from disaster_ops.exports.cap import area_circle_km
from disaster_ops.share.views import DroneShare, IncidentShare

MARKER_TYPE = "b-m-p-s-m"
SHAPE_TYPE = "u-d-f"
CIRCLE_TYPE = "u-d-c-c"
DRONE_TYPE = "a-f-A-M-H-Q"

# ARGB as signed 32-bit integers (what TAK writes): fire red, smoke grey, flood blue;
# people: collapse magenta, crowding orange, loitering purple.
_COLOR = {"fire": -65536, "smoke": -8355712, "flood": -16776961,
          "collapse": -65281, "crowding": -23296, "loitering": -8388480}
_FILL_ALPHA = 0x60


def cot_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _signed(argb: int) -> int:
    argb &= 0xFFFFFFFF
    return argb - (1 << 32) if argb >= 1 << 31 else argb


def _fill(color: int) -> int:
    return _signed((color & 0x00FFFFFF) | (_FILL_ALPHA << 24))


def _event(uid: str, typ: str, *, lat: float, lon: float, now: datetime, start: datetime,
           stale: datetime, how: str = "m-f", ce_m: float = 9999999.0, hae_m: float = 9999999.0):
    ev = etree.Element("event", version="2.0", uid=uid, type=typ, how=how, time=cot_time(now),
                       start=cot_time(start), stale=cot_time(stale))
    etree.SubElement(ev, "point", lat=f"{lat:.7f}", lon=f"{lon:.7f}", hae=f"{hae_m:.1f}",
                     ce=f"{ce_m:.1f}", le="9999999.0")
    return ev


def incident_uid(incident_id: int, prefix: str = "disaster-ops") -> str:
    return f"{prefix}.incident.{incident_id}"


def _remarks(inc: IncidentShare) -> str:
    return (f"{inc.kind} · {inc.status} · severity {inc.severity}/5 · {inc.source_count} source(s) · "
            f"last seen {cot_time(inc.last_seen)}")


def incident_events(inc: IncidentShare, *, now: datetime, stale_s: float = 300.0,
                    prefix: str = "disaster-ops", snapshot_url: str | None = None) -> list[bytes]:
    """Marker plus area shapes of one incident. Ended incidents come back already stale.
    ``snapshot_url``: a link on the marker to the GIS feed's blurred snapshot (only for
    receivers whose rule includes media; never the raw file)."""
    stale = now + timedelta(seconds=stale_s) if inc.is_open else now
    color = _COLOR.get(inc.kind, -256)
    uid = incident_uid(inc.id, prefix)
    callsign = f"{inc.kind.upper()} #{inc.id}" + ("" if inc.is_open else f" ({inc.status})")
    out = []
    ev = _event(uid, MARKER_TYPE, lat=inc.lat, lon=inc.lon, now=now, start=now, stale=stale, ce_m=50.0)
    d = etree.SubElement(ev, "detail")
    etree.SubElement(d, "contact", callsign=callsign)
    etree.SubElement(d, "color", argb=str(color))
    etree.SubElement(d, "usericon", iconsetpath=f"COT_MAPPING_SPOTMAP/{MARKER_TYPE}/{color}")
    etree.SubElement(d, "remarks").text = _remarks(inc)
    etree.SubElement(d, "archive")
    if snapshot_url and inc.snapshot_path:
        etree.SubElement(d, "link", url=snapshot_url, relation="r-u", mime="image/jpeg",
                         remarks="snapshot, faces blurred")
    out.append(ev)

    circle = area_circle_km(inc.geometry)
    if circle:
        lat, lon, r_km = circle
        ev = _event(f"{uid}.area.0", CIRCLE_TYPE, lat=lat, lon=lon, now=now, start=now, stale=stale,
                    how="h-e")
        d = etree.SubElement(ev, "detail")
        shape = etree.SubElement(d, "shape")
        r_m = f"{r_km * 1000.0:.1f}"
        etree.SubElement(shape, "ellipse", major=r_m, minor=r_m, angle="360")
        _style(d, color, callsign, uid)
        out.append(ev)
    else:
        parts = [g for g in getattr(inc.geometry, "geoms", [inc.geometry]) if g.geom_type == "Polygon"]
        for k, poly in enumerate(parts):
            c = poly.centroid
            ev = _event(f"{uid}.area.{k}", SHAPE_TYPE, lat=c.y, lon=c.x, now=now, start=now, stale=stale,
                        how="h-e")
            d = etree.SubElement(ev, "detail")
            for lon, lat in shapely.orient_polygons(poly).exterior.coords:
                etree.SubElement(d, "link", point=f"{lat:.7f},{lon:.7f}")
            _style(d, color, f"{callsign} area {k + 1}/{len(parts)}", uid)
            out.append(ev)
    return [etree.tostring(e, encoding="UTF-8", xml_declaration=False) for e in out]


def _style(d, color: int, callsign: str, parent_uid: str) -> None:
    etree.SubElement(d, "strokeColor", value=str(color))
    etree.SubElement(d, "strokeWeight", value="3.0")
    etree.SubElement(d, "fillColor", value=str(_fill(color)))
    etree.SubElement(d, "contact", callsign=callsign)
    etree.SubElement(d, "labels_on", value="false")
    etree.SubElement(d, "link", uid=parent_uid, relation="p-p", type=MARKER_TYPE)


def expire_event(incident_id: int, *, lat: float, lon: float, now: datetime,
                 prefix: str = "disaster-ops") -> bytes:
    """The incident's marker, already stale: for an incident that left an agency's scope
    (its shapes then expire on their own stale time)."""
    ev = _event(incident_uid(incident_id, prefix), MARKER_TYPE, lat=lat, lon=lon, now=now, start=now, stale=now)
    d = etree.SubElement(ev, "detail")
    etree.SubElement(d, "remarks").text = "no longer shared with this server"
    return etree.tostring(ev, encoding="UTF-8")


def drone_event(dr: DroneShare, *, now: datetime, stale_s: float = 30.0,
                prefix: str = "disaster-ops") -> bytes:
    """A friendly rotary-wing UAV track (``a-f-A-M-H-Q``)."""
    hae = dr.alt_amsl_m if dr.alt_amsl_m is not None else 9999999.0
    ev = _event(f"{prefix}.drone.{dr.name}", DRONE_TYPE, lat=dr.lat, lon=dr.lon, now=now, start=now,
                stale=now + timedelta(seconds=stale_s), how="m-g", ce_m=10.0, hae_m=hae)
    d = etree.SubElement(ev, "detail")
    etree.SubElement(d, "contact", callsign=dr.name)
    etree.SubElement(d, "track", course=f"{(dr.heading_deg or 0.0) % 360.0:.1f}",
                     speed=f"{dr.ground_speed_m_s or 0.0:.2f}")
    etree.SubElement(d, "remarks").text = (f"mode {dr.mode or '?'} · battery "
                                           f"{'?' if dr.battery_pct is None else round(dr.battery_pct)} % · "
                                           f"{'armed' if dr.armed else 'disarmed'}")
    return etree.tostring(ev, encoding="UTF-8")


def parse_events(stream: bytes) -> list[etree._Element]:
    """Split a TAK stream (events back to back, as TAK Server sends them) into elements."""
    out = []
    for chunk in stream.split(b"</event>"):
        start = chunk.find(b"<event")
        if start >= 0:
            out.append(etree.fromstring(chunk[start:] + b"</event>"))
    return out
