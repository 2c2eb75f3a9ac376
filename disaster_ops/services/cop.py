"""Common operating picture: the data the map shows, as typed records (no UI here)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.services.aerial_view import DroneView, drone_views, incident_source_kinds
from disaster_ops.services.cameras import BBox, camera_health, list_cameras
from disaster_ops.services.cameras import bbox_clause as camera_bbox_clause
from disaster_ops.services.incidents import list_incidents
from disaster_ops.services.roles import Principal
from disaster_ops.share.scope import AgencyScope
from disaster_ops.share.views import incident_share
from disaster_ops.storage.db import get_engine
from disaster_ops.storage.models import Camera, Drone, DroneState
from disaster_ops.storage.models import Mission as MissionRow


@dataclass(frozen=True)
class CameraMarker:
    id: int
    name: str
    lat: float
    lon: float
    heading_deg: float
    fov_deg: float
    range_m: float
    status: str  # health as of now: online / stale / offline / disabled / unknown
    view_source: str
    purpose: str
    last_frame_at: str | None = None
    status_reason: str = ""


def camera_markers(*, bbox: BBox | None = None, engine: Engine | None = None,
                   limit: int = 20000) -> list[CameraMarker]:
    """Cameras to draw (capped so the browser stays responsive)."""
    out = []
    for c in list_cameras(bbox=bbox, engine=engine, limit=limit):
        h = camera_health(c)
        out.append(CameraMarker(c.id, c.name, c.lat, c.lon, c.heading_deg, c.fov_deg, c.range_m,
                                h.status.value, c.view_source, c.purpose,
                                h.last_frame_at.isoformat() if h.last_frame_at else None, h.reason))
    return out


CAMERA_TABLE_LIMIT = 20000  # rows the cameras page sends to the browser


@dataclass(frozen=True)
class CameraTable:
    """The cameras page's table: at most ``limit`` rows (by id) and the registry's total."""

    rows: list[CameraMarker]
    total: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def camera_table(*, limit: int | None = None, engine: Engine | None = None) -> CameraTable:
    """Rows for the cameras page and how many cameras the registry holds, so a cap is never silent."""
    from disaster_ops.services.cameras import count_cameras

    rows = camera_markers(engine=engine, limit=CAMERA_TABLE_LIMIT if limit is None else limit)
    return CameraTable(rows, count_cameras(engine=engine))


def map_center(markers: list[CameraMarker], default=(35.1028, 129.0327)) -> tuple[float, float]:
    """Mean position of the markers (Busan Jung-gu when there are none)."""
    if not markers:
        return default
    return (sum(m.lat for m in markers) / len(markers), sum(m.lon for m in markers) / len(markers))


@dataclass(frozen=True)
class IncidentMarker:
    id: int
    kind: str
    status: str
    severity: int
    geometry_geojson: str
    lat: float
    lon: float
    last_seen_utc: str
    source_count: int
    acknowledged_by: str | None
    kinds: tuple[str, ...] = ()  # every kind seen (fire + smoke); ``kind`` is the primary one
    source_kinds: tuple[str, ...] = ()  # which kinds of source saw it: cctv, drone
    corroborated_by_drone: bool = False  # a drone saw what another source raised


def incident_markers(*, engine: Engine | None = None, open_only: bool = True,
                     principal: Principal | None = None, scope: AgencyScope | None = None,
                     since: datetime | None = None, kinds: frozenset[str] | None = None,
                     statuses: frozenset[str] | None = None) -> list[IncidentMarker]:
    """Incidents to draw, newest first. A principal of an agency (or an explicit ``scope``)
    sees only what the agency's sharing rule admits; an unknown agency sees nothing.
    Optionally only those seen since ``since`` and of the given kinds / statuses."""
    if scope is None and principal is not None and principal.agency is not None:
        from disaster_ops.services.agencies import scope_for

        scope = scope_for(principal, engine=engine)
    incidents = list_incidents(engine=engine, open_only=open_only and not statuses, since=since)
    sources = incident_source_kinds([i.id for i in incidents], engine=engine)
    out = []
    for i in incidents:
        if kinds and not (set(i.kind_list) & kinds):
            continue
        if statuses and str(getattr(i.status, "value", i.status)) not in statuses:
            continue
        if scope is not None and not scope.admits_incident(
                kinds=incident_share(i).kinds, severity=i.severity, geometry=shapely.from_geojson(i.geometry_geojson)):
            continue
        src = sources.get(i.id, frozenset())
        out.append(IncidentMarker(
            i.id, i.kind, str(getattr(i.status, "value", i.status)), i.severity, i.geometry_geojson,
            (i.min_lat + i.max_lat) / 2.0, (i.min_lon + i.max_lon) / 2.0,
            i.last_seen.strftime("%Y-%m-%d %H:%M:%S UTC"), i.source_count, i.acknowledged_by,
            tuple(i.kind_list), tuple(sorted(src)), "drone" in src and len(src) > 1))
    return out


def drone_camera_views(*, engine: Engine | None = None) -> list[DroneView]:
    """Each drone's current camera footprint and recent track (for the map)."""
    return drone_views(engine=engine)


@dataclass(frozen=True)
class DroneMarker:
    name: str
    lat: float
    lon: float
    alt_rel_m: float | None
    heading_deg: float | None
    battery_pct: float | None
    mode: str | None
    armed: bool
    link_ok: bool
    updated_utc: str


def drone_markers(*, engine: Engine | None = None) -> list[DroneMarker]:
    """Drones with a known position (latest telemetry)."""
    with Session(engine or get_engine()) as s:
        rows = s.exec(select(Drone, DroneState).join(DroneState, DroneState.drone_id == Drone.id)).all()
    return [DroneMarker(d.name, st.lat, st.lon, st.alt_rel_m, st.heading_deg, st.battery_pct, st.mode,
                        bool(st.armed), bool(st.link_ok), st.updated_at.strftime("%H:%M:%S UTC"))
            for d, st in rows if st.lat is not None and st.lon is not None]


@dataclass(frozen=True)
class MissionArea:
    id: int
    name: str
    status: str
    zone_geojson: str
    drone_id: int | None
    path_latlon: tuple[tuple[float, float], ...] = field(default=())
    current_seq: int | None = None
    item_count: int = 0

    @property
    def progress(self) -> float | None:
        """Share of mission items done (None before the drone reports a position in it)."""
        if self.current_seq is None or not self.item_count:
            return None
        return min(1.0, max(0.0, self.current_seq / self.item_count))


def _path(items_json: str) -> tuple[tuple[float, float], ...]:
    try:
        items = json.loads(items_json or "[]")
    except ValueError:
        return ()
    return tuple((float(it["lat_deg"]), float(it["lon_deg"])) for it in items
                 if isinstance(it, dict) and it.get("lat_deg") and it.get("lon_deg"))


def mission_areas(*, engine: Engine | None = None, limit: int = 50) -> list[MissionArea]:
    """Zones of the newest missions that are not finished."""
    with Session(engine or get_engine()) as s:
        rows = s.exec(select(MissionRow).where(MissionRow.status.not_in(["completed", "aborted", "failed"]))
                      .order_by(MissionRow.id.desc()).limit(limit)).all()
    out = []
    for r in rows:
        path = _path(r.items_json)
        out.append(MissionArea(r.id, r.name, str(getattr(r.status, "value", r.status)), r.zone_geojson,
                               r.drone_id, path, r.current_seq, len(json.loads(r.items_json or "[]"))))
    return out


def camera_view_geojson(markers: list[CameraMarker], *, limit: int = 3000) -> dict:
    """View sectors of the cameras as a GeoJSON FeatureCollection (guessed views flagged)."""
    import shapely

    from geo.sectors import Cameras, view_sectors

    ms = markers[:limit]
    if not ms:
        return {"type": "FeatureCollection", "features": []}
    cams = Cameras.from_records(ms)
    sectors = view_sectors(cams)
    feats = []
    for m, geom in zip(ms, sectors.to_wgs84()):
        if geom is None or shapely.is_empty(geom):
            continue
        feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)),
                      "properties": {"id": m.id, "guessed": m.view_source == "default"}})
    return {"type": "FeatureCollection", "features": feats}


def blind_spots_geojson(incidents: list[IncidentMarker], *, radius_m: float = 300.0,
                        engine: Engine | None = None, max_incidents: int = 20) -> dict:
    """Zones no camera sees around each open incident (what a drone should cover)."""
    from disaster_ops.services.missions import coverage_gaps
    from geo.aoi import PointRadius

    feats = []
    for inc in incidents[:max_incidents]:
        cov = coverage_gaps(PointRadius(lat=inc.lat, lon=inc.lon, radius_m=radius_m), engine=engine)
        for f in cov.to_geojson()["features"]:
            f["properties"]["incident_id"] = inc.id
            f["properties"]["covered_fraction"] = round(cov.covered_fraction, 3)
            feats.append(f)
    return {"type": "FeatureCollection", "features": feats}


def drone_names(*, engine: Engine | None = None) -> list[str]:
    with Session(engine or get_engine()) as s:
        return [d.name for d in s.exec(select(Drone).order_by(Drone.name))]


def drone_name(drone_id: int | None, *, engine: Engine | None = None) -> str | None:
    if drone_id is None:
        return None
    with Session(engine or get_engine()) as s:
        d = s.get(Drone, drone_id)
    return d.name if d else None


@dataclass(frozen=True)
class NearbyIncident:
    """An open incident as a responder in the field sees it: how far, which way."""

    incident: IncidentMarker
    distance_m: float
    bearing_deg: float


def parse_position(text: str) -> tuple[float, float]:
    """``"35.10, 129.03"`` -> (lat, lon); one clear line for anything else."""
    from disaster_ops.errors import InputError

    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"position {text!r}: write it as 'lat, lon' in degrees, e.g. 35.1028, 129.0327") from None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise InputError(f"position {text!r}: latitude must be -90..90 and longitude -180..180")
    return lat, lon


def nearest_incidents(lat: float, lon: float, *, limit: int = 20, principal: Principal | None = None,
                      engine: Engine | None = None) -> list[NearbyIncident]:
    """Open incidents ``principal`` may see, nearest first from (lat, lon), with great-circle
    distance and bearing."""
    import math

    out = []
    for inc in incident_markers(engine=engine, open_only=True, principal=principal):
        p1, p2 = math.radians(lat), math.radians(inc.lat)
        dp, dl = p2 - p1, math.radians(inc.lon - lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        dist_m = 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))
        y = math.sin(dl) * math.cos(p2)
        x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
        out.append(NearbyIncident(inc, dist_m, (math.degrees(math.atan2(y, x)) + 360.0) % 360.0))
    out.sort(key=lambda n: n.distance_m)
    return out[:limit]


def cameras_near_incident(incident_id: int, *, radius_m: float = 300.0, engine: Engine | None = None,
                          limit: int | None = None):
    """Cameras standing within ``radius_m`` of an incident's area, nearest first
    (:class:`disaster_ops.services.cameras.NearCamera`); empty for an unknown incident."""
    from disaster_ops.services.cameras import cameras_within
    from disaster_ops.services.incidents import get_incident

    inc = get_incident(incident_id, engine=engine)
    if inc is None:
        return []
    return cameras_within(shapely.from_geojson(inc.geometry_geojson), radius_m, engine=engine, limit=limit)


def compass_word(bearing_deg: float) -> str:
    return ("N", "NE", "E", "SE", "S", "SW", "W", "NW")[round(bearing_deg / 45.0) % 8]


# --- cameras at any scale: only what is in view, aggregated server-side when zoomed out ---

DETAIL_ZOOM = 15  # from this zoom on, individual cameras (and their views from VIEW_ZOOM)
VIEW_ZOOM = 16
MAX_INDIVIDUAL = 2500  # more cameras than this in view: aggregate even when zoomed in


@dataclass(frozen=True)
class CameraCell:
    """Cameras of one grid cell when zoomed out: how many, where their centre is, how many offline."""

    lat: float
    lon: float
    count: int
    offline: int
    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float


@dataclass(frozen=True)
class CameraOverview:
    """What the map draws for cameras in a view: individual markers or aggregated cells."""

    total_in_view: int
    markers: list[CameraMarker]
    cells: list[CameraCell]
    cell_deg: float | None

    @property
    def aggregated(self) -> bool:
        return self.cell_deg is not None


def cell_size_deg(zoom: int) -> float:
    """Grid cell of about 48 screen pixels at ``zoom`` (Web Mercator: 256 px tiles)."""
    return 360.0 / (2 ** max(0, min(22, int(zoom)))) * (48.0 / 256.0)


def _bbox_filter(q, bbox: BBox, eng: Engine):
    return q.where(camera_bbox_clause(eng, bbox))


def camera_overview(bbox: BBox, zoom: int, *, engine: Engine | None = None,
                    max_individual: int = MAX_INDIVIDUAL) -> CameraOverview:
    """Cameras inside ``bbox`` for a map at ``zoom``: individual markers when zoomed in and
    few enough, otherwise counts on a grid computed in the database (the browser never
    receives more than a few thousand features, whatever the registry holds)."""
    eng = engine or get_engine()
    with Session(eng) as s:
        total = s.exec(_bbox_filter(select(sa.func.count(Camera.id)), bbox, eng)).one()
        if zoom >= DETAIL_ZOOM and total <= max_individual:
            return CameraOverview(int(total), camera_markers(bbox=bbox, engine=eng, limit=max_individual), [], None)
        cell = cell_size_deg(zoom)
        if eng.dialect.name == "sqlite":  # inside the box the offsets are >= 0: CAST truncates = floor
            gy = sa.cast((Camera.lat - bbox.min_lat) / cell, sa.Integer)
            gx = sa.cast((Camera.lon - bbox.min_lon) / cell, sa.Integer)
        else:
            gy = sa.func.floor((Camera.lat - bbox.min_lat) / cell)
            gx = sa.func.floor((Camera.lon - bbox.min_lon) / cell)
        offline = sa.func.sum(sa.case((Camera.status == "offline", 1), else_=0))
        q = _bbox_filter(select(gy.label("gy"), gx.label("gx"), sa.func.count(Camera.id), sa.func.avg(Camera.lat),
                                sa.func.avg(Camera.lon), offline), bbox, eng).group_by("gy", "gx")
        rows = s.exec(q).all()
    cells = []
    for y, x, n, lat, lon, off in rows:
        south, west = bbox.min_lat + int(y) * cell, bbox.min_lon + int(x) * cell
        cells.append(CameraCell(float(lat), float(lon), int(n), int(off or 0), south, west, south + cell, west + cell))
    return CameraOverview(int(total), [], cells, cell)


def view_bbox(bounds: dict | None, *, pad: float = 0.1) -> BBox | None:
    """The map's returned bounds (``{"_southWest": {"lat", "lng"}, "_northEast": ...}``) as a
    padded, clamped BBox; None when the map has not reported any."""
    try:
        sw, ne = bounds["_southWest"], bounds["_northEast"]
        s_, w, n, e = float(sw["lat"]), float(sw["lng"]), float(ne["lat"]), float(ne["lng"])
    except (TypeError, KeyError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (s_, w, n, e)) or s_ >= n or w >= e:
        return None
    dy, dx = (n - s_) * pad, (e - w) * pad
    return BBox(max(-180.0, w - dx), max(-90.0, s_ - dy), min(180.0, e + dx), min(90.0, n + dy))


def snap_bbox(bbox: BBox, zoom: int) -> BBox:
    """``bbox`` grown outward to a grid of 8 aggregation cells: small pans and the map's own
    sub-pixel jitter give the same box, so the same cached query and the same layer."""
    step = cell_size_deg(zoom) * 8.0
    return BBox(math.floor(bbox.min_lon / step) * step, math.floor(bbox.min_lat / step) * step,
                math.ceil(bbox.max_lon / step) * step, math.ceil(bbox.max_lat / step) * step)


def bbox_around(center: tuple[float, float], zoom: int, *, width_px: int = 1400, height_px: int = 700) -> BBox:
    """Approximate box a map of that size shows around ``center`` at ``zoom`` (before it reports)."""
    lat, lon = center
    deg_per_px = 360.0 / (256.0 * 2 ** zoom)
    half_w = width_px / 2 * deg_per_px
    half_h = height_px / 2 * deg_per_px * math.cos(math.radians(lat))
    return BBox(lon - half_w, lat - half_h, lon + half_w, lat + half_h)


def registry_center(*, engine: Engine | None = None, default=(35.1028, 129.0327)) -> tuple[float, float]:
    """Mean camera position, computed in the database (Busan Jung-gu when there is none)."""
    with Session(engine or get_engine()) as s:
        lat, lon = s.exec(select(sa.func.avg(Camera.lat), sa.func.avg(Camera.lon))).one()
    return (float(lat), float(lon)) if lat is not None else default


MAX_DRAWN_AREA_M2 = 25_000_000.0  # 25 km²: beyond that a drone survey is a different job


def drawn_area(feature: dict | None):
    """A polygon the user drew on the map (GeoJSON Feature or geometry, WGS84) as a valid
    shapely polygon; one clear line (InputError) for anything else."""
    import shapely
    from shapely.geometry import shape

    from disaster_ops.errors import InputError

    geom_json = (feature or {}).get("geometry", feature) if isinstance(feature, dict) else None
    if not isinstance(geom_json, dict) or geom_json.get("type") not in ("Polygon", "MultiPolygon"):
        raise InputError("draw a polygon or rectangle on the map first")
    try:
        geom = shapely.make_valid(shape(geom_json))
    except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
        raise InputError(f"the drawn area is not a usable polygon ({exc})") from None
    polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        raise InputError("the drawn area has no surface")
    geom = shapely.union_all(polys)
    w, s, e, n = geom.bounds
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise InputError("the drawn area is outside the world's coordinates")
    area_m2_ = area_m2(geom)
    if area_m2_ < 100.0:
        raise InputError(f"the drawn area is too small ({area_m2_:.0f} m²)")
    if area_m2_ > MAX_DRAWN_AREA_M2:
        raise InputError(f"the drawn area is {area_m2_ / 1e6:.1f} km²; draw at most {MAX_DRAWN_AREA_M2 / 1e6:.0f} km²")
    return geom


def area_m2(geom) -> float:
    """Area of a WGS84 shapely geometry, square metres (local metric frame at its centre)."""
    from geo.crs import LocalFrame

    c = geom.centroid
    return float(LocalFrame.around(c.y, c.x).geom_to_m(geom).area)


def registry_view(*, engine: Engine | None = None, width_px: int = 1200, height_px: int = 620,
                  default=((35.1028, 129.0327), 15)) -> tuple[tuple[float, float], int]:
    """Centre and zoom that show every camera (a city block or a whole province) on a map
    of about that size; computed in the database."""
    with Session(engine or get_engine()) as s:
        s_, w, n, e = s.exec(select(sa.func.min(Camera.lat), sa.func.min(Camera.lon),
                                    sa.func.max(Camera.lat), sa.func.max(Camera.lon))).one()
    if s_ is None:
        return default
    lat = (s_ + n) / 2.0
    lon_span = max(e - w, 1e-4)
    lat_span = max((n - s_) / max(math.cos(math.radians(lat)), 0.1), 1e-4)
    zoom_w = math.log2(360.0 * width_px / 256.0 / lon_span)
    zoom_h = math.log2(360.0 * height_px / 256.0 / lat_span)
    return (lat, (w + e) / 2.0), int(max(5, min(17, math.floor(min(zoom_w, zoom_h)))))


@dataclass(frozen=True)
class Evidence:
    """One detection behind an incident, as a user checks it: when, who saw it, the snapshot."""

    observed_utc: str
    source: str
    kind: str
    confidence: float
    snapshot_path: str | None


def incident_evidence(incident_id: int, *, limit: int = 20, engine: Engine | None = None) -> list[Evidence]:
    """Newest detections of an incident first; snapshot paths only where the file exists."""
    from pathlib import Path

    from disaster_ops.services.incidents import detections_of

    out = []
    for d in reversed(detections_of(incident_id, engine=engine)[-limit:]):
        snap = d.snapshot_path if d.snapshot_path and Path(d.snapshot_path).is_file() else None
        out.append(Evidence(d.observed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                            f"{getattr(d.source_kind, 'value', d.source_kind)}:{d.source_id}", d.kind,
                            float(d.confidence), snap))
    return out


@dataclass(frozen=True)
class IncidentDetail:
    """What an incident's map popup shows beyond the marker: who saw it, when, the latest
    snapshot as a small JPEG (None when no readable snapshot exists)."""

    id: int
    first_seen_utc: str
    sources: tuple[str, ...]  # distinct ``kind:id`` of the sources, newest first
    timeline: tuple[Evidence, ...]  # newest detections first (snapshot_path left out)
    snapshot_jpeg: bytes | None = None
    snapshot_utc: str | None = None


def incident_details(incident_ids: list[int] | tuple[int, ...], *, principal: Principal | None = None,
                     timeline_limit: int = 5, thumb_px: int = 160,
                     engine: Engine | None = None) -> dict[int, IncidentDetail]:
    """Popup details for a few incidents (one query); thumbnails only of snapshots inside
    the data folder, raw only for a ``principal`` allowed raw evidence, else blurred
    (:func:`disaster_ops.services.evidence.snapshot_thumbnail`)."""
    from disaster_ops.services.evidence import snapshot_thumbnail
    from disaster_ops.storage.models import Detection

    ids = sorted({int(i) for i in incident_ids})
    if not ids:
        return {}
    with Session(engine or get_engine()) as s:
        rows = s.exec(select(Detection).where(Detection.incident_id.in_(ids))
                      .order_by(Detection.observed_at.desc(), Detection.id.desc())).all()
    by_inc: dict[int, list] = {}
    for d in rows:
        by_inc.setdefault(d.incident_id, []).append(d)
    out = {}
    for iid, dets in by_inc.items():
        def when(d) -> str:
            return d.observed_at.strftime("%Y-%m-%d %H:%M:%S UTC")

        def src(d) -> str:
            return f"{getattr(d.source_kind, 'value', d.source_kind)}:{d.source_id}"

        thumb, thumb_at = None, None
        for d in dets:
            if d.snapshot_path and (thumb := snapshot_thumbnail(d.snapshot_path, principal=principal,
                                                                 max_px=thumb_px)):
                thumb_at = when(d)
                break
        out[iid] = IncidentDetail(
            iid, when(dets[-1]), tuple(dict.fromkeys(src(d) for d in dets)),
            tuple(Evidence(when(d), src(d), d.kind, float(d.confidence), None) for d in dets[:timeline_limit]),
            thumb, thumb_at)
    return out
