"""Upload, verify and start a mission as steps of the caller's loop (never blocking).

:class:`LaunchSequence` is the launch the drone worker runs between two iterations of
its loop, and what :meth:`DroneLink.upload_mission` / :meth:`DroneLink.start_mission`
run to completion. The caller pumps the link and calls :meth:`LaunchSequence.tick`;
each step has a deadline; :meth:`cancel` stops it at once whatever step it is in (an
upload in flight is cancelled with MISSION_ACK ``OPERATION_CANCELLED``), :meth:`hold`
keeps it from starting the next step that moves the vehicle (arm, take-off, AUTO).

Steps (ArduPilot Copter): CAPABILITIES (the vehicle has finished booting, HEARTBEAT
STANDBY: ArduPilot loses a mission written during its init; AUTOPILOT_VERSION:
mission-protocol fence and rally, or the older FENCE_POINT protocol) → UPLOAD (mission with home at item 0, fence,
rally; an UNSUPPORTED_FRAME answer retries once with float frames) → VERIFY (download
and :mod:`drone_link.link.verify`) → WAIT_READY (EKF, GPS, pre-arm) → GUIDED → ARM
(retried while pre-arm checks refuse) → TAKEOFF → CLIMB → AUTO → DONE. PX4: WAIT_READY →
ARM → MISSION_START. With ``use_mission_start`` Copter arms in GUIDED, switches to AUTO
on the ground and sends MISSION_START.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from drone_link.errors import (
    CommandRejected,
    DroneLinkError,
    LinkLost,
    MissionMismatch,
    MissionTransferError,
    OperationTimeout,
    RequestStorm,
)
from drone_link.link.commands import CommandResult, CommandTransaction, MavCmd
from drone_link.link.legacy_fence import (
    LegacyFenceUnsupported,
    LegacyFenceUpload,
    legacy_fence_plan,
)
from drone_link.link.transfer import (
    FrameStyle,
    MissionClear,
    MissionDownload,
    MissionUpload,
    Progress,
    Result,
    Step,
)
from drone_link.link.verify import compare_lists
from drone_link.mission import Cmd, Mission, MissionItem, MissionType

if TYPE_CHECKING:
    from drone_link.link.client import DroneLink, TransferReport

logger = logging.getLogger(__name__)

CAP_MISSION_FENCE = 1 << 14
CAP_MISSION_RALLY = 1 << 15


class LaunchStep(Enum):
    CAPABILITIES = "capabilities"
    UPLOAD = "upload"
    VERIFY = "verify"
    GUIDED = "guided"
    WAIT_READY = "wait_ready"
    ARM = "arm"
    TAKEOFF = "takeoff"
    CLIMB = "climb"
    AUTO = "auto"
    MISSION_START = "mission_start"
    HELD = "held"  # paused before a step that moves the vehicle
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL = frozenset({LaunchStep.DONE, LaunchStep.FAILED, LaunchStep.CANCELLED})
# Steps that make the vehicle move: not entered while held.
MOVING = frozenset({LaunchStep.ARM, LaunchStep.TAKEOFF, LaunchStep.AUTO, LaunchStep.MISSION_START})


@dataclass
class _Job:
    """One list transfer of the UPLOAD / VERIFY steps."""

    mission_type: MissionType
    kind: str  # "upload", "clear", "legacy_fence", "download"
    items: list[MissionItem]
    offset: int = 0
    base: int = 0
    frames: FrameStyle = FrameStyle.AS_GIVEN


class LaunchSequence:
    """See the module docstring. ``error`` holds the exception when ``step`` is FAILED."""

    def __init__(self, link: DroneLink, mission: Mission | None, *, upload: bool = True,
                 verify: bool = True, start: bool = False, progress: Progress | None = None,
                 legacy_items: bool = False, takeoff_alt_m: float | None = None,
                 ready_timeout_s: float = 60.0, takeoff_timeout_s: float = 60.0,
                 use_mission_start: bool = False, airborne_alt_m: float = 1.0,
                 capabilities_timeout_s: float = 5.0) -> None:
        self.link = link
        self.mission = mission
        self.do_upload, self.do_verify, self.do_start = upload, verify and upload, start
        self._progress = progress
        self.legacy_items = legacy_items
        self.takeoff_alt_m = takeoff_alt_m
        self.ready_timeout_s = ready_timeout_s
        self.takeoff_timeout_s = takeoff_timeout_s
        self.use_mission_start = use_mission_start
        self.airborne_alt_m = airborne_alt_m
        self.capabilities_timeout_s = capabilities_timeout_s
        self.step: LaunchStep | None = None
        self.error: DroneLinkError | None = None
        self.reports: list[TransferReport] = []
        self.held = False
        self.upload_started = False  # a byte of the mission went out
        self._plan: list[LaunchStep] = []
        self._deadline = float("inf")
        self._tx = None
        self._jobs: list[_Job] = []
        self._job_t0 = 0.0
        self._downloaded: dict[MissionType, list[MissionItem]] = {}
        self._retry_at: float | None = None
        self._arm_deadline = float("inf")
        self._rearms = 0
        self._disarmed_since: float | None = None
        self._wait: tuple[Callable, str, float] | None = None

    # -- public --------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.step in FINAL

    @property
    def clock(self) -> Callable[[], float]:
        return self.link._clock

    def begin(self) -> LaunchSequence:
        self._plan = self._build_plan()
        self._next()
        return self

    def hold(self) -> None:
        """Do not start arming, take-off or AUTO until :meth:`release`."""
        self.held = True

    def release(self) -> None:
        self.held = False

    def cancel(self) -> None:
        """Stop now: cancel a transfer or command in flight; step becomes CANCELLED."""
        if self.done:
            return
        self._stop_tx(cancel=True)
        logger.info("%s: launch cancelled in step %s", self.link.label,
                    self.step.name if self.step else "-")
        self.step = LaunchStep.CANCELLED

    def tick(self) -> LaunchStep | None:
        """Advance as far as the messages already received allow; never blocks."""
        if self.done or self.step is None:
            return self.step
        try:
            t = self.link.telemetry
            if t.last_heartbeat_s is not None and not self.link.link_ok():
                raise LinkLost(f"{self.link.label}: no heartbeat for "
                               f"{self.link.options.link_loss_s:g} s in step {self.step.value}")
            for _ in range(8):  # a few quick transitions per tick, bounded
                before = self.step
                self._poll()
                if self.done or self.step is before:
                    break
        except DroneLinkError as exc:
            self._stop_tx(cancel=True)
            self.error = exc
            logger.warning("%s: launch failed in step %s: %s", self.link.label,
                           self.step.value if self.step else "-", exc)
            self.step = LaunchStep.FAILED
        return self.step

    # -- plan --------------------------------------------------------------------------
    def _build_plan(self) -> list[LaunchStep]:
        plan: list[LaunchStep] = []
        if self.do_upload:
            plan += [LaunchStep.CAPABILITIES, LaunchStep.UPLOAD]
            if self.do_verify:
                plan.append(LaunchStep.VERIFY)
        if self.do_start:
            if self.link.family == "px4":
                plan += [LaunchStep.WAIT_READY, LaunchStep.ARM, LaunchStep.MISSION_START]
            elif self.use_mission_start:
                plan += [LaunchStep.WAIT_READY, LaunchStep.GUIDED, LaunchStep.ARM, LaunchStep.AUTO,
                         LaunchStep.MISSION_START]
            else:
                # Copter enters GUIDED only with a position estimate: EKF/GPS first.
                plan += [LaunchStep.WAIT_READY, LaunchStep.GUIDED, LaunchStep.ARM,
                         LaunchStep.TAKEOFF, LaunchStep.CLIMB, LaunchStep.AUTO]
        plan.append(LaunchStep.DONE)
        return plan

    def _next(self) -> None:
        if self._plan and self._plan[0] in MOVING and self.held:
            self.step = LaunchStep.HELD
            self._tx = None
            self._wait = None
            self._deadline = float("inf")
            return
        self.step = self._plan.pop(0)
        self._tx = None
        self._wait = None
        self._deadline = float("inf")
        getattr(self, f"_enter_{self.step.value}", lambda: None)()

    def _poll(self) -> None:
        assert self.step is not None
        if self.step in FINAL:
            return
        getattr(self, f"_poll_{self.step.value}")()

    # -- transactions --------------------------------------------------------------------
    def _start_tx(self, tx) -> None:
        self._tx = tx
        self.link.begin(tx)

    def _stop_tx(self, *, cancel: bool) -> None:
        tx = self._tx
        if tx is None:
            return
        if cancel and isinstance(tx, MissionUpload) and not tx.done:
            tx.cancel()
        self.link.end(tx)
        self._tx = None

    def _tx_done(self):
        tx = self._tx
        if tx is None or not tx.done:
            if tx is not None and self.clock() > self._deadline:
                self._stop_tx(cancel=True)
                raise MissionTransferError(Result.TIMEOUT, getattr(tx, "step", Step.IDLE),
                                           mission_type=int(getattr(tx, "mission_type", 0)),
                                           detail="overall deadline passed")
            return None
        self.link.end(tx)
        self._tx = None
        return tx

    def _command(self, command: int, *params: float, what: str) -> None:
        o = self.link.options
        tx = CommandTransaction(command, tuple(params), **self.link.command_kwargs())
        tx.what = what  # type: ignore[attr-defined]
        tx.texts_before = len(self.link.telemetry.status_texts)  # type: ignore[attr-defined]
        self._deadline = self.clock() + o.command_timeout_s * (o.command_retries + 2) \
            + tx.in_progress_timeout_s
        self._start_tx(tx)

    def _command_result(self) -> CommandResult | None:
        tx = self._tx
        if tx is None:
            return None
        if not tx.done and self.clock() <= self._deadline:
            return None
        self.link.end(tx)
        self._tx = None
        result = tx.result if tx.done else CommandResult.TIMEOUT
        if result is CommandResult.ACCEPTED:
            return result
        texts = self.link.telemetry.status_texts[tx.texts_before:]
        raise CommandRejected(tx.command, result, text=texts[-1].text if texts else "",
                              what=tx.what)

    def _wait_for(self, predicate: Callable, what: str, timeout_s: float) -> None:
        self._wait = (predicate, what, timeout_s)
        self._deadline = self.clock() + timeout_s

    def _waited(self) -> bool:
        assert self._wait is not None
        predicate, what, timeout_s = self._wait
        if predicate(self.link.telemetry):
            self._wait = None
            return True
        if self.clock() >= self._deadline:
            raise OperationTimeout(what, timeout_s)
        return False

    # -- CAPABILITIES ------------------------------------------------------------------
    def _enter_capabilities(self) -> None:
        self._boot_deadline = self.clock() + 30.0
        self._deadline = self.clock() + self.capabilities_timeout_s
        self._retry_at = None
        if self._capabilities_needed():
            self.link.request_capabilities()
            self._retry_at = self.clock() + 1.0

    def _capabilities_needed(self) -> bool:
        assert self.mission is not None
        return self.link.family == "ardupilot" and self.link.telemetry.capabilities is None

    def _booting(self) -> bool:
        """ArduPilot loses a mission written during its init (measured on ArduCopter 3.6
        SITL: uploaded while "Calibrating barometer", gone after): wait for a heartbeat
        that says STANDBY (or any state while armed) as a ground station should."""
        t = self.link.telemetry
        return not t.armed and t.system_status in ("UNINIT", "BOOT", "CALIBRATING") or (
            self.link.family == "ardupilot" and not t.armed and t.system_status == "ACTIVE")

    def _poll_capabilities(self) -> None:
        if self._booting() and self.clock() < self._boot_deadline:
            return
        if not self._capabilities_needed() or self.clock() >= self._deadline:
            if self.link.telemetry.capabilities is None and self.link.family == "ardupilot":
                logger.info("%s: no AUTOPILOT_VERSION; assuming mission-protocol fence/rally",
                            self.link.label)
            self._next()
            return
        if self._retry_at is not None and self.clock() >= self._retry_at:
            self.link.request_capabilities()
            self._retry_at = self.clock() + 1.0

    def _mission_fence_supported(self) -> bool:
        caps = self.link.telemetry.capabilities
        return caps is None or self.link.family != "ardupilot" or bool(caps & CAP_MISSION_FENCE)

    def _mission_rally_supported(self) -> bool:
        caps = self.link.telemetry.capabilities
        return caps is None or self.link.family != "ardupilot" or bool(caps & CAP_MISSION_RALLY)

    def _may_clear(self) -> bool:
        """Clear empty fence/rally lists only where the capability is known: ArduPilot
        before 4.0 ignores ``mission_type`` in MISSION_CLEAR_ALL and would clear the
        flight plan just uploaded."""
        return self.link.family != "ardupilot" or self.link.telemetry.capabilities is not None

    # -- UPLOAD ------------------------------------------------------------------------
    def _enter_upload(self) -> None:
        mission = self.mission
        assert mission is not None
        link = self.link
        link.seq_offset = 1 if link.family == "ardupilot" else 0
        legacy_fence = None
        if not self._mission_fence_supported() and mission.fence:
            try:
                legacy_fence = legacy_fence_plan(mission.fence)
            except LegacyFenceUnsupported as exc:
                raise MissionTransferError(Result.UNSUPPORTED, Step.IDLE, mission_type=1,
                                           detail=str(exc)) from None
        if not self._mission_rally_supported() and mission.rally:
            raise MissionTransferError(Result.UNSUPPORTED, Step.IDLE, mission_type=2,
                                       detail="rally points need ArduPilot 4.0+ (no mission-protocol rally)")
        jobs: list[_Job] = []
        base = 0
        wire = list(mission.items)
        offset = 0
        if link.seq_offset:
            wire, offset = [link.home_item(mission)] + wire, 1
        jobs.append(_Job(MissionType.MISSION, "upload", wire, offset, base))
        base += len(mission.items)
        if legacy_fence is not None:
            jobs.append(_Job(MissionType.FENCE, "legacy_fence", list(mission.fence), 0, base))
        elif mission.fence:
            jobs.append(_Job(MissionType.FENCE, "upload", list(mission.fence), 0, base))
        elif self._mission_fence_supported() and self._may_clear():
            jobs.append(_Job(MissionType.FENCE, "clear", []))
        base += len(mission.fence)
        if mission.rally:
            jobs.append(_Job(MissionType.RALLY, "upload", list(mission.rally), 0, base))
        elif self._mission_rally_supported() and self._may_clear():
            jobs.append(_Job(MissionType.RALLY, "clear", []))
        self._jobs = jobs
        self._total = len(mission.items) + len(mission.fence) + len(mission.rally)
        self.upload_started = True
        self._start_job()

    def _start_job(self) -> None:
        job = self._jobs[0]
        kw = self.link.tx_kwargs(job.mission_type)
        n = max(1, len(job.items))
        self._deadline = self.clock() + self.link.overall_timeout_s(n if job.kind != "download" else 2000)
        self._job_t0 = self.clock()
        if job.kind == "upload":
            def _p(done: int, _n: int, _job=job) -> None:
                if self._progress is not None:
                    self._progress(_job.base + max(0, done - _job.offset), self._total)
            tx = MissionUpload(job.items, legacy_items=self.legacy_items, frames=job.frames,
                               progress=_p, **kw)
        elif job.kind == "clear":
            tx = MissionClear(**kw)
        elif job.kind == "legacy_fence":
            tx = LegacyFenceUpload(legacy_fence_plan(job.items), **kw)
        else:
            tx = MissionDownload(legacy_items=self.legacy_items, **kw)
        self._start_tx(tx)

    def _poll_upload(self) -> None:
        tx = self._tx_done()
        if tx is None:
            return
        job = self._jobs[0]
        if (job.kind == "upload" and tx.result is Result.UNSUPPORTED_FRAME
                and job.frames is FrameStyle.AS_GIVEN):
            logger.warning("%s: vehicle rejected *_INT frames; uploading with float frames",
                           self.link.label)
            job.frames = FrameStyle.FLOAT_FAMILY
            self._start_job()
            return
        if tx.result is Result.REQUEST_STORM:
            raise RequestStorm(tx.result, tx.step, mission_type=int(job.mission_type), detail=tx.detail)
        if tx.result is not Result.SUCCESS:
            raise MissionTransferError(tx.result or Result.TIMEOUT, tx.step,
                                       mission_type=int(job.mission_type), detail=tx.detail)
        if job.kind in ("upload", "legacy_fence"):
            self.reports.append(self.link.transfer_report(
                job.mission_type, len(job.items), self.clock() - self._job_t0,
                getattr(tx, "resends_total", 0), getattr(tx, "legacy_requests_seen", 0),
                self.legacy_items, job.frames))
        self._jobs.pop(0)
        if self._jobs:
            self._start_job()
            return
        if self._progress is not None:
            self._progress(self._total, self._total)
        self.link.uploaded = self.mission
        self.link.tracker.reset_mission_progress()
        self.link._final_landing = False
        self._next()

    # -- VERIFY ------------------------------------------------------------------------
    def _enter_verify(self) -> None:
        mission = self.mission
        assert mission is not None
        self._downloaded = {}
        self._jobs = [_Job(MissionType.MISSION, "download", [])]
        # The legacy fence was read back point by point; unknown capabilities: only lists sent.
        if self._mission_fence_supported() and (self._may_clear() or mission.fence):
            self._jobs.append(_Job(MissionType.FENCE, "download", []))
        if self._mission_rally_supported() and (self._may_clear() or mission.rally):
            self._jobs.append(_Job(MissionType.RALLY, "download", []))
        self._start_job()

    def _poll_verify(self) -> None:
        tx = self._tx_done()
        if tx is None:
            return
        job = self._jobs.pop(0)
        if tx.result is not Result.SUCCESS:
            raise MissionTransferError(tx.result or Result.TIMEOUT, tx.step,
                                       mission_type=int(job.mission_type), detail=tx.detail)
        self._downloaded[job.mission_type] = list(tx.items)
        if self._jobs:
            self._start_job()
            return
        self.link.verified = self.compare(self._downloaded)
        self._next()

    def compare(self, downloaded: dict[MissionType, list[MissionItem]]) -> Mission:
        """Compare read-back lists with the mission; :class:`MissionMismatch` on a real difference."""
        mission = self.mission
        assert mission is not None
        items = downloaded.get(MissionType.MISSION, [])
        home = None
        if self.link.family == "ardupilot" and items:
            home, items = items[0], items[1:]
        back = Mission(items=items, fence=downloaded.get(MissionType.FENCE, list(mission.fence)),
                       rally=downloaded.get(MissionType.RALLY, list(mission.rally)))
        if home is not None and (home.lat_deg or home.lon_deg):
            back.home_lat_deg, back.home_lon_deg, back.home_alt_amsl_m = home.lat_deg, home.lon_deg, home.alt_m
        tol = 2e-5 if self.legacy_items else 1.5e-7  # float32 lat/lon in legacy MISSION_ITEM
        for mtype in MissionType:
            diffs = compare_lists(mission.items_of(mtype), back.items_of(mtype), mission_type=mtype,
                                  family=self.link.family, latlon_tol_deg=tol)
            if diffs:
                d = diffs[0]
                more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
                if d.field == "count":
                    reason = f"{d.got} item(s) on the vehicle, {d.sent} sent"
                else:
                    reason = f"field {d.field}: sent {d.sent!r}, vehicle has {d.got!r}{more}"
                raise MissionMismatch(int(mtype), d.index, reason)
        logger.info("%s: verified %d mission, %d fence, %d rally item(s)", self.link.label,
                    len(mission.items), len(mission.fence), len(mission.rally))
        return back

    # -- start -------------------------------------------------------------------------
    def _mode_step(self, name: str) -> None:
        o = self.link.options
        tx = self.link.mode_tx(name)
        tx.what = f"mode {name}"  # type: ignore[attr-defined]
        tx.texts_before = len(self.link.telemetry.status_texts)  # type: ignore[attr-defined]
        self._deadline = self.clock() + o.command_timeout_s * (o.command_retries + 2) \
            + tx.in_progress_timeout_s
        self._start_tx(tx)
        self._mode_wanted = name

    def _poll_mode(self) -> None:
        if self._tx is not None:
            if self._command_result() is None:
                return
            self._wait_for(lambda t: t.mode == self._mode_wanted, f"mode {self._mode_wanted}",
                           self.link.options.mode_confirm_timeout_s)
        if self._waited():
            self._next()

    def _enter_guided(self) -> None:
        self._mode_step("GUIDED")

    _poll_guided = _poll_mode

    def _enter_auto(self) -> None:
        self._mode_step(self.link.intent_mode("mission"))

    _poll_auto = _poll_mode

    def _enter_wait_ready(self) -> None:
        self._wait_for(lambda t: t.ready_to_arm, "vehicle ready to arm (EKF, GPS, pre-arm checks)",
                       self.ready_timeout_s)
        self._arm_deadline = self.clock() + self.ready_timeout_s

    def _poll_wait_ready(self) -> None:
        if self._waited():
            self._next()

    def _enter_arm(self) -> None:
        self._retry_at = None
        self._command(MavCmd.COMPONENT_ARM_DISARM, 1.0, 0.0, what="arm")

    def _poll_arm(self) -> None:
        if self._retry_at is not None:
            if self.clock() >= self._retry_at:
                self._enter_arm()
            return
        if self._tx is not None:
            try:
                if self._command_result() is None:
                    return
            except CommandRejected as exc:
                if self.clock() >= self._arm_deadline or exc.result not in (
                        CommandResult.FAILED, CommandResult.TEMPORARILY_REJECTED):
                    raise
                logger.info("%s: arming refused (%s), retrying", self.link.label, exc.text)
                self._retry_at = self.clock() + 1.0
                return
            if self._plan and self._plan[0] is LaunchStep.TAKEOFF and not self.held:
                # Copter disarms a landed vehicle that does not take off soon after arming
                # (measured on the 3.6 SITL: "Disarming motors" 20-150 ms after "Arming
                # motors"); take off on the ACK, as QGroundControl does, not a heartbeat later.
                self._next()
                return
            # Arming is acknowledged before the heartbeat shows it; a loaded SITL (or a slow
            # radio) needs more than a mode change's 3 s here.
            self._wait_for(lambda t: t.armed, "armed", max(10.0, self.link.options.mode_confirm_timeout_s))
        if self._waited():
            self._next()

    def _takeoff_alt(self) -> float:
        if self.takeoff_alt_m is not None:
            return self.takeoff_alt_m
        up = self.link.uploaded
        first = up.items[0] if up and up.items else None
        if first is not None and first.command == Cmd.NAV_TAKEOFF and first.alt_m > 0:
            return first.alt_m
        return 10.0

    def _enter_takeoff(self) -> None:
        alt = self._takeoff_alt()
        if not 0 < alt <= 1000:
            raise MissionTransferError(Result.INVALID, Step.IDLE,
                                       detail=f"takeoff altitude must be in (0, 1000] m, got {alt}")
        self._command(MavCmd.NAV_TAKEOFF, 0, 0, 0, float("nan"), 0, 0, float(alt),
                      what=f"takeoff to {alt:g} m")

    def _poll_takeoff(self) -> None:
        try:
            if self._command_result() is None:
                return
        except CommandRejected as exc:
            if self.link.telemetry.armed or self.clock() >= self._arm_deadline:
                raise
            logger.info("%s: takeoff refused while disarmed (%s); arming again", self.link.label,
                        exc.result.name.lower())
            self._plan.insert(0, LaunchStep.TAKEOFF)
            self.step = LaunchStep.ARM
            self._enter_arm()
            return
        self._next()

    def _enter_climb(self) -> None:
        self._disarmed_since = None
        alt = self._takeoff_alt()
        target = min(self.airborne_alt_m, alt * 0.5)
        self._wait_for(lambda t: (t.alt_rel_m or 0.0) >= target, "airborne after takeoff",
                       self.takeoff_timeout_s)

    def _poll_climb(self) -> None:
        if self._waited():
            self._next()
            return
        t = self.link.telemetry
        if t.armed or (t.alt_rel_m or 0.0) > 0.5:
            self._disarmed_since = None
            return
        # Disarmed on the ground after an accepted take-off: Copter's landed auto-disarm (or
        # its throttle failsafe) won the race against the take-off (seen on the 3.6 SITL
        # under load). Arm and take off again while the ready deadline lasts.
        self._disarmed_since = self._disarmed_since or self.clock()
        if self.clock() - self._disarmed_since < 1.5 or self._rearms >= 3 \
                or self.clock() >= self._arm_deadline:
            return
        self._rearms += 1
        logger.info("%s: disarmed on the ground after take-off; arming again (%d)", self.link.label,
                    self._rearms)
        self._plan[0:0] = [LaunchStep.TAKEOFF, LaunchStep.CLIMB]
        self.step = LaunchStep.ARM
        self._wait = None
        self._enter_arm()

    def _enter_mission_start(self) -> None:
        self._command(MavCmd.MISSION_START, 0, 0, what="mission start")

    def _poll_mission_start(self) -> None:
        if self._command_result() is not None:
            self._next()

    def _poll_held(self) -> None:
        if not self.held:
            self._next()
