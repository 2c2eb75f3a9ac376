"""DroneLink: one GCS connection to one vehicle (mission transfers, commands, telemetry).

Single-threaded by design: every blocking call pumps the connection itself (reads
messages, updates telemetry, feeds the active transaction, ticks its deadline and sends
the GCS heartbeat once a second), and every wait has a deadline. Call :meth:`pump`
regularly while idle (e.g. in a monitoring loop) so the vehicle keeps seeing the GCS.
Not thread-safe: use one DroneLink per thread.

Example::

    with DroneLink.connect("udpin:0.0.0.0:14550") as link:
        link.wait_heartbeat(timeout_s=10)
        link.upload_mission(mission, progress=lambda done, total: ...)
        link.start_mission()
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

from drone_link.errors import (
    CommandRejected,
    DroneLinkError,
    HeartbeatTimeout,
    LinkLost,
    MissionTransferError,
    OperationTimeout,
    RequestStorm,
)
from drone_link.link._mav import (
    AUTOPILOT_COMPONENT_ID,
    GCS_COMPONENT_ID,
    GCS_SYSTEM_ID,
    MAV_AUTOPILOT_INVALID,
    MAV_TYPE_GCS,
    mavlink2,
)
from drone_link.link.commands import (
    INTENT_MODES,
    CommandResult,
    CommandTransaction,
    MavCmd,
    autopilot_family,
    mode_transaction,
)
from drone_link.link.connection import open_connection, parse_connection
from drone_link.link.launch import LaunchSequence
from drone_link.link.telemetry import Telemetry, TelemetryTracker
from drone_link.link.transfer import (
    FrameStyle,
    MissionClear,
    MissionDownload,
    MissionUpload,
    Progress,
    Result,
    Transaction,
)
from drone_link.mission import Cmd, Frame, Mission, MissionItem, MissionType

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkOptions:
    """Timing of the link (seconds) and retry caps."""

    heartbeat_interval_s: float = 1.0
    link_loss_s: float = 5.0
    item_timeout_s: float = 0.5
    item_retries: int = 10
    command_timeout_s: float = 1.0
    command_retries: int = 3
    mode_confirm_timeout_s: float = 3.0


@dataclass(frozen=True)
class TransferReport:
    """What one upload cost: items, seconds, resends, and the wire options it ended with."""

    mission_type: MissionType
    items: int
    duration_s: float
    resends: int
    legacy_requests: int
    legacy_items: bool
    frames: FrameStyle


@dataclass(frozen=True)
class MissionProgress:
    """Progress in *plan* indices (the vehicle's home item, if any, already removed)."""

    current_index: int | None
    reached: tuple[int, ...]
    total: int
    complete_reported: bool = False  # MISSION_CURRENT.mission_state == COMPLETE

    @property
    def finished(self) -> bool:
        return self.total > 0 and (self.complete_reported or (self.total - 1) in self.reached)


@dataclass
class _Counters:
    received: int = 0
    rejected_signature: int = 0
    other_system: int = 0
    sent: int = 0


class DroneLink:
    """A GCS link to one vehicle over a pymavlink connection (see module docstring)."""

    def __init__(self, conn, *, label: str = "drone", target_system: int | None = None,
                 options: LinkOptions | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.conn = conn
        self.label = label
        self.options = options or LinkOptions()
        self._clock = clock
        self.target_system = target_system
        self.target_component = AUTOPILOT_COMPONENT_ID
        self.own_system = conn.mav.srcSystem
        self.own_component = conn.mav.srcComponent
        self.tracker = TelemetryTracker(system_id=target_system)
        self.counters = _Counters()
        self._active: list[Transaction | CommandTransaction] = []
        self._observers: list = []  # callables (msg, now_s) given every message of the vehicle
        self._last_gcs_hb = -1e9
        self.seq_offset = 0  # 1 on ArduPilot: mission item 0 is home
        self.uploaded: Mission | None = None
        self.verified: Mission | None = None
        self._paused_by_command = False
        self._hello_due: float | None = None
        self._final_landing = False  # armed on the plan's last item (RTL/LAND)

    # -- opening and closing -----------------------------------------------------------
    @classmethod
    def connect(cls, connection: str, *, signing_key: bytes | None = None,
                target_system: int | None = None, label: str | None = None,
                source_system: int = GCS_SYSTEM_ID, source_component: int = GCS_COMPONENT_ID,
                options: LinkOptions | None = None) -> DroneLink:
        """Open ``connection`` (see :mod:`drone_link.link.connection`); no traffic yet."""
        spec = parse_connection(connection)
        conn = open_connection(spec, source_system=source_system,
                               source_component=source_component, signing_key=signing_key)
        return cls(conn, label=label or str(spec), target_system=target_system, options=options)

    def close(self) -> None:
        try:
            self.conn.close()
        except OSError:  # pragma: no cover - already closed
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def local_port(self) -> int | None:
        """The bound UDP/TCP port (useful with ``udpin:127.0.0.1:0``)."""
        sock = getattr(self.conn, "port", None)
        try:
            return sock.getsockname()[1] if sock is not None else None
        except (OSError, AttributeError):
            return None

    @property
    def rejected_count(self) -> int:
        """Messages dropped because they were unsigned or wrongly signed."""
        return self.counters.rejected_signature

    # -- receiving ---------------------------------------------------------------------
    def add_observer(self, observe) -> None:
        """Call ``observe(msg, now_s)`` for every message of the vehicle (after the link's own
        tracking), e.g. to fold the pose into an aerial worker's track. Must not block."""
        self._observers.append(observe)

    def send(self, msg) -> None:
        self.conn.mav.send(msg)
        self.counters.sent += 1

    def pump(self, duration_s: float = 0.0) -> int:
        """Process incoming messages for ``duration_s`` (0: what is queued). Returns count."""
        end = self._clock() + max(0.0, duration_s)
        n = 0
        while True:
            now = self._clock()
            self._maybe_send_heartbeat(now)
            msg = self.conn.recv_msg()
            if msg is not None:
                n += 1
                self._dispatch(msg, self._clock())
                continue
            for tx in list(self._active):
                tx.tick(now)
            if now >= end:
                return n
            self.conn.select(min(0.02, max(0.0, end - now)))

    def _maybe_send_heartbeat(self, now: float) -> None:
        if now - self._last_gcs_hb >= self.options.heartbeat_interval_s:
            self._last_gcs_hb = now
            self.send(mavlink2.MAVLink_heartbeat_message(MAV_TYPE_GCS, MAV_AUTOPILOT_INVALID,
                                                         0, 0, 4, 3))

    def _dispatch(self, msg, now: float) -> None:
        kind = msg.get_type()
        if kind == "BAD_DATA":
            if "signature" in str(getattr(msg, "reason", "")).lower():
                self.counters.rejected_signature += 1
                logger.debug("%s: rejected a message with a bad or missing signature", self.label)
            return
        src = msg.get_srcSystem()
        if self.target_system is None:
            if kind == "HEARTBEAT" and msg.type != MAV_TYPE_GCS and msg.autopilot != MAV_AUTOPILOT_INVALID:
                self.target_system = src
                self.tracker.system_id = src
                logger.info("%s: vehicle system id %d", self.label, src)
                self._hello_due = now
            else:
                return
        if src != self.target_system:
            self.counters.other_system += 1
            return
        self.counters.received += 1
        self.tracker.update(msg, now)
        for observe in list(self._observers):
            try:
                observe(msg, now)
            except Exception:  # an observer's bug must not break the command link
                logger.exception("%s: message observer failed", self.label)
        if self._hello_due is not None and now >= self._hello_due:
            self._hello(now)
        if kind == "STATUSTEXT":
            logger.info("%s: vehicle says %s", self.label, self.tracker.snapshot().last_status_text)
        for tx in list(self._active):
            tx.handle(msg)

    # -- state -------------------------------------------------------------------------
    @property
    def telemetry(self) -> Telemetry:
        return self.tracker.snapshot()

    @property
    def family(self) -> str:
        return autopilot_family(self.telemetry.autopilot)

    def link_ok(self) -> bool:
        """True while heartbeats arrive (none for ``link_loss_s`` = link lost)."""
        age = self.tracker.seconds_since_heartbeat(self._clock())
        return age is not None and age <= self.options.link_loss_s

    def wait_heartbeat(self, *, timeout_s: float = 10.0) -> Telemetry:
        """Block until a vehicle heartbeat arrives; :class:`HeartbeatTimeout` otherwise."""
        end = self._clock() + timeout_s
        while self._clock() < end:
            self.pump(min(0.1, max(0.0, end - self._clock())))
            if self.telemetry.last_heartbeat_s is not None:
                return self.telemetry
        raise HeartbeatTimeout(self.label, timeout_s, rejected=self.rejected_count)

    def wait_for(self, predicate: Callable[[Telemetry], bool], *, timeout_s: float,
                 what: str) -> Telemetry:
        """Pump until ``predicate(telemetry)``; :class:`OperationTimeout` / :class:`LinkLost`."""
        end = self._clock() + timeout_s
        while True:
            t = self.telemetry
            if predicate(t):
                return t
            if self._clock() >= end:
                raise OperationTimeout(what, timeout_s)
            if t.last_heartbeat_s is not None and not self.link_ok():
                raise LinkLost(f"{self.label}: no heartbeat for {self.options.link_loss_s:g} s "
                               f"while waiting for {what}")
            self.pump(min(0.05, max(0.0, end - self._clock())))

    def _require_vehicle(self) -> int:
        if self.target_system is None:
            self.wait_heartbeat(timeout_s=self.options.link_loss_s)
        assert self.target_system is not None
        return self.target_system

    def _run(self, tx, *, timeout_s: float):
        """Run one transaction to its end, with an overall deadline on top of its own."""
        self._active.append(tx)
        try:
            tx.start()
            end = self._clock() + timeout_s
            while not tx.done:
                if self._clock() >= end:
                    break
                self.pump(0.01)
            return tx
        finally:
            self._active.remove(tx)

    def _tx_kwargs(self, mission_type: MissionType | int) -> dict:
        return dict(send=self.send, clock=self._clock, target_system=self._require_vehicle(),
                    target_component=self.target_component, own_system=self.own_system,
                    own_component=self.own_component, mission_type=mission_type,
                    timeout_s=self.options.item_timeout_s, retries=self.options.item_retries)

    def _overall_timeout_s(self, n_items: int) -> float:
        per_item = self.options.item_timeout_s * (self.options.item_retries + 1)
        return 10.0 + per_item + n_items * 2.0 * self.options.item_timeout_s

    # -- what ground stations send on connect ---------------------------------------
    def _hello(self, now: float) -> None:
        """Ask an ArduPilot vehicle for telemetry streams and its capabilities.

        ArduPilot sends only heartbeats on a link nobody asked for streams (SITL's TCP
        port is such a link): MAVProxy and QGroundControl send REQUEST_DATA_STREAM on
        connect, and so do we, repeating it every 5 s until positions arrive.
        """
        if self.family != "ardupilot" or self.telemetry.lat_deg is not None:
            self._hello_due = None
            return
        self.request_streams()
        if self.telemetry.capabilities is None:
            self.request_capabilities()
        self._hello_due = now + 5.0

    def request_streams(self, rate_hz: int = 4) -> None:
        """REQUEST_DATA_STREAM (all streams) as MAVProxy does on connect."""
        if self.target_system is None:
            return
        self.send(mavlink2.MAVLink_request_data_stream_message(
            self.target_system, self.target_component, 0, int(rate_hz), 1))

    def request_capabilities(self) -> None:
        """MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES (answered with AUTOPILOT_VERSION); no wait."""
        if self.target_system is None:
            return
        self.send(mavlink2.MAVLink_command_long_message(
            self.target_system, self.target_component, 520, 0, 1, 0, 0, 0, 0, 0, 0))

    # -- non-blocking building blocks (used by LaunchSequence and the drone worker) ---
    def begin(self, tx) -> None:
        """Start a transaction; from now on :meth:`pump` feeds and ticks it."""
        self._active.append(tx)
        tx.start()

    def end(self, tx) -> None:
        if tx in self._active:
            self._active.remove(tx)

    def tx_kwargs(self, mission_type: MissionType | int) -> dict:
        return self._tx_kwargs(mission_type)

    def command_kwargs(self) -> dict:
        return dict(send=self.send, clock=self._clock, target_system=self._require_vehicle(),
                    target_component=self.target_component, own_system=self.own_system,
                    own_component=self.own_component, timeout_s=self.options.command_timeout_s,
                    retries=self.options.command_retries)

    def overall_timeout_s(self, n_items: int) -> float:
        return self._overall_timeout_s(n_items)

    @staticmethod
    def transfer_report(*args) -> TransferReport:
        return TransferReport(*args)

    def home_item(self, mission: Mission) -> MissionItem:
        return self._home_item(mission)

    def intent_mode(self, intent: str) -> str:
        return self._intent(intent)

    def send_command(self, command: int, *params: float) -> CommandTransaction:
        """Send a COMMAND_LONG now and return its transaction (retried by :meth:`pump`);
        the caller reads ``.result`` later and calls :meth:`end` when done."""
        tx = CommandTransaction(command, tuple(params), **self.command_kwargs())
        self.begin(tx)
        return tx

    def mode_tx(self, name: str) -> CommandTransaction:
        """An unstarted mode-change transaction (SET_MODE on ArduPilot, DO_SET_MODE on PX4)."""
        return mode_transaction(self.telemetry.autopilot, name, **self.command_kwargs())

    def send_mode(self, name: str) -> CommandTransaction:
        """Non-blocking mode change, sent now (see :meth:`send_command`)."""
        self._require_vehicle()
        tx = self.mode_tx(name)
        self.begin(tx)
        return tx

    def send_rtl(self) -> CommandTransaction:
        """Return to launch, non-blocking (RTL mode; NAV_RETURN_TO_LAUNCH on PX4)."""
        if self.family == "px4":
            return self.send_command(MavCmd.NAV_RETURN_TO_LAUNCH)
        return self.send_mode(self._intent("rtl"))

    def send_pause(self) -> CommandTransaction:
        """Hold position, non-blocking: BRAKE (ArduPilot) or DO_PAUSE_CONTINUE 0 (PX4)."""
        if self.family == "px4":
            return self.send_command(MavCmd.DO_PAUSE_CONTINUE, 0)
        return self.send_mode(self._intent("brake"))

    def send_resume(self) -> CommandTransaction:
        """Continue the mission, non-blocking: AUTO (ArduPilot) or DO_PAUSE_CONTINUE 1 (PX4)."""
        if self.family == "px4":
            return self.send_command(MavCmd.DO_PAUSE_CONTINUE, 1)
        return self.send_mode(self._intent("mission"))

    def run_sequence(self, seq: LaunchSequence) -> LaunchSequence:
        """Run a :class:`LaunchSequence` to its end (blocking); raise its error."""
        seq.begin()
        while not seq.done:
            seq.tick()
            if seq.done:
                break
            self.pump(0.01)
        if seq.error is not None:
            raise seq.error
        return seq

    # -- mission protocol --------------------------------------------------------------
    def upload(self, items: Sequence[MissionItem], *,
               mission_type: MissionType | int = MissionType.MISSION,
               progress: Progress | None = None, legacy_items: bool = False,
               frames: FrameStyle = FrameStyle.AS_GIVEN,
               fallback_frames: bool = True) -> TransferReport:
        """Upload one list exactly as given (no home item handling; see :meth:`upload_mission`).

        If the vehicle rejects the ``*_INT`` frame values (UNSUPPORTED_FRAME) and
        ``fallback_frames`` is set, the upload is repeated once with their float twins.
        Raises :class:`MissionTransferError` on failure.
        """
        mission_type = MissionType(int(mission_type))
        t0 = self._clock()
        tx = MissionUpload(items, legacy_items=legacy_items, frames=frames, progress=progress,
                           **self._tx_kwargs(mission_type))
        self._run(tx, timeout_s=self._overall_timeout_s(len(items)))
        if (tx.result is Result.UNSUPPORTED_FRAME and fallback_frames
                and frames is FrameStyle.AS_GIVEN):
            logger.warning("%s: vehicle rejected *_INT frames; uploading with float frames",
                           self.label)
            return self.upload(items, mission_type=mission_type, progress=progress,
                               legacy_items=legacy_items, frames=FrameStyle.FLOAT_FAMILY,
                               fallback_frames=False)
        if tx.result is Result.REQUEST_STORM:
            raise RequestStorm(tx.result, tx.step, mission_type=int(mission_type), detail=tx.detail)
        if tx.result is not Result.SUCCESS:
            raise MissionTransferError(tx.result or Result.TIMEOUT, tx.step,
                                       mission_type=int(mission_type), detail=tx.detail)
        report = TransferReport(mission_type, len(items), self._clock() - t0, tx.resends_total,
                                tx.legacy_requests_seen, legacy_items, frames)
        logger.info("%s: uploaded %d %s item(s) in %.2f s (%d resends)", self.label, len(items),
                    mission_type.name.lower(), report.duration_s, report.resends)
        return report

    def download(self, mission_type: MissionType | int = MissionType.MISSION, *,
                 legacy_items: bool = False, progress: Progress | None = None) -> list[MissionItem]:
        """Read one list back exactly as the vehicle holds it."""
        mission_type = MissionType(int(mission_type))
        tx = MissionDownload(legacy_items=legacy_items, progress=progress,
                             **self._tx_kwargs(mission_type))
        self._run(tx, timeout_s=self._overall_timeout_s(2000))
        if tx.result is not Result.SUCCESS:
            raise MissionTransferError(tx.result or Result.TIMEOUT, tx.step,
                                       mission_type=int(mission_type), detail=tx.detail)
        return tx.items

    def clear(self, mission_type: MissionType | int = MissionType.MISSION) -> None:
        """MISSION_CLEAR_ALL for one list."""
        tx = MissionClear(**self._tx_kwargs(mission_type))
        self._run(tx, timeout_s=self._overall_timeout_s(1))
        if tx.result is not Result.SUCCESS:
            raise MissionTransferError(tx.result or Result.TIMEOUT, tx.step,
                                       mission_type=int(mission_type), detail=tx.detail)

    def _home_item(self, mission: Mission) -> MissionItem:
        t = self.telemetry
        lat = mission.home_lat_deg if mission.home_lat_deg is not None else (t.home_lat_deg or t.lat_deg or 0.0)
        lon = mission.home_lon_deg if mission.home_lon_deg is not None else (t.home_lon_deg or t.lon_deg or 0.0)
        return MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL, lat, lon, mission.home_alt_amsl_m)

    def upload_mission(self, mission: Mission, *, progress: Progress | None = None,
                       verify: bool = True, legacy_items: bool = False) -> list[TransferReport]:
        """Upload flight plan, fence and rally lists (empty lists are cleared), then verify.

        On ArduPilot, mission item 0 is the home position: a home item is put in front
        of the plan, and progress/verify/telemetry indices are shifted back for the caller.
        ``progress(done, total)`` counts plan items of all three lists together. Firmware
        without mission-protocol fences (ArduPilot before 4.0) gets the FENCE_POINT
        protocol (:mod:`drone_link.link.legacy_fence`). Runs :class:`LaunchSequence`.
        """
        self._require_vehicle()
        seq = self.run_sequence(LaunchSequence(self, mission, verify=verify, progress=progress,
                                               legacy_items=legacy_items))
        return seq.reports

    def download_mission(self, *, legacy_items: bool = False) -> Mission:
        """All three lists as the vehicle holds them (home item removed on ArduPilot)."""
        self._require_vehicle()
        items = self.download(MissionType.MISSION, legacy_items=legacy_items)
        home = None
        if self.family == "ardupilot" and items:
            home, items = items[0], items[1:]
        m = Mission(items=items,
                    fence=self.download(MissionType.FENCE, legacy_items=legacy_items),
                    rally=self.download(MissionType.RALLY, legacy_items=legacy_items))
        if home is not None and (home.lat_deg or home.lon_deg):
            m.home_lat_deg, m.home_lon_deg, m.home_alt_amsl_m = home.lat_deg, home.lon_deg, home.alt_m
        return m

    def verify_mission(self, mission: Mission, *, legacy_items: bool = False) -> Mission:
        """Download and compare as ground stations do (:mod:`drone_link.link.verify`);
        :class:`MissionMismatch` names the list, item and field of a real difference."""
        back = self.download_mission(legacy_items=legacy_items)
        lists = {MissionType.MISSION: ([self._home_item(mission)] if self.family == "ardupilot" else [])
                 + list(back.items), MissionType.FENCE: back.fence, MissionType.RALLY: back.rally}
        seq = LaunchSequence(self, mission, legacy_items=legacy_items)
        return seq.compare(lists)

    def progress(self) -> MissionProgress:
        """Where the vehicle is in the uploaded plan (plan indices).

        A plan ending in RTL or LAND never reports its last item reached on ArduPilot:
        the vehicle lands, disarms and resets MISSION_CURRENT. Reaching that last item
        while armed and then disarming counts as reaching it.
        """
        t = self.telemetry
        total = len(self.uploaded.items) if self.uploaded else max(0, (t.mission_total or 0) - self.seq_offset)
        cur = None if t.mission_seq is None else t.mission_seq - self.seq_offset
        reached = tuple(s - self.seq_offset for s in t.reached if s >= self.seq_offset)
        items = self.uploaded.items if self.uploaded else []
        if items and int(items[-1].command) in (Cmd.NAV_RETURN_TO_LAUNCH, Cmd.NAV_LAND):
            if t.armed and cur == total - 1:
                self._final_landing = True
            elif not t.armed and self._final_landing and (total - 1) not in reached:
                reached = reached + (total - 1,)
        return MissionProgress(cur, reached, total, complete_reported=t.mission_state == 5)

    # -- commands ----------------------------------------------------------------------
    def command(self, command: int, *params: float, what: str = "",
                timeout_s: float | None = None) -> CommandResult:
        """COMMAND_LONG until acknowledged; :class:`CommandRejected` unless ACCEPTED."""
        texts_before = len(self.telemetry.status_texts)
        tx = CommandTransaction(command, tuple(params), send=self.send, clock=self._clock,
                                target_system=self._require_vehicle(),
                                target_component=self.target_component,
                                own_system=self.own_system, own_component=self.own_component,
                                timeout_s=timeout_s or self.options.command_timeout_s,
                                retries=self.options.command_retries)
        self._run(tx, timeout_s=(timeout_s or self.options.command_timeout_s)
                  * (self.options.command_retries + 2) + tx.in_progress_timeout_s)
        result = tx.result if tx.done else CommandResult.TIMEOUT
        if result is not CommandResult.ACCEPTED:
            self.pump(0.05)  # the reason often follows the ACK as STATUSTEXT
            texts = self.telemetry.status_texts[texts_before:]
            raise CommandRejected(command, result, text=texts[-1].text if texts else "",
                                  what=what)
        return result

    def set_mode(self, name: str, *, wait: bool = True) -> None:
        """Change flight mode by name (ArduPilot Copter or PX4 names) and wait for the heartbeat."""
        self._require_vehicle()
        tx = self.mode_tx(name)
        o = self.options
        self._run(tx, timeout_s=o.command_timeout_s * (o.command_retries + 2) + tx.in_progress_timeout_s)
        result = tx.result if tx.done else CommandResult.TIMEOUT
        if result is not CommandResult.ACCEPTED:
            self.pump(0.05)
            raise CommandRejected(tx.command, result, text=self.telemetry.last_status_text or "",
                                  what=f"mode {name.upper()}")
        if wait:
            target = name.strip().upper()
            self.wait_for(lambda t: t.mode == target, timeout_s=self.options.mode_confirm_timeout_s,
                          what=f"mode {target}")

    def _intent(self, intent: str) -> str:
        return INTENT_MODES[self.family][intent]

    def arm(self, *, force: bool = False) -> None:
        self.command(MavCmd.COMPONENT_ARM_DISARM, 1.0, 21196.0 if force else 0.0, what="arm")
        self.wait_for(lambda t: t.armed, timeout_s=self.options.mode_confirm_timeout_s, what="armed")

    def disarm(self, *, force: bool = False) -> None:
        self.command(MavCmd.COMPONENT_ARM_DISARM, 0.0, 21196.0 if force else 0.0, what="disarm")
        self.wait_for(lambda t: not t.armed, timeout_s=self.options.mode_confirm_timeout_s,
                      what="disarmed")

    def takeoff(self, alt_rel_m: float) -> None:
        if not 0 < alt_rel_m <= 1000:
            raise ValueError(f"takeoff altitude must be in (0, 1000] m, got {alt_rel_m}")
        self.command(MavCmd.NAV_TAKEOFF, 0, 0, 0, float("nan"), 0, 0, float(alt_rel_m),
                     what=f"takeoff to {alt_rel_m:g} m")

    def wait_ready_to_arm(self, *, timeout_s: float = 60.0) -> Telemetry:
        """Wait for the EKF / GPS / pre-arm checks the vehicle reports."""
        return self.wait_for(lambda t: t.ready_to_arm, timeout_s=timeout_s,
                             what="vehicle ready to arm (EKF, GPS, pre-arm checks)")

    def start_mission(self, *, takeoff_alt_m: float | None = None, ready_timeout_s: float = 60.0,
                      use_mission_start: bool = False, airborne_alt_m: float = 1.0,
                      takeoff_timeout_s: float = 60.0) -> None:
        """Arm and start the uploaded mission (blocking run of :class:`LaunchSequence`).

        ArduPilot: GUIDED → wait EKF/pre-arm → arm → takeoff → (airborne) → AUTO, the
        order Copter needs; with ``use_mission_start`` it arms in GUIDED, switches to AUTO
        on the ground and sends MAV_CMD_MISSION_START. PX4: arm, then MISSION_START.
        """
        self._require_vehicle()
        self.run_sequence(LaunchSequence(
            self, self.uploaded, upload=False, start=True, takeoff_alt_m=takeoff_alt_m,
            ready_timeout_s=ready_timeout_s, use_mission_start=use_mission_start,
            airborne_alt_m=airborne_alt_m, takeoff_timeout_s=takeoff_timeout_s))

    def pause(self, *, use_command: bool = False) -> None:
        """Hold position: BRAKE mode on ArduPilot, or MAV_CMD_DO_PAUSE_CONTINUE(0)
        (always on PX4; on ArduPilot with ``use_command``, which keeps AUTO and resumes
        the same item)."""
        if use_command or self.family == "px4":
            self.command(MavCmd.DO_PAUSE_CONTINUE, 0, what="pause")
        else:
            self.set_mode(self._intent("brake"))
        self._paused_by_command = use_command or self.family == "px4"

    def resume(self) -> None:
        """Continue the mission after :meth:`pause` (the same way it was paused)."""
        if self._paused_by_command:
            self.command(MavCmd.DO_PAUSE_CONTINUE, 1, what="continue")
            if self.family == "px4":
                self.wait_for(lambda t: t.mode == self._intent("mission"),
                              timeout_s=self.options.mode_confirm_timeout_s, what="mission mode")
        else:
            self.set_mode(self._intent("mission"))
        self._paused_by_command = False

    def rtl(self) -> None:
        """Return to launch (mode RTL on ArduPilot, NAV_RETURN_TO_LAUNCH on PX4)."""
        if self.family == "px4":
            self.command(MavCmd.NAV_RETURN_TO_LAUNCH, what="return to launch")
        else:
            self.set_mode(self._intent("rtl"))

    def land(self) -> None:
        if self.family == "px4":
            self.command(MavCmd.NAV_LAND, 0, 0, 0, float("nan"), 0, 0, 0, what="land")
        else:
            self.set_mode(self._intent("land"))


__all__ = ["DroneLink", "DroneLinkError", "LinkOptions", "MissionProgress", "TransferReport"]
