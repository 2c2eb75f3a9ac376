"""A drone's camera on the map: video URL and auto-dispatch settings, live footprint and track,
and which incidents a drone corroborates.

The aerial worker writes the live part (:func:`record_view`); the map reads
:func:`drone_views`; the drone worker asks :func:`video_url_of` whether to start the
aerial worker. Settings changes are audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import shapely
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.errors import InputError
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Detection, Drone, DroneAerial


def _drone(session: Session, name: str) -> Drone:
    d = session.exec(select(Drone).where(Drone.name == name)).first()
    if d is None:
        raise InputError(f"no drone named {name!r}")
    return d


def _row(session: Session, drone_id: int) -> DroneAerial:
    row = session.get(DroneAerial, drone_id)
    if row is None:
        row = DroneAerial(drone_id=drone_id)
        session.add(row)
    return row


def set_video(drone_name: str, video_url: str | None, *, principal: Principal, engine: Engine | None = None) -> None:
    """Set (or clear) the drone's video URL; managers (configure) only."""
    require(principal, Action.DISPATCH_DRONE)
    if video_url is not None:
        from drone_link.video.urls import video_kind

        try:
            video_kind(video_url)
        except ValueError as exc:
            raise InputError(f"video URL: {exc}") from None
    with session_scope(engine or get_engine()) as s:
        d = _drone(s, drone_name)
        row = _row(s, d.id)
        row.video_url = video_url
        s.add(row)
        audit.record(s, principal=principal, action="drone.video", object_type="drone", object_id=d.id,
                     details={"video_url": video_url})


def set_auto_dispatch(drone_name: str, enabled: bool, *, principal: Principal, engine: Engine | None = None) -> None:
    """Let (or stop) the product dispatch gap missions to this drone by itself; managers only."""
    require(principal, Action.DISPATCH_DRONE)
    with session_scope(engine or get_engine()) as s:
        d = _drone(s, drone_name)
        row = _row(s, d.id)
        row.auto_dispatch = enabled
        row.auto_dispatch_by = principal.name if enabled else None
        s.add(row)
        audit.record(s, principal=principal, action="drone.auto_dispatch", object_type="drone", object_id=d.id,
                     details={"enabled": enabled})


def video_url_of(drone_name: str, *, engine: Engine | None = None) -> str | None:
    """The drone's video URL, or None (no drone, no video)."""
    with Session(engine or get_engine()) as s:
        d = s.exec(select(Drone).where(Drone.name == drone_name)).first()
        row = s.get(DroneAerial, d.id) if d else None
        return row.video_url if row else None


def auto_dispatch_drones(*, engine: Engine | None = None) -> list[str]:
    """Names of drones whose operator enabled auto-dispatch."""
    with Session(engine or get_engine()) as s:
        rows = s.exec(select(Drone.name).join(DroneAerial, DroneAerial.drone_id == Drone.id)
                      .where(DroneAerial.auto_dispatch == True)).all()
    return list(rows)


@dataclass(frozen=True)
class ViewUpdate:
    """What the aerial worker reports about the camera's current view."""

    frame_at: datetime | None
    georeferenced: bool
    reason: str | None
    footprint: shapely.Geometry | None  # WGS84
    track_lonlat: tuple[tuple[float, float], ...]
    frames: int
    frames_unreferenced: int
    detections: int


def record_view(drone_id: int, view: ViewUpdate, *, engine: Engine | None = None) -> None:
    """Overwrite the drone's live camera view (footprint kept only while georeferenced)."""
    with session_scope(engine or get_engine()) as s:
        row = _row(s, drone_id)
        row.updated_at = datetime.now(UTC)
        row.frame_at = view.frame_at
        row.georeferenced = view.georeferenced
        row.reason = (view.reason or None) and view.reason[:200]
        if view.georeferenced and view.footprint is not None and not view.footprint.is_empty:
            row.footprint_geojson = shapely.to_geojson(view.footprint)
        elif not view.georeferenced:
            row.footprint_geojson = None  # never show a footprint we cannot place
        if len(view.track_lonlat) >= 2:
            row.track_geojson = shapely.to_geojson(shapely.LineString(view.track_lonlat))
        row.frames, row.frames_unreferenced, row.detections = view.frames, view.frames_unreferenced, view.detections
        s.add(row)


@dataclass(frozen=True)
class DroneView:
    """For the map: a drone's current camera footprint and track."""

    name: str
    footprint_geojson: str | None
    track_geojson: str | None
    georeferenced: bool
    reason: str | None
    frame_utc: str | None
    frames: int
    frames_unreferenced: int
    detections: int


def drone_views(*, engine: Engine | None = None) -> list[DroneView]:
    """Every drone's live camera view (drones whose video was never processed are absent)."""
    with Session(engine or get_engine()) as s:
        rows = s.exec(select(Drone, DroneAerial).join(DroneAerial, DroneAerial.drone_id == Drone.id)).all()
    return [DroneView(d.name, a.footprint_geojson, a.track_geojson, bool(a.georeferenced), a.reason,
                      a.frame_at.strftime("%H:%M:%S UTC") if a.frame_at else None, a.frames,
                      a.frames_unreferenced, a.detections)
            for d, a in rows if a.frame_at is not None]


def incident_source_kinds(incident_ids: Iterable[int], *, engine: Engine | None = None) -> dict[int, frozenset[str]]:
    """Which kinds of source (``cctv``, ``drone``) saw each incident."""
    ids = list(incident_ids)
    if not ids:
        return {}
    out: dict[int, set[str]] = {i: set() for i in ids}
    with Session(engine or get_engine()) as s:
        for inc_id, kind in s.exec(select(Detection.incident_id, Detection.source_kind)
                                   .where(Detection.incident_id.in_(ids)).distinct()):
            out[inc_id].add(str(getattr(kind, "value", kind)))
    return {k: frozenset(v) for k, v in out.items()}


def corroborated_by_drone(incident_id: int, *, engine: Engine | None = None) -> bool:
    """True when a drone saw an incident that a fixed camera (or another source) raised too."""
    kinds = incident_source_kinds([incident_id], engine=engine).get(incident_id, frozenset())
    return "drone" in kinds and len(kinds) > 1
