"""Drone worker: keeps one MAVLink link to one vehicle, writes its live state to the
database, and flies the missions a pilot released to it from the dashboard.

Mission hand-off through the database (the integration point between processes):
``assigned`` (manager dispatched) → pilot presses *Fly* → ``uploading`` → the worker
uploads and verifies (``uploaded``), arms, takes off and starts (``active``), follows
progress → ``completed`` / ``aborted`` / ``failed``. Statuses follow the table of
:mod:`disaster_ops.services.mission_lifecycle` and are written compare-and-set.

The launch is a :class:`~drone_link.link.launch.LaunchSequence` ticked by the worker's
loop, never one blocking call: every iteration pumps the link (about 20 times a
second), advances the launch or the flight, writes live state, and every
``poll_interval_s`` (0.25 s) reads the mission's status. So a request made on the
dashboard reaches the vehicle within a second whatever step the launch is in:

- ``aborted`` (Return to launch): the launch is cancelled (an upload in flight with
  MISSION_ACK CANCELLED, then the half-written mission cleared) and RTL is sent;
- ``paused``: the launch stops before its next step that moves the vehicle; an
  airborne vehicle gets BRAKE (ArduPilot) / DO_PAUSE_CONTINUE 0 (PX4);
- ``active`` again after ``paused`` (resume): the launch continues, or the vehicle gets
  AUTO / DO_PAUSE_CONTINUE 1.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.services.drones import (
    StateRecorder,
    mission_status,
    register_drone,
    set_mission_status,
)
from disaster_ops.services.mission_lifecycle import (
    FLYING,
    MissionStatusConflict,
    MissionTransitionError,
)
from disaster_ops.services.roles import Principal
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Drone, MissionStatus
from disaster_ops.storage.models import Mission as MissionRow
from drone_link.errors import DroneLinkError
from drone_link.files import plan_from_dict
from drone_link.link import DroneLink
from drone_link.link.launch import LaunchSequence, LaunchStep
from drone_link.link.preflight import check_mission
from drone_link.link.transfer import MissionClear
from drone_link.mission import Cmd, MissionType

logger = logging.getLogger(__name__)

S = MissionStatus


@dataclass
class Flight:
    """The worker's side of one mission it is flying."""

    mission_id: int
    launch: LaunchSequence
    paused: bool = False
    uploaded_written: bool = False
    events: list[tuple[float, str]] = field(default_factory=list)  # (monotonic s, what)


class DroneWorker:
    def __init__(self, name: str, connection: str, *, signing_key: bytes | None = None,
                 engine: Engine | None = None, state_interval_s: float = 1.0,
                 poll_interval_s: float = 0.25, heartbeat_timeout_s: float = 30.0,
                 ready_timeout_s: float = 60.0, link_lost_fail_s: float = 30.0, aerial: bool = True,
                 aerial_check_s: float = 10.0, aerial_options: dict | None = None) -> None:
        self.name, self.connection, self.signing_key = name, connection, signing_key
        self.engine = engine or get_engine()
        self.state_interval_s, self.poll_interval_s = state_interval_s, poll_interval_s
        self.heartbeat_timeout_s, self.ready_timeout_s = heartbeat_timeout_s, ready_timeout_s
        self.link_lost_fail_s = link_lost_fail_s
        self.stop_event = threading.Event()
        self.flight: Flight | None = None
        self.flown: list[tuple[int, str]] = []
        self.events: list[tuple[float, int, str]] = []  # (monotonic s, mission id, what)
        self.link: DroneLink | None = None
        self._lost_since: float | None = None
        self.principal = Principal.system(f"worker:{name}")
        self.aerial, self.aerial_check_s = aerial, aerial_check_s
        self.aerial_options = aerial_options or {}
        self.aerial_stats = None
        self.aerial_handle = None  # the aerial worker (video → detections) when the drone has a video URL
        self._aerial_checked = -1e9

    @property
    def active_mission(self) -> int | None:
        return self.flight.mission_id if self.flight else None

    def _register(self) -> int:
        with session_scope(self.engine) as s:
            return register_drone(s, name=self.name, connection=self.connection, principal=self.principal).id

    def run(self, *, duration_s: float | None = None) -> None:
        drone_id = self._register()
        recorder = StateRecorder(drone_id, interval_s=self.state_interval_s, engine=self.engine)
        end = None if duration_s is None else time.monotonic() + duration_s
        with DroneLink.connect(self.connection, signing_key=self.signing_key, label=self.name) as link:
            self.link = link
            logger.info("%s: waiting for heartbeat on %s", self.name, self.connection)
            link.wait_heartbeat(timeout_s=self.heartbeat_timeout_s)
            logger.info("%s: vehicle %s connected", self.name, link.family)
            last_poll = 0.0
            try:
                while not self.stop_event.is_set() and (end is None or time.monotonic() < end):
                    self._maybe_start_aerial(link)
                    self._step(link, recorder, drone_id)
                    if time.monotonic() - last_poll >= self.poll_interval_s:
                        last_poll = time.monotonic()
                        self._poll(link, drone_id)
            finally:
                if self.aerial_handle is not None:
                    self.aerial_stats = self.aerial_handle.stop()
            recorder.maybe_record(link.telemetry, link_ok=link.link_ok(), force=True)

    def _step(self, link: DroneLink, recorder: StateRecorder, drone_id: int) -> None:
        link.pump(0.05)
        if self.flight is not None:
            self._advance(link)
        recorder.maybe_record(link.telemetry, link_ok=link.link_ok(),
                              progress=link.progress() if self.flight else None)

    def _maybe_start_aerial(self, link: DroneLink) -> None:
        """Start the aerial worker next to the link once the drone has a video URL
        (``aerial_view.set_video``; looked up every ``aerial_check_s``). The link's own
        messages feed its pose track, so the video path needs no second MAVLink link."""
        if not self.aerial or self.aerial_handle is not None:
            return
        now = time.monotonic()
        if now - self._aerial_checked < self.aerial_check_s:
            return
        self._aerial_checked = now
        from disaster_ops.services.aerial_view import video_url_of
        from disaster_ops.services.aerial_worker import start_for_drone
        from drone_link.telemetry.mavlink_feed import PoseFeed
        from drone_link.telemetry.pose import PoseTrack

        try:
            url = video_url_of(self.name, engine=self.engine)
        except Exception:  # the database being busy must not stop the link
            logger.exception("%s: could not read the drone's video URL", self.name)
            return
        if not url:
            return
        track = PoseTrack()
        feed = PoseFeed(track, system_id=link.target_system)
        link.add_observer(lambda msg, _now: feed.update(msg, time.time()))
        self.aerial_handle = start_for_drone(self.name, track, engine=self.engine, video_url=url,
                                             connection=self.connection, **self.aerial_options)

    # ------------------------------------------------------------------ helpers
    def _event(self, mission_id: int, what: str) -> None:
        self.events.append((time.monotonic(), mission_id, what))
        logger.info("%s: mission %d: %s", self.name, mission_id, what)

    def _set(self, mission_id: int, status: MissionStatus, *, expected=None, seq: int | None = None,
             note: str | None = None) -> bool:
        """Compare-and-set; False (and nothing written) if someone else moved it first."""
        try:
            with session_scope(self.engine) as s:
                set_mission_status(s, mission_id, status, current_seq=seq, principal=self.principal,
                                   note=note, expected=expected)
            return True
        except (MissionStatusConflict, MissionTransitionError) as exc:
            logger.info("%s: mission %d not set to %s: %s", self.name, mission_id, status.value, exc)
            return False

    def _end(self, outcome: str) -> None:
        assert self.flight is not None
        self.flown.append((self.flight.mission_id, outcome))
        self._event(self.flight.mission_id, f"ended {outcome}")
        self.flight = None
        self._lost_since = None

    # ------------------------------------------------------------------ database side
    def _poll(self, link: DroneLink, drone_id: int) -> None:
        if self.flight is None:
            with Session(self.engine) as s:
                row = s.exec(select(MissionRow).where(MissionRow.drone_id == drone_id,
                                                      MissionRow.status == S.UPLOADING.value)
                             .order_by(MissionRow.id)).first()
            if row is not None:
                self._launch(link, row)
            return
        fl = self.flight
        with Session(self.engine) as s:
            status = mission_status(s, fl.mission_id)
        if status is S.ABORTED:
            self._abort(link, "return to launch requested")
        elif status is S.FAILED or status not in FLYING:
            self._end(status.value)
        elif status is S.PAUSED and not fl.paused:
            fl.paused = True
            fl.launch.hold()
            if link.telemetry.armed:
                link.send_pause()
            self._event(fl.mission_id, "pause sent" if link.telemetry.armed else "launch held")
        elif status is not S.PAUSED and fl.paused:
            fl.paused = False
            fl.launch.release()
            if fl.launch.done and link.telemetry.armed:
                link.send_resume()
            self._event(fl.mission_id, "resume sent")

    def _launch(self, link: DroneLink, row: MissionRow) -> None:
        try:
            mission = plan_from_dict(json.loads(row.plan_json or "{}"))
            check_mission(mission)  # nothing goes out for a mission that cannot finish
        except (DroneLinkError, ValueError) as exc:
            logger.error("%s: mission %d refused before upload: %s", self.name, row.id, exc)
            self._set(row.id, S.FAILED, expected=S.UPLOADING, note=f"invalid mission: {exc}"[:200])
            self.flown.append((row.id, "failed"))
            return
        launch = LaunchSequence(link, mission, start=True, ready_timeout_s=self.ready_timeout_s)
        self.flight = Flight(row.id, launch)
        self._event(row.id, "launch started")
        launch.begin()

    # ------------------------------------------------------------------ vehicle side
    def _advance(self, link: DroneLink) -> None:
        fl = self.flight
        assert fl is not None
        if link.link_ok():
            self._lost_since = None
        else:
            self._lost_since = self._lost_since or time.monotonic()
            if time.monotonic() - self._lost_since > self.link_lost_fail_s:
                self._set(fl.mission_id, S.FAILED, expected=FLYING, note="link lost")
                self._end("failed")
                return
        launch = fl.launch
        if not launch.done:
            step = launch.tick()
            if not fl.uploaded_written and step not in (LaunchStep.CAPABILITIES, LaunchStep.UPLOAD,
                                                        LaunchStep.VERIFY, LaunchStep.FAILED,
                                                        LaunchStep.CANCELLED):
                fl.uploaded_written = True
                self._set(fl.mission_id, S.UPLOADED, expected=S.UPLOADING)
            if step is LaunchStep.FAILED:
                self._launch_failed(link, str(launch.error))
            elif step is LaunchStep.DONE:
                if self._set(fl.mission_id, S.ACTIVE, expected={S.UPLOADED, S.ACTIVE}):
                    self._event(fl.mission_id, "started")
            return
        self._follow(link)

    def _launch_failed(self, link: DroneLink, reason: str) -> None:
        fl = self.flight
        assert fl is not None
        logger.error("%s: mission %d failed to start: %s", self.name, fl.mission_id, reason)
        if link.telemetry.armed:
            link.send_rtl()
        elif fl.launch.upload_started:
            self._clear_vehicle_mission(link)
        self._set(fl.mission_id, S.FAILED, expected=FLYING, note=reason[:200])
        self._end("failed")

    def _clear_vehicle_mission(self, link: DroneLink) -> None:
        """Leave no half-uploaded mission on the vehicle (fire and forget: pump retries)."""
        try:
            link.begin(MissionClear(**link.tx_kwargs(MissionType.MISSION)))
        except DroneLinkError as exc:  # pragma: no cover - no vehicle id yet
            logger.warning("%s: mission not cleared: %s", self.name, exc)

    def _abort(self, link: DroneLink, why: str) -> None:
        fl = self.flight
        assert fl is not None
        was_uploading = not fl.launch.done and fl.launch.step in (LaunchStep.UPLOAD, LaunchStep.VERIFY)
        fl.launch.cancel()
        try:
            link.send_rtl()
            self._event(fl.mission_id, f"rtl sent ({why})")
        except DroneLinkError as exc:
            logger.error("%s: RTL failed: %s", self.name, exc)
        if was_uploading:
            self._clear_vehicle_mission(link)
        self._end("aborted")

    def _follow(self, link: DroneLink) -> None:
        fl = self.flight
        assert fl is not None
        t, p = link.telemetry, link.progress()
        items = link.uploaded.items if link.uploaded else []
        ends_on_ground = bool(items) and int(items[-1].command) in (Cmd.NAV_RETURN_TO_LAUNCH, Cmd.NAV_LAND)
        if p.finished and (not ends_on_ground or not t.armed):
            self._set(fl.mission_id, S.COMPLETED, expected={S.ACTIVE, S.PAUSED}, seq=p.current_index)
            self._end("completed")
        elif not t.armed and not p.finished:
            self._set(fl.mission_id, S.ABORTED, expected={S.ACTIVE, S.PAUSED}, seq=p.current_index,
                      note="disarmed before the end (failsafe?)")
            self._end("aborted")
        elif p.current_index is not None and p.current_index >= 0 and \
                p.current_index != getattr(fl, "last_seq", None):
            fl.last_seq = p.current_index  # type: ignore[attr-defined]
            with session_scope(self.engine) as s:
                r = s.get(MissionRow, fl.mission_id)
                if r is not None and MissionStatus(r.status) in (S.ACTIVE, S.PAUSED):
                    r.current_seq = p.current_index
                    s.add(r)


def drone_id_by_name(name: str, *, engine: Engine | None = None) -> int | None:
    with Session(engine or get_engine()) as s:
        d = s.exec(select(Drone).where(Drone.name == name)).first()
        return d.id if d else None
