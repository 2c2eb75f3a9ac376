"""Drone worker: keeps one MAVLink link to one vehicle, writes its live state to the
database, and flies the missions a pilot released to it from the dashboard.

Mission hand-off through the database (the integration point between processes):
``assigned`` (manager dispatched) → pilot presses *Fly* → ``uploading`` → the worker
uploads and verifies (``uploaded``), arms, takes off and starts (``active``), follows
progress → ``completed`` / ``aborted`` / ``failed``. A mission set to ``aborted`` while
active (pilot pressed *Return to launch*) makes the worker command RTL.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.services.drones import StateRecorder, register_drone, set_mission_status
from disaster_ops.services.roles import Principal
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Drone, MissionStatus
from disaster_ops.storage.models import Mission as MissionRow
from drone_link.errors import DroneLinkError
from drone_link.files import plan_from_dict
from drone_link.link import DroneLink
from drone_link.mission import Cmd

logger = logging.getLogger(__name__)


class DroneWorker:
    def __init__(self, name: str, connection: str, *, signing_key: bytes | None = None,
                 engine: Engine | None = None, state_interval_s: float = 1.0, poll_interval_s: float = 1.0,
                 heartbeat_timeout_s: float = 30.0, ready_timeout_s: float = 60.0) -> None:
        self.name, self.connection, self.signing_key = name, connection, signing_key
        self.engine = engine or get_engine()
        self.state_interval_s, self.poll_interval_s = state_interval_s, poll_interval_s
        self.heartbeat_timeout_s, self.ready_timeout_s = heartbeat_timeout_s, ready_timeout_s
        self.stop_event = threading.Event()
        self.active_mission: int | None = None
        self.flown: list[tuple[int, str]] = []

    def _register(self) -> int:
        with session_scope(self.engine) as s:
            return register_drone(s, name=self.name, connection=self.connection, principal=Principal.system(f"worker:{self.name}")).id

    def run(self, *, duration_s: float | None = None) -> None:
        drone_id = self._register()
        recorder = StateRecorder(drone_id, interval_s=self.state_interval_s, engine=self.engine)
        end = None if duration_s is None else time.monotonic() + duration_s
        with DroneLink.connect(self.connection, signing_key=self.signing_key, label=self.name) as link:
            logger.info("%s: waiting for heartbeat on %s", self.name, self.connection)
            link.wait_heartbeat(timeout_s=self.heartbeat_timeout_s)
            logger.info("%s: vehicle %s connected", self.name, link.family)
            last_poll = 0.0
            while not self.stop_event.is_set() and (end is None or time.monotonic() < end):
                link.pump(0.2)
                recorder.maybe_record(link.telemetry, link_ok=link.link_ok(),
                                      progress=link.progress() if self.active_mission else None)
                if time.monotonic() - last_poll >= self.poll_interval_s:
                    last_poll = time.monotonic()
                    self._step(link, drone_id)
            recorder.maybe_record(link.telemetry, link_ok=link.link_ok(), force=True)

    # ------------------------------------------------------------------ mission hand-off
    def _step(self, link: DroneLink, drone_id: int) -> None:
        with Session(self.engine) as s:
            if self.active_mission is not None:
                row = s.get(MissionRow, self.active_mission)
            else:
                row = s.exec(select(MissionRow).where(MissionRow.drone_id == drone_id,
                                                      MissionRow.status == MissionStatus.UPLOADING.value)
                             .order_by(MissionRow.id)).first()
        if row is None:
            return
        status = MissionStatus(row.status)
        if self.active_mission is None and status is MissionStatus.UPLOADING:
            self._launch(link, row)
        elif self.active_mission is not None:
            self._follow(link, row, status)

    def _set(self, mission_id: int, status: MissionStatus, *, seq: int | None = None, note: str | None = None) -> None:
        with session_scope(self.engine) as s:
            set_mission_status(s, mission_id, status, current_seq=seq, principal=Principal.system(f"worker:{self.name}"), note=note)

    def _launch(self, link: DroneLink, row: MissionRow) -> None:
        try:
            mission = plan_from_dict(json.loads(row.plan_json or "{}"))
            link.upload_mission(mission)
            link.verify_mission(mission)
            self._set(row.id, MissionStatus.UPLOADED)
            link.start_mission(ready_timeout_s=self.ready_timeout_s)
            self._set(row.id, MissionStatus.ACTIVE)
            self.active_mission = row.id
            logger.info("%s: mission %d started", self.name, row.id)
        except (DroneLinkError, ValueError) as exc:
            logger.error("%s: mission %d failed to start: %s", self.name, row.id, exc)
            self._set(row.id, MissionStatus.FAILED, note=str(exc)[:200])
            self.flown.append((row.id, "failed"))

    def _follow(self, link: DroneLink, row: MissionRow, status: MissionStatus) -> None:
        t, p = link.telemetry, link.progress()
        if status is MissionStatus.ABORTED:  # pilot or manager pressed Return to launch
            try:
                link.rtl()
            except DroneLinkError as exc:
                logger.error("%s: RTL failed: %s", self.name, exc)
            self.flown.append((row.id, "aborted"))
            self.active_mission = None
            return
        items = link.uploaded.items if link.uploaded else []
        ends_on_ground = bool(items) and int(items[-1].command) in (Cmd.NAV_RETURN_TO_LAUNCH, Cmd.NAV_LAND)
        if p.finished and (not ends_on_ground or not t.armed):
            self._set(row.id, MissionStatus.COMPLETED, seq=p.current_index)
            self.flown.append((row.id, "completed"))
            self.active_mission = None
        elif not t.armed and not p.finished:
            self._set(row.id, MissionStatus.ABORTED, seq=p.current_index, note="disarmed before the end (failsafe?)")
            self.flown.append((row.id, "aborted"))
            self.active_mission = None
        elif p.current_index is not None and p.current_index != row.current_seq:
            with session_scope(self.engine) as s:
                r = s.get(MissionRow, row.id)
                r.current_seq = p.current_index
                s.add(r)


def drone_id_by_name(name: str, *, engine: Engine | None = None) -> int | None:
    with Session(engine or get_engine()) as s:
        d = s.exec(select(Drone).where(Drone.name == name)).first()
        return d.id if d else None
