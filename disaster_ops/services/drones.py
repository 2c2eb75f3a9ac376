"""Drones and their missions in the database: registration, mission life cycle, live state.

The fly command and drone workers call these; the dashboard reads the same rows. Every
function takes the caller's session (commit happens with :func:`session_scope`), so a
failure never leaves half a record. Keys are never stored: ``signing_key_ref`` names
where the key lives (an environment variable or a file).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from disaster_ops.services import audit
from disaster_ops.services.mission_lifecycle import MissionStatusConflict, check_transition
from disaster_ops.services.roles import Principal
from disaster_ops.storage.models import Drone, DroneState, MissionStatus, utcnow
from disaster_ops.storage.models import Mission as MissionRow
from drone_link.link import MissionProgress, Telemetry
from drone_link.mission import Mission, MissionItem

logger = logging.getLogger(__name__)

_POSITIONED = {16, 17, 21, 22, 201}
_CLI = Principal.system("cli")


def register_drone(session: Session, *, name: str, connection: str, system_id: int = 1,
                   autopilot: str = "ardupilot", signing_key_ref: str | None = None,
                   principal: Principal | None = None) -> Drone:
    """Create the drone, or update its connection/ids if the name exists (upsert by name)."""
    if not name.strip():
        raise ValueError("drone name must not be empty")
    drone = session.exec(select(Drone).where(Drone.name == name)).first()
    if drone is None:
        drone = Drone(name=name, connection=connection, system_id=system_id, autopilot=autopilot,
                      signing_key_ref=signing_key_ref)
        session.add(drone)
        session.flush()
        audit.record(session, principal=principal or _CLI, action="drone.register", object_type="drone",
                     object_id=drone.id, details={"name": name, "connection": connection})
    else:
        drone.connection, drone.system_id, drone.autopilot = connection, system_id, autopilot
        if signing_key_ref is not None:
            drone.signing_key_ref = signing_key_ref
        session.add(drone)
        session.flush()
    return drone


def _items_json(items: list[MissionItem]) -> str:
    return json.dumps([{k: (int(v) if k in ("command", "frame", "mission_type") else v)
                        for k, v in asdict(it).items()} for it in items])


def _zone(mission: Mission) -> tuple[str, tuple[float, float, float, float]]:
    """Bounding polygon (GeoJSON) of the positioned items and home; a point if just one."""
    pts = [(it.lon_deg, it.lat_deg) for it in mission.items
           if int(it.command) in _POSITIONED and (it.lat_deg or it.lon_deg)]
    if mission.home_lat_deg is not None and mission.home_lon_deg is not None:
        pts.append((mission.home_lon_deg, mission.home_lat_deg))
    if not pts:
        raise ValueError("mission has no positioned item and no home: nothing to locate it by")
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    x0, y0, x1, y1 = min(lons), min(lats), max(lons), max(lats)
    if x0 == x1 and y0 == y1:
        geom: dict[str, Any] = {"type": "Point", "coordinates": [x0, y0]}
    else:
        geom = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
    return json.dumps(geom), (x0, y0, x1, y1)


def record_mission(session: Session, mission: Mission, *, name: str = "", drone_id: int | None = None,
                   status: MissionStatus = MissionStatus.PLANNED, plan_json: str | None = None,
                   principal: Principal | None = None) -> MissionRow:
    """Store a mission (items as JSON, bounding zone) and return the row."""
    principal = principal or _CLI
    zone, (x0, y0, x1, y1) = _zone(mission)
    row = MissionRow(name=name, zone_geojson=zone, min_lon=x0, min_lat=y0, max_lon=x1, max_lat=y1,
                     items_json=_items_json(mission.items), plan_json=plan_json, status=status,
                     drone_id=drone_id, created_by=principal.name)
    session.add(row)
    session.flush()
    audit.record(session, principal=principal, action="mission.create", object_type="mission",
                 object_id=row.id, details={"items": len(mission.items), "drone_id": drone_id})
    return row


def set_mission_status(session: Session, mission_id: int, status: MissionStatus, *,
                       current_seq: int | None = None, principal: Principal | None = None,
                       note: str | None = None,
                       expected: MissionStatus | Iterable[MissionStatus] | None = None) -> MissionRow:
    """Move a mission along its life cycle: checked against the transition table
    (:mod:`disaster_ops.services.mission_lifecycle`) and written compare-and-set, so a
    status another process wrote in between is never overwritten.

    ``expected``: the status(es) the caller believes the mission is in; anything else
    raises :class:`MissionStatusConflict` (so does losing the race to another writer).
    Audited when the status changes.
    """
    row = session.get(MissionRow, mission_id)
    if row is None:
        raise LookupError(f"mission {mission_id} not found")
    session.flush()  # keep the caller's pending changes to the row
    session.refresh(row)  # the database's status, not what this session cached
    cur = MissionStatus(row.status)
    if expected is not None:
        exp = frozenset({expected}) if isinstance(expected, MissionStatus) else frozenset(expected)
        if cur not in exp:
            raise MissionStatusConflict(mission_id, exp, cur)
    check_transition(cur, status, mission_id=mission_id)
    values: dict[str, Any] = {"status": MissionStatus(status).value, "updated_at": utcnow()}
    if current_seq is not None:
        values["current_seq"] = current_seq
    result = session.execute(update(MissionRow)
                             .where(MissionRow.id == mission_id, MissionRow.status == cur.value)
                             .values(**values))
    if result.rowcount != 1:
        session.refresh(row)
        raise MissionStatusConflict(mission_id, cur, MissionStatus(row.status))
    if cur is not status:
        audit.record(session, principal=principal or _CLI, action=f"mission.{MissionStatus(status).value}",
                     object_type="mission", object_id=mission_id,
                     details={"from": cur.value, **({"note": note} if note else {})})
    session.refresh(row)
    return row


def mission_status(session: Session, mission_id: int) -> MissionStatus:
    """The status as stored now (a fresh read, not this session's cache)."""
    row = session.get(MissionRow, mission_id)
    if row is None:
        raise LookupError(f"mission {mission_id} not found")
    session.refresh(row)
    return MissionStatus(row.status)


def update_drone_state(session: Session, drone_id: int, t: Telemetry, *, link_ok: bool,
                       progress: MissionProgress | None = None) -> DroneState:
    """Overwrite the drone's one live-state row from a telemetry snapshot."""
    state = session.get(DroneState, drone_id) or DroneState(drone_id=drone_id)
    state.updated_at = utcnow()
    state.lat, state.lon = t.lat_deg, t.lon_deg
    state.alt_rel_m, state.alt_amsl_m = t.alt_rel_m, t.alt_amsl_m
    state.heading_deg, state.ground_speed_m_s = t.heading_deg, t.ground_speed_m_s
    state.roll_deg, state.pitch_deg = t.roll_deg, t.pitch_deg
    state.battery_pct, state.voltage_v = t.battery_pct, t.battery_voltage_v
    state.mode, state.armed, state.link_ok = t.mode, bool(t.armed), bool(link_ok)
    state.mission_seq = progress.current_index if progress is not None else t.mission_seq
    text = t.last_status_text
    state.last_status_text = text[:200] if text else None
    session.add(state)
    return state


class StateRecorder:
    """Writes a drone's live state at most every ``interval_s`` (one short transaction each).

    Database errors are logged, not raised: losing one state row must not stop a flight.
    """

    def __init__(self, drone_id: int, *, interval_s: float = 1.0, engine=None) -> None:
        self.drone_id = drone_id
        self.interval_s = interval_s
        self._engine = engine
        self._last = -1e9
        self.writes = 0

    def maybe_record(self, t: Telemetry, *, link_ok: bool, progress: MissionProgress | None = None,
                     force: bool = False) -> bool:
        now = time.monotonic()
        if not force and now - self._last < self.interval_s:
            return False
        self._last = now
        from disaster_ops.storage.db import session_scope

        try:
            with session_scope(self._engine) as s:
                update_drone_state(s, self.drone_id, t, link_ok=link_ok, progress=progress)
            self.writes += 1
            return True
        except Exception as exc:  # noqa: BLE001 - keep flying whatever the database does
            logger.warning("drone %d: state not recorded: %s", self.drone_id, exc)
            return False
