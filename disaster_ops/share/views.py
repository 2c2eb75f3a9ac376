"""What we share, as typed records read from the database in a few queries.

``IncidentShare.state()`` is the JSON payload agencies receive (MQTT ``before``/``after``,
GeoJSON properties); ``fingerprint`` changes exactly when that payload changes.
Exports use ``kind`` (one kind per incident today); if incidents grow a ``kinds`` list it
is read when present.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import shapely
import sqlalchemy as sa
from sqlmodel import Session, select

from disaster_ops.incidents.lifecycle import OPEN
from disaster_ops.share.scope import AgencyScope
from disaster_ops.storage.models import Camera, Detection, Drone, DroneState, Incident


def _status(v) -> str:
    return str(getattr(v, "value", v))


def fingerprint(state: dict) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@lru_cache(maxsize=50_000)
def _geom(text: str) -> shapely.Geometry:
    """Parsed incident areas, memoised on their GeoJSON text (a publisher re-reads them every tick)."""
    g = shapely.from_geojson(text)
    shapely.prepare(g)
    return g


@lru_cache(maxsize=50_000)
def _area_json(text: str) -> str:
    return shapely.to_geojson(shapely.set_precision(_geom(text), 1e-6))


def iso_utc(t: datetime | None) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class IncidentShare:
    id: int
    kind: str
    kinds: tuple[str, ...]
    status: str
    severity: int
    geometry: shapely.Geometry
    first_seen: datetime
    last_seen: datetime
    source_count: int
    acknowledged_by: str | None
    snapshot_path: str | None
    geometry_text: str = ""

    @property
    def version(self) -> tuple:
        """Changes whenever anything in :meth:`state` may change."""
        return (self.kind, self.kinds, self.status, self.severity, self.geometry_text or id(self.geometry),
                self.first_seen, self.last_seen, self.source_count, self.acknowledged_by,
                self.snapshot_path is not None)

    @property
    def is_open(self) -> bool:
        return self.status in {s.value for s in OPEN}

    @property
    def lat(self) -> float:
        return float(self.geometry.centroid.y)

    @property
    def lon(self) -> float:
        return float(self.geometry.centroid.x)

    def state(self, *, include_media: bool = False) -> dict:
        """The shared payload. Times are UTC ISO 8601; the area is GeoJSON (6 decimals)."""
        d = {"id": self.id, "kind": self.kind, "kinds": list(self.kinds), "status": self.status,
             "severity": self.severity, "lat": round(self.lat, 6), "lon": round(self.lon, 6),
             "area": json.loads(_area_json(self.geometry_text) if self.geometry_text else
                                shapely.to_geojson(shapely.set_precision(self.geometry, 1e-6))),
             "first_seen": iso_utc(self.first_seen), "last_seen": iso_utc(self.last_seen),
             "source_count": self.source_count, "acknowledged_by": self.acknowledged_by,
             "open": self.is_open}
        if include_media:
            d["has_snapshot"] = self.snapshot_path is not None
            if self.snapshot_path is not None:  # on the GIS feed; served blurred (services/evidence)
                d["snapshot_href"] = f"snapshots/{self.id}.jpg"
        return d

    def admitted_by(self, scope: AgencyScope | None) -> bool:
        return scope is None or scope.admits_incident(kinds=self.kinds, severity=self.severity,
                                                      geometry=self.geometry)


def incident_share(i: Incident, snapshot: str | None = None) -> IncidentShare:
    """The shared view of one incident row."""
    kinds = getattr(i, "kinds", None)
    if isinstance(kinds, str):
        try:
            kinds = json.loads(kinds)
        except json.JSONDecodeError:
            kinds = kinds.split(",")
    kinds_t = tuple(dict.fromkeys([i.kind, *(kinds or [])]))
    return IncidentShare(i.id, i.kind, kinds_t, _status(i.status), int(i.severity),
                         _geom(i.geometry_geojson), i.first_seen, i.last_seen,
                         int(i.source_count), i.acknowledged_by, snapshot, i.geometry_geojson)


def load_incidents(session: Session, *, open_only: bool = True, also_ids: Iterable[int] = (),
                   only_ids: Iterable[int] | None = None) -> list[IncidentShare]:
    """Open incidents (and any of ``also_ids`` whatever their status), newest first,
    each with its newest snapshot path; ``only_ids``: just those incidents."""
    q = select(Incident)
    if only_ids is not None:
        q = q.where(Incident.id.in_(list(only_ids)))
        open_only = False
    ids = list(also_ids)
    if open_only:
        open_cond = Incident.status.in_([s.value for s in OPEN])
        q = q.where(sa.or_(open_cond, Incident.id.in_(ids)) if ids else open_cond)
    rows = list(session.exec(q.order_by(Incident.last_seen.desc())))
    snaps: dict[int, str] = {}
    if rows:
        sub = (select(Detection.incident_id, sa.func.max(Detection.id).label("mid"))
               .where(Detection.snapshot_path.is_not(None), Detection.incident_id.in_([r.id for r in rows]))
               .group_by(Detection.incident_id).subquery())
        for inc_id, path in session.exec(select(Detection.incident_id, Detection.snapshot_path)
                                         .join(sub, Detection.id == sub.c.mid)):
            snaps[inc_id] = path
    return [incident_share(r, snaps.get(r.id)) for r in rows]


@dataclass(frozen=True)
class CameraShare:
    key: str
    name: str
    lat: float
    lon: float
    status: str
    last_frame_at: datetime | None
    heading_deg: float
    fov_deg: float
    range_m: float
    stream_url: str | None

    def state(self, *, include_media: bool = False) -> dict:
        d = {"key": self.key, "name": self.name, "lat": self.lat, "lon": self.lon, "status": self.status,
             "last_frame_at": iso_utc(self.last_frame_at), "heading_deg": self.heading_deg,
             "fov_deg": self.fov_deg, "range_m": self.range_m}
        if include_media and self.stream_url:
            d["stream_url"] = self.stream_url
        return d


def load_cameras(session: Session, *, limit: int = 200_000) -> list[CameraShare]:
    """Cameras with their health as of now (a stopped or dead watcher's cameras read
    stale/offline, not the last status it wrote; services.cameras.camera_health)."""
    from disaster_ops.services.cameras import camera_health

    return [CameraShare(c.source_key, c.name, c.lat, c.lon, camera_health(c).status.value, c.last_frame_at,
                        c.heading_deg, c.fov_deg, c.range_m, c.stream_url)
            for c in session.exec(select(Camera).order_by(Camera.id).limit(limit))]


@dataclass(frozen=True)
class DroneShare:
    name: str
    lat: float
    lon: float
    alt_rel_m: float | None
    alt_amsl_m: float | None
    heading_deg: float | None
    ground_speed_m_s: float | None
    battery_pct: float | None
    mode: str | None
    armed: bool
    link_ok: bool
    updated_at: datetime

    def state(self) -> dict:
        return {"name": self.name, "lat": round(self.lat, 7), "lon": round(self.lon, 7),
                "alt_rel_m": self.alt_rel_m, "alt_amsl_m": self.alt_amsl_m, "heading_deg": self.heading_deg,
                "ground_speed_m_s": self.ground_speed_m_s, "battery_pct": self.battery_pct,
                "mode": self.mode, "armed": self.armed, "link_ok": self.link_ok,
                "updated_at": iso_utc(self.updated_at)}


def load_drones(session: Session) -> list[DroneShare]:
    rows = session.exec(select(Drone, DroneState).join(DroneState, DroneState.drone_id == Drone.id)).all()
    return [DroneShare(d.name, st.lat, st.lon, st.alt_rel_m, st.alt_amsl_m, st.heading_deg,
                       st.ground_speed_m_s, st.battery_pct, st.mode, bool(st.armed), bool(st.link_ok),
                       st.updated_at)
            for d, st in rows if st.lat is not None and st.lon is not None]
