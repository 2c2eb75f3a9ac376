"""The fleet as operators see it: each registered drone with its latest telemetry.

Read-only; what the dashboard's map shows as drone markers, for ``disaster-ops drones``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.storage.db import get_engine
from disaster_ops.storage.models import Drone, DroneState


@dataclass(frozen=True)
class DroneInfo:
    """One drone: registration, then live state (None: never heard from)."""

    id: int
    name: str
    connection: str
    system_id: int
    autopilot: str
    max_waypoints: int
    endurance_min: float
    home_lat_deg: float | None
    home_lon_deg: float | None
    signing_key_ref: str | None  # where the key lives, never the key
    updated_utc: str | None = None
    lat: float | None = None
    lon: float | None = None
    alt_rel_m: float | None = None
    heading_deg: float | None = None
    ground_speed_m_s: float | None = None
    battery_pct: float | None = None
    mode: str | None = None
    armed: bool = False
    link_ok: bool = False
    mission_seq: int | None = None
    last_status_text: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _info(d: Drone, st: DroneState | None) -> DroneInfo:
    live = {}
    if st is not None:
        live = dict(updated_utc=st.updated_at.isoformat(), lat=st.lat, lon=st.lon, alt_rel_m=st.alt_rel_m,
                    heading_deg=st.heading_deg, ground_speed_m_s=st.ground_speed_m_s,
                    battery_pct=st.battery_pct, mode=st.mode, armed=bool(st.armed), link_ok=bool(st.link_ok),
                    mission_seq=st.mission_seq, last_status_text=st.last_status_text)
    return DroneInfo(id=d.id, name=d.name, connection=d.connection, system_id=d.system_id,
                     autopilot=d.autopilot, max_waypoints=d.max_waypoints, endurance_min=d.endurance_min,
                     home_lat_deg=d.home_lat_deg, home_lon_deg=d.home_lon_deg,
                     signing_key_ref=d.signing_key_ref, **live)


def list_drones(*, engine: Engine | None = None) -> list[DroneInfo]:
    """Every registered drone, by name."""
    with Session(engine or get_engine()) as s:
        rows = s.exec(select(Drone, DroneState).join(DroneState, DroneState.drone_id == Drone.id, isouter=True)
                      .order_by(Drone.name)).all()
    return [_info(d, st) for d, st in rows]


def get_drone(name: str, *, engine: Engine | None = None) -> DroneInfo | None:
    with Session(engine or get_engine()) as s:
        d = s.exec(select(Drone).where(Drone.name == name)).first()
        if d is None:
            return None
        return _info(d, s.get(DroneState, d.id))
