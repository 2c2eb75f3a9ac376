"""A simulated ArduCopter speaking MAVLink 2 over UDP, run on a thread or as a process.

It sends to the GCS's UDP port (the GCS listens, ``udpin``) and serves the mission,
fence and rally protocols (:mod:`drone_link.sim.mission_server`), arming checks (GPS and
EKF ready after ``boot_s``), Copter modes (STABILIZE, GUIDED, AUTO, LOITER, RTL, LAND,
BRAKE), takeoff, missions flown with :class:`~drone_link.sim.kinematics.Kinematics`,
MISSION_CURRENT / MISSION_ITEM_REACHED, battery drain and failsafes (RTL on low
battery, lost GCS heartbeat or a fence breach; LAND on critical battery).

    sim = SimVehicle(SimConfig(port=14550, speedup=10)); sim.start(); ...; sim.stop()
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

from drone_link.link._mav import (
    MAV_AUTOPILOT_ARDUPILOTMEGA,
    MAV_AUTOPILOT_PX4,
    MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
    MAV_MODE_FLAG_SAFETY_ARMED,
    MAV_SYS_STATUS_PREARM_CHECK,
    MAV_SYS_STATUS_SENSOR_GPS,
    MAV_TYPE_GCS,
    MAV_TYPE_QUADROTOR,
    mavlink2,
)
from drone_link.link.commands import CopterMode, MavCmd, mode_number
from drone_link.link.commands import mode_name as mode_name_of
from drone_link.mission import Cmd, Frame, MissionItem, MissionType
from drone_link.sim.config import SimConfig
from drone_link.sim.fence import Fence
from drone_link.sim.kinematics import Kinematics
from drone_link.sim.mission_server import MissionServer
from drone_link.sim.transport import SimTransport

logger = logging.getLogger(__name__)

SUPPORTED_MODES = {CopterMode.STABILIZE, CopterMode.GUIDED, CopterMode.AUTO, CopterMode.LOITER,
                   CopterMode.RTL, CopterMode.LAND, CopterMode.BRAKE}
ARMABLE_MODES = {CopterMode.STABILIZE, CopterMode.GUIDED, CopterMode.LOITER}
PX4_ARMABLE_MODES = SUPPORTED_MODES - {CopterMode.RTL, CopterMode.LAND}
# The PX4 flavour reports the same internal behaviours with PX4 names.
PX4_NAMES = {CopterMode.STABILIZE: "POSCTL", CopterMode.GUIDED: "AUTO.TAKEOFF",
             CopterMode.AUTO: "AUTO.MISSION", CopterMode.LOITER: "AUTO.LOITER",
             CopterMode.BRAKE: "AUTO.LOITER", CopterMode.RTL: "AUTO.RTL", CopterMode.LAND: "AUTO.LAND"}
PX4_FROM_NAME = {"POSCTL": CopterMode.STABILIZE, "AUTO.TAKEOFF": CopterMode.GUIDED,
                 "AUTO.MISSION": CopterMode.AUTO, "AUTO.LOITER": CopterMode.LOITER,
                 "AUTO.RTL": CopterMode.RTL, "AUTO.LAND": CopterMode.LAND}
MAV_RESULT_ACCEPTED, MAV_RESULT_DENIED, MAV_RESULT_UNSUPPORTED, MAV_RESULT_FAILED = 0, 2, 3, 4
SEV_CRITICAL, SEV_WARNING, SEV_INFO = 2, 4, 6
EKF_ALL_OK = 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x80 | 0x100 | 0x200
FORCE_MAGIC = 21196
# MAV_PROTOCOL_CAPABILITY of a current ArduPilot/PX4: MISSION_FLOAT|PARAM_FLOAT|MISSION_INT|
# COMMAND_INT|MAVLINK2|MISSION_FENCE|MISSION_RALLY
SIM_CAPABILITIES = 1 | 2 | 4 | 8 | (1 << 13) | (1 << 14) | (1 << 15)
MAX_SUBSTEP_S = 0.05


@dataclass
class SimEvents:
    """What happened, for tests and logs (sequences in vehicle numbering)."""

    reached: list[int] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    failsafes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


class _RtlPhase:
    CLIMB, RETURN, DESCEND = "climb", "return", "descend"


class SimVehicle:
    """The simulated vehicle. ``start()`` runs it on a daemon thread; ``stop()`` ends it."""

    def __init__(self, config: SimConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = config
        self._clock = clock
        self.transport = SimTransport(host=config.host, port=config.port, sysid=config.sysid,
                                      loss=config.loss, latency_s=config.latency_s,
                                      signing_key=config.signing_key, seed=config.seed)
        req_timeout = max(config.request_timeout_s, 4 * config.latency_s)
        self.px4 = config.autopilot == "px4"
        self._first_seq = 0 if self.px4 else 1  # ArduPilot: item 0 is home
        self.missions = MissionServer(sysid=config.sysid, send=self._send, clock=clock,
                                      legacy=config.legacy, max_items=config.max_items,
                                      request_timeout_s=req_timeout,
                                      upload_timeout_s=config.upload_timeout_s,
                                      home=self._home_item, home_at_zero=not self.px4,
                                      request_int=self.px4 or config.request_int,
                                      normalise="px4" if self.px4 else "ardupilot",
                                      pace_s=config.mission_pace_s,
                                      on_change=self._mission_changed)
        from geo.crs import LocalFrame  # pyproj import is slow; only when a vehicle is made

        self._frame = LocalFrame.around(config.home_lat_deg, config.home_lon_deg)
        hx, hy = self._frame.to_xy_m(config.home_lat_deg, config.home_lon_deg)
        self._home_xy = (float(hx), float(hy))
        self.kin = Kinematics(accel_m_s2=config.accel_m_s2, climb_m_s=config.climb_m_s,
                              descent_m_s=config.descent_m_s)
        self.mode = CopterMode.STABILIZE
        self.armed = False
        self.sim_time_s = 0.0
        self._started_s = clock()
        self._init_pending = config.init_s > 0
        self.battery_pct = float(config.battery_pct)
        self.speed_m_s = config.cruise_speed_m_s
        self.events = SimEvents()
        # guided / auto state
        self._guided_alt_m: float | None = None
        self._hold_en: tuple[float, float] | None = None
        self._hold_alt_m: float | None = None
        self.current_seq = self._first_seq
        self._auto_started = False
        self._auto_paused = False
        self._item_state: dict = {}
        self._rtl_phase: str | None = None
        self._failsafe_battery = False
        self._failsafe_gcs = False
        self._last_gcs_hb_s: float | None = None
        self._photos = 0
        self.fence = Fence()
        self._fence_breached = False
        self._trigger_dist_m = 0.0
        self._last_trigger_odo_m = 0.0
        # streams (real time)
        self._next_s: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> SimVehicle:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"sim-drone-{self.cfg.sysid}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.transport.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def run(self, *, duration_s: float | None = None) -> None:
        """Main loop (blocking): I/O, physics in sub-steps of simulated time, telemetry."""
        last = self._clock()
        self._started_s = last
        end = None if duration_s is None else last + duration_s
        logger.info("sim sys%d: sending to udp %s:%d (speedup %g, loss %.0f %%%s%s)",
                    self.cfg.sysid, self.cfg.host, self.cfg.port, self.cfg.speedup,
                    self.cfg.loss * 100, ", legacy" if self.cfg.legacy else "",
                    ", signed" if self.cfg.signing_key else "")
        while not self._stop.is_set() and (end is None or self._clock() < end):
            now = self._clock()
            for msg in self.transport.poll(now, 0.01):
                with self._lock:
                    self._handle(msg, now)
            now = self._clock()
            with self._lock:
                self._finish_init()
                self.missions.tick(now)
                dt = (now - last) * self.cfg.speedup
                last = now
                while dt > 1e-9:
                    h = min(dt, MAX_SUBSTEP_S)
                    self._step(h, now)
                    dt -= h
                self._streams(now)

    # -- helpers -----------------------------------------------------------------------
    def _send(self, msg) -> None:
        self.transport.send(msg, self._clock())

    def _text(self, severity: int, text: str) -> None:
        self.events.texts.append(text)
        logger.info("sim sys%d: %s", self.cfg.sysid, text)
        self._send(mavlink2.MAVLink_statustext_message(severity, text.encode()[:50]))

    @property
    def initialising(self) -> bool:
        """Within ``init_s`` real seconds of start (ArduPilot's init: sensors, storage)."""
        return self._clock() - self._started_s < self.cfg.init_s

    def _finish_init(self) -> None:
        if self._init_pending and not self.initialising:
            self._init_pending = False
            if any(self.missions.lists.values()):
                logger.info("sim sys%d: init done: lists written during init are lost", self.cfg.sysid)
            for t in self.missions.lists:  # ArduCopter 3.6 loses what was uploaded during init
                self.missions.lists[t] = []
                self._mission_changed(t)

    @property
    def ready(self) -> bool:
        return self.sim_time_s >= self.cfg.boot_s

    @property
    def flying(self) -> bool:
        return self.armed and not self.kin.on_ground

    def _latlon(self) -> tuple[float, float]:
        lat, lon = self._frame.to_latlon(self._home_xy[0] + self.kin.e_m,
                                         self._home_xy[1] + self.kin.n_m)
        return float(lat), float(lon)

    def _en(self, lat: float, lon: float) -> tuple[float, float]:
        x, y = self._frame.to_xy_m(lat, lon)
        return float(x) - self._home_xy[0], float(y) - self._home_xy[1]

    def _home_item(self) -> MissionItem | None:
        if not self.ready:
            return None
        return MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL, self.cfg.home_lat_deg,
                           self.cfg.home_lon_deg, self.cfg.home_alt_amsl_m)

    def _mission_changed(self, mtype: MissionType) -> None:
        if mtype is MissionType.FENCE:
            self.fence = Fence.from_items(self.missions.lists[MissionType.FENCE], self._en)
            self._fence_breached = False
        if mtype is MissionType.MISSION:
            self.current_seq = self._first_seq
            self._item_state = {}

    def set_mode(self, mode: CopterMode, *, reason: str = "") -> bool:
        if mode not in SUPPORTED_MODES:
            return False
        if mode is CopterMode.AUTO and len(self.missions.lists[MissionType.MISSION]) <= self._first_seq:
            self._text(SEV_WARNING, "Mode change to AUTO failed: no mission")
            return False
        if mode is self.mode:
            return True
        self.mode = mode
        self.events.modes.append(mode.name)
        self._hold_en = (self.kin.e_m, self.kin.n_m)
        self._hold_alt_m = self.kin.alt_rel_m
        self._guided_alt_m = None
        self._rtl_phase = _RtlPhase.CLIMB if mode is CopterMode.RTL else None
        if mode is CopterMode.AUTO:
            self._auto_paused = False
            self._auto_started = self.flying
            self._item_state = {}
            if self.current_seq >= len(self.missions.lists[MissionType.MISSION]):
                self.current_seq = self._first_seq
        logger.info("sim sys%d: mode %s%s", self.cfg.sysid, mode.name, f" ({reason})" if reason else "")
        self._send_heartbeat()  # announce the change now rather than at the next 1 Hz beat
        return True

    # -- incoming ----------------------------------------------------------------------
    def _handle(self, msg, now: float) -> None:
        kind = msg.get_type()
        if kind == "HEARTBEAT":
            if msg.type == MAV_TYPE_GCS:
                self._last_gcs_hb_s = now
                if self._failsafe_gcs:
                    self._failsafe_gcs = False
                    self._text(SEV_INFO, "GCS Failsafe Cleared")
            return
        if self.missions.handle(msg):
            return
        if getattr(msg, "target_system", self.cfg.sysid) not in (0, self.cfg.sysid):
            return
        if kind == "COMMAND_LONG":
            result = self._command(int(msg.command), [msg.param1, msg.param2, msg.param3,
                                                      msg.param4, msg.param5, msg.param6,
                                                      msg.param7])
            self._send(mavlink2.MAVLink_command_ack_message(
                int(msg.command), result, 0, 0, msg.get_srcSystem(), msg.get_srcComponent()))
        elif kind == "SET_MODE":  # acknowledged with command = message id 11, as ArduPilot does
            ok = bool(msg.base_mode & MAV_MODE_FLAG_CUSTOM_MODE_ENABLED) \
                and self._set_mode_number(int(msg.custom_mode))
            self._send(mavlink2.MAVLink_command_ack_message(
                11, MAV_RESULT_ACCEPTED if ok else MAV_RESULT_FAILED, 0, 0,
                msg.get_srcSystem(), msg.get_srcComponent()))
        elif kind == "MISSION_SET_CURRENT":
            n = len(self.missions.lists[MissionType.MISSION])
            if self._first_seq <= msg.seq < n:
                self.current_seq = int(msg.seq)
                self._item_state = {}
            self._send_mission_current()

    def _set_mode_number(self, number: int) -> bool:
        if self.px4:
            mode = PX4_FROM_NAME.get(mode_name_of(MAV_AUTOPILOT_PX4, number))
            return mode is not None and self.set_mode(mode, reason="GCS")
        try:
            mode = CopterMode(number)
        except ValueError:
            return False
        return self.set_mode(mode, reason="GCS")

    @property
    def wire_mode(self) -> int:
        """HEARTBEAT custom_mode: ArduCopter number, or PX4 main/sub mode."""
        if self.px4:
            return mode_number(MAV_AUTOPILOT_PX4, PX4_NAMES[self.mode])
        return int(self.mode)

    @property
    def mode_name(self) -> str:
        return PX4_NAMES[self.mode] if self.px4 else self.mode.name

    def _command(self, cmd: int, p: list[float]) -> int:
        if cmd == MavCmd.COMPONENT_ARM_DISARM:
            return self._arm_disarm(arm=p[0] > 0.5, force=int(p[1]) == FORCE_MAGIC)
        if cmd == MavCmd.DO_SET_MODE:
            if not int(p[0]) & MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
                return MAV_RESULT_UNSUPPORTED
            number = (int(p[1]) << 16) | (int(p[2]) << 24) if self.px4 else int(p[1])
            return MAV_RESULT_ACCEPTED if self._set_mode_number(number) else MAV_RESULT_FAILED
        if cmd == MavCmd.NAV_TAKEOFF:
            alt = p[6]
            if self.px4 and self.armed and alt > 0:
                self.set_mode(CopterMode.GUIDED, reason="takeoff")  # PX4: AUTO.TAKEOFF
            if self.mode is not CopterMode.GUIDED or not self.armed or not alt > 0:
                return MAV_RESULT_FAILED
            self._guided_alt_m = float(alt)
            self._hold_en = (self.kin.e_m, self.kin.n_m)
            return MAV_RESULT_ACCEPTED
        if cmd == MavCmd.MISSION_START:
            if self.px4 and self.armed:
                self.set_mode(CopterMode.AUTO, reason="mission start")
            if self.mode is not CopterMode.AUTO or not self.armed:
                return MAV_RESULT_FAILED
            first = int(p[0])
            if max(1, self._first_seq) <= first < len(self.missions.lists[MissionType.MISSION]):
                self.current_seq = first
            self._auto_started = True
            self._auto_paused = False
            self._item_state = {}
            return MAV_RESULT_ACCEPTED
        if cmd == MavCmd.DO_PAUSE_CONTINUE and self.px4:  # PX4: pause = hold mode
            target = CopterMode.LOITER if p[0] < 0.5 else CopterMode.AUTO
            return MAV_RESULT_ACCEPTED if self.set_mode(target, reason="pause/continue") else MAV_RESULT_FAILED
        if cmd == MavCmd.DO_PAUSE_CONTINUE:
            if self.mode is not CopterMode.AUTO:
                return MAV_RESULT_FAILED
            self._auto_paused = p[0] < 0.5
            self._hold_en = (self.kin.e_m, self.kin.n_m)
            self._hold_alt_m = self.kin.alt_rel_m
            return MAV_RESULT_ACCEPTED
        if cmd == MavCmd.NAV_RETURN_TO_LAUNCH:
            return MAV_RESULT_ACCEPTED if self.set_mode(CopterMode.RTL) else MAV_RESULT_FAILED
        if cmd == MavCmd.NAV_LAND:
            return MAV_RESULT_ACCEPTED if self.set_mode(CopterMode.LAND) else MAV_RESULT_FAILED
        if cmd in (410, MavCmd.REQUEST_MESSAGE):  # GET_HOME_POSITION, REQUEST_MESSAGE
            if cmd == MavCmd.REQUEST_MESSAGE and int(p[0]) != 242:
                return MAV_RESULT_UNSUPPORTED
            if not self.ready:
                return MAV_RESULT_FAILED
            self._send_home()
            return MAV_RESULT_ACCEPTED
        if cmd == 511:  # SET_MESSAGE_INTERVAL: rates are fixed in this sim
            return MAV_RESULT_ACCEPTED
        if cmd == 520:  # REQUEST_AUTOPILOT_CAPABILITIES -> AUTOPILOT_VERSION
            self._send(mavlink2.MAVLink_autopilot_version_message(
                SIM_CAPABILITIES, 0x04050000, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0, 0))
            return MAV_RESULT_ACCEPTED
        return MAV_RESULT_UNSUPPORTED

    def _arm_disarm(self, *, arm: bool, force: bool) -> int:
        if not arm:
            if not self.armed:
                return MAV_RESULT_ACCEPTED
            if self.flying and not force:
                self._text(SEV_CRITICAL, "Disarm: vehicle is flying")
                return MAV_RESULT_FAILED
            self._disarm("GCS")
            return MAV_RESULT_ACCEPTED
        if self.armed:
            return MAV_RESULT_ACCEPTED
        if not force:
            if not self.ready:
                self._text(SEV_CRITICAL, "PreArm: EKF attitude is bad" if self.sim_time_s < self.cfg.boot_s / 2
                           else "PreArm: Need 3D Fix")
                return MAV_RESULT_FAILED
            if self.mode not in (PX4_ARMABLE_MODES if self.px4 else ARMABLE_MODES):
                self._text(SEV_CRITICAL, "Arm: Mode not armable")
                return MAV_RESULT_FAILED
            if self.battery_pct <= self.cfg.low_battery_pct:
                self._text(SEV_CRITICAL, "PreArm: Battery below minimum")
                return MAV_RESULT_FAILED
        self.armed = True
        self._failsafe_battery = False
        self._text(SEV_INFO, "Arming motors")
        self._send_heartbeat()
        return MAV_RESULT_ACCEPTED

    def _disarm(self, why: str) -> None:
        self.armed = False
        self._auto_started = False
        self._guided_alt_m = None
        self.kin.ve_m_s = self.kin.vn_m_s = self.kin.vu_m_s = 0.0
        if self.kin.alt_rel_m < 0.1:
            self.kin.alt_rel_m = 0.0  # settled on the ground
        self._text(SEV_INFO, f"Disarming motors ({why})")
        self._send_heartbeat()

    # -- simulation step ---------------------------------------------------------------
    def _step(self, dt: float, now: float) -> None:
        self.sim_time_s += dt
        self._battery(dt)
        self._failsafes(now)
        if not self.armed:
            return
        speed = self.speed_m_s
        target_en: tuple[float, float] | None = self._hold_en
        target_alt = self._hold_alt_m if self.flying else 0.0
        vspeed = None
        mode = self.mode
        if mode is CopterMode.GUIDED:
            if self._guided_alt_m is not None:
                target_alt = self._guided_alt_m
        elif mode is CopterMode.BRAKE:
            target_en, target_alt = None, self._hold_alt_m if self.flying else 0.0
        elif mode is CopterMode.LAND:
            target_en, target_alt, vspeed = self._hold_en, -1.0, self.cfg.descent_m_s
        elif mode is CopterMode.RTL:
            target_en, target_alt, vspeed = self._rtl_targets()
        elif mode is CopterMode.AUTO:
            target_en, target_alt, speed, vspeed = self._auto_targets(target_en, target_alt)
        elif mode is CopterMode.STABILIZE and not self.flying:
            target_alt = 0.0
        self.kin.step(dt, target_en_m=target_en, target_alt_m=target_alt, speed_m_s=speed,
                      vertical_speed_m_s=vspeed)
        self._camera()
        landing_in_auto = mode is CopterMode.AUTO and self._item_state.get("landing", False)
        if (mode in (CopterMode.LAND, CopterMode.RTL) or landing_in_auto) and self.kin.on_ground:
            if landing_in_auto:
                self._advance(self.current_seq)  # the RTL / LAND item completes on touchdown
            self._disarm("landed")

    def _rtl_targets(self):
        home = (0.0, 0.0)
        if self._rtl_phase == _RtlPhase.CLIMB:
            rtl_alt = max(self.cfg.rtl_alt_m, self._hold_alt_m or 0.0)
            if self.kin.alt_rel_m >= rtl_alt - 0.5:
                self._rtl_phase = _RtlPhase.RETURN
            return self._hold_en, rtl_alt, None
        if self._rtl_phase == _RtlPhase.RETURN:
            alt = max(self.cfg.rtl_alt_m, self._hold_alt_m or 0.0)
            if self.kin.horizontal_distance_m(*home) < self.cfg.wp_radius_m and self.kin.ground_speed_m_s < 1.0:
                self._rtl_phase = _RtlPhase.DESCEND
            return home, alt, None
        return home, -1.0, self.cfg.descent_m_s

    def _auto_targets(self, hold_en, hold_alt):
        """Run the mission executor; returns (target_en, target_alt, speed, vspeed)."""
        items = self.missions.lists[MissionType.MISSION]
        if not self._auto_started or self._auto_paused or self.current_seq >= len(items):
            return hold_en, (hold_alt if self.flying else 0.0), self.speed_m_s, None
        seq = self.current_seq
        item = items[seq]
        st = self._item_state
        cmd = int(item.command)
        if cmd == Cmd.NAV_TAKEOFF:
            alt = self._alt_rel(item)
            if self.kin.alt_rel_m >= alt - 0.5:
                return self._advance(seq)
            return st.setdefault("en", (self.kin.e_m, self.kin.n_m)), alt, self.speed_m_s, None
        if cmd in (Cmd.NAV_WAYPOINT, Cmd.NAV_LOITER_UNLIM):
            if "en" not in st:
                st["en"] = self._item_en(item)
            alt = self._alt_rel(item)
            d = math.hypot(self.kin.horizontal_distance_m(*st["en"]), self.kin.alt_rel_m - alt)
            if "arrived_s" not in st and d <= self.cfg.wp_radius_m:
                st["arrived_s"] = self.sim_time_s
            if "arrived_s" in st and cmd == Cmd.NAV_WAYPOINT \
                    and self.sim_time_s - st["arrived_s"] >= max(0.0, item.param1):
                return self._advance(seq)
            return st["en"], alt, self.speed_m_s, None
        if cmd == Cmd.NAV_RETURN_TO_LAUNCH:
            if "phase" not in st:
                st["phase"] = _RtlPhase.CLIMB
            self._rtl_phase = st["phase"]
            self._hold_alt_m = max(self._hold_alt_m or 0.0, self.kin.alt_rel_m)
            en, alt, vs = self._rtl_targets()
            st["phase"] = self._rtl_phase
            if self._rtl_phase == _RtlPhase.DESCEND:
                st["landing"] = True
            return en, alt, self.speed_m_s, vs
        if cmd == Cmd.NAV_LAND:
            if "en" not in st:
                st["en"] = self._item_en(item)
            if self.kin.horizontal_distance_m(*st["en"]) > self.cfg.wp_radius_m:
                return st["en"], self.kin.alt_rel_m, self.speed_m_s, None
            st["landing"] = True
            return st["en"], -1.0, self.speed_m_s, self.cfg.descent_m_s
        # DO_ / CONDITION_ commands: act and move on at once
        if cmd == Cmd.DO_CHANGE_SPEED and item.param2 > 0:
            self.speed_m_s = float(item.param2)
        elif cmd == Cmd.DO_SET_CAM_TRIGG_DIST:
            self._trigger_dist_m = max(0.0, float(item.param1))
            self._last_trigger_odo_m = self.kin.odometer_m
        return self._advance(seq)

    def _advance(self, seq: int):
        self.events.reached.append(seq)
        self._send(mavlink2.MAVLink_mission_item_reached_message(seq))
        self.current_seq = seq + 1
        self._item_state = {}
        self._hold_en = (self.kin.e_m, self.kin.n_m)
        self._hold_alt_m = self.kin.alt_rel_m
        if self.current_seq >= len(self.missions.lists[MissionType.MISSION]):
            self._text(SEV_INFO, f"Mission: {seq} complete")
        self._send_mission_current()
        return self._hold_en, (self._hold_alt_m if self.flying else 0.0), self.speed_m_s, None

    def _item_en(self, item: MissionItem) -> tuple[float, float]:
        if item.lat_deg == 0.0 and item.lon_deg == 0.0:
            return self.kin.e_m, self.kin.n_m
        return self._en(item.lat_deg, item.lon_deg)

    def _alt_rel(self, item: MissionItem) -> float:
        if int(item.frame) in (Frame.GLOBAL, Frame.GLOBAL_INT):
            return item.alt_m - self.cfg.home_alt_amsl_m
        return item.alt_m

    def _camera(self) -> None:
        if self._trigger_dist_m > 0 and self.kin.odometer_m - self._last_trigger_odo_m >= self._trigger_dist_m:
            self._photos += 1
            self._last_trigger_odo_m = self.kin.odometer_m

    def _battery(self, dt: float) -> None:
        if not self.armed:
            return
        per_s = 100.0 / (self.cfg.battery_minutes * 60.0)
        load = 0.25 if self.kin.on_ground else 1.0 + 0.3 * self.kin.ground_speed_m_s / self.cfg.cruise_speed_m_s
        self.battery_pct = max(0.0, self.battery_pct - per_s * load * dt)

    def _failsafes(self, now: float) -> None:
        if not self.flying:
            return
        if self.battery_pct <= self.cfg.critical_battery_pct and self.mode is not CopterMode.LAND:
            self.events.failsafes.append("battery_critical")
            self._text(SEV_CRITICAL, "Battery failsafe: critical - LAND")
            self.set_mode(CopterMode.LAND, reason="battery critical")
            return
        if (self.battery_pct <= self.cfg.low_battery_pct and not self._failsafe_battery
                and self.mode not in (CopterMode.RTL, CopterMode.LAND)):
            self._failsafe_battery = True
            self.events.failsafes.append("battery_low")
            self._text(SEV_CRITICAL, "Battery failsafe: low - RTL")
            self.set_mode(CopterMode.RTL, reason="battery low")
            return
        if self.fence.enabled and not self._fence_breached and self.mode not in (CopterMode.RTL, CopterMode.LAND):
            why = self.fence.breach(self.kin.e_m, self.kin.n_m)
            if why:
                self._fence_breached = True
                self.events.failsafes.append("fence")
                self._text(SEV_CRITICAL, f"Fence breach ({why}) - RTL")
                self.set_mode(CopterMode.RTL, reason="fence breach")
                return
        if (self.cfg.gcs_failsafe_s > 0 and self._last_gcs_hb_s is not None and not self._failsafe_gcs
                and now - self._last_gcs_hb_s > self.cfg.gcs_failsafe_s
                and self.mode not in (CopterMode.RTL, CopterMode.LAND)):
            self._failsafe_gcs = True
            self.events.failsafes.append("gcs_lost")
            self._text(SEV_CRITICAL, "GCS Failsafe - RTL")
            self.set_mode(CopterMode.RTL, reason="GCS lost")

    # -- telemetry ---------------------------------------------------------------------
    def _due(self, name: str, period_s: float, now: float) -> bool:
        if now >= self._next_s.get(name, 0.0):
            self._next_s[name] = now + period_s
            return True
        return False

    def _streams(self, now: float) -> None:
        if self._due("hb", 1.0, now):
            self._send_heartbeat()
        if self._due("status", 0.5, now):
            self._send_status()
            self._send_mission_current()
        if self._due("pos", 1.0 / self.cfg.stream_hz, now):
            self._send_position()
        if self.ready and self._due("home", 5.0, now):
            self._send_home()

    def _send_heartbeat(self) -> None:
        base = MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (MAV_MODE_FLAG_SAFETY_ARMED if self.armed else 0)
        state = 4 if self.armed else 3  # ACTIVE / STANDBY
        if self.initialising:
            state = 1  # BOOT: as ArduPilot during its init, a mission written now is lost
        if self._failsafe_battery or self._failsafe_gcs:
            state = 5  # CRITICAL
        autopilot = MAV_AUTOPILOT_PX4 if self.px4 else MAV_AUTOPILOT_ARDUPILOTMEGA
        self._send(mavlink2.MAVLink_heartbeat_message(MAV_TYPE_QUADROTOR, autopilot,
                                                      base, self.wire_mode, state, 3))

    def _send_status(self) -> None:
        sensors = MAV_SYS_STATUS_PREARM_CHECK | MAV_SYS_STATUS_SENSOR_GPS | 0x1 | 0x2 | 0x4 | 0x8
        health = sensors if self.ready else (sensors & ~(MAV_SYS_STATUS_PREARM_CHECK | MAV_SYS_STATUS_SENSOR_GPS))
        volts_mv = int((13.2 + 3.6 * self.battery_pct / 100.0) * 1000)
        current_ca = (1500 if self.flying else 50 if self.armed else 0)
        remaining = round(self.battery_pct)
        self._send(mavlink2.MAVLink_sys_status_message(sensors, sensors, health, 200, volts_mv,
                                                       current_ca, remaining, 0, 0, 0, 0, 0, 0))
        self._send(mavlink2.MAVLink_battery_status_message(
            0, 1, 2, 2500, [volts_mv // 4] * 4 + [65535] * 6, current_ca, -1, -1, remaining))
        lat, lon = self._latlon()
        fix = 3 if self.ready else 1
        self._send(mavlink2.MAVLink_gps_raw_int_message(
            int(self.sim_time_s * 1e6), fix, int(lat * 1e7), int(lon * 1e7),
            int((self.cfg.home_alt_amsl_m + self.kin.alt_rel_m) * 1000), 80, 120,
            int(self.kin.ground_speed_m_s * 100), int(self.kin.yaw_deg * 100) % 36000,
            14 if self.ready else 3))
        flags = EKF_ALL_OK if self.ready else (0x01 if self.sim_time_s >= self.cfg.boot_s / 2 else 0)
        self._send(mavlink2.MAVLink_ekf_status_report_message(flags, 0.1, 0.1, 0.1, 0.1, 0.0))

    def _send_position(self) -> None:
        lat, lon = self._latlon()
        k = self.kin
        t_ms = int(self.sim_time_s * 1000) & 0xFFFFFFFF
        self._send(mavlink2.MAVLink_global_position_int_message(
            t_ms, int(lat * 1e7), int(lon * 1e7),
            int((self.cfg.home_alt_amsl_m + k.alt_rel_m) * 1000), int(k.alt_rel_m * 1000),
            int(k.vn_m_s * 100), int(k.ve_m_s * 100), int(-k.vu_m_s * 100),
            int(k.yaw_deg * 100) % 36000))
        self._send(mavlink2.MAVLink_attitude_message(
            t_ms, math.radians(k.roll_deg), math.radians(k.pitch_deg),
            math.radians((k.yaw_deg + 180.0) % 360.0 - 180.0), 0.0, 0.0, 0.0))

    def _send_mission_current(self) -> None:
        n = len(self.missions.lists[MissionType.MISSION])
        # MISSION_STATE: 1 no mission, 2 not started, 3 active, 5 complete
        if n <= self._first_seq:
            state = 1
        elif self.current_seq >= n:
            state = 5
        else:
            state = 3 if self._auto_started else 2
        self._send(mavlink2.MAVLink_mission_current_message(min(self.current_seq, max(n - 1, 0)),
                                                            n, state, 0))

    def _send_home(self) -> None:
        self._send(mavlink2.MAVLink_home_position_message(
            int(self.cfg.home_lat_deg * 1e7), int(self.cfg.home_lon_deg * 1e7),
            int(self.cfg.home_alt_amsl_m * 1000), 0.0, 0.0, 0.0, [1.0, 0.0, 0.0, 0.0],
            0.0, 0.0, 0.0))

    # -- for tests / CLI ---------------------------------------------------------------
    @property
    def photos(self) -> int:
        return self._photos

    def snapshot(self) -> dict:
        """A consistent read of the main state (for logs and tests)."""
        with self._lock:
            return {"mode": self.mode_name, "armed": self.armed, "alt_rel_m": self.kin.alt_rel_m,
                    "battery_pct": self.battery_pct, "current_seq": self.current_seq,
                    "reached": list(self.events.reached), "failsafes": list(self.events.failsafes),
                    "sim_time_s": self.sim_time_s, "e_m": self.kin.e_m, "n_m": self.kin.n_m}
