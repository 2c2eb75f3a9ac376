"""Typed telemetry record of one vehicle, updated from received messages.

:class:`TelemetryTracker` folds HEARTBEAT, GLOBAL_POSITION_INT, ATTITUDE, SYS_STATUS,
BATTERY_STATUS, GPS_RAW_INT, EKF_STATUS_REPORT, HOME_POSITION, MISSION_CURRENT,
MISSION_ITEM_REACHED and STATUSTEXT into a :class:`Telemetry` snapshot; times are the
caller's monotonic clock so link loss (no heartbeat for N s) is testable.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

from drone_link.link._mav import (
    MAV_MODE_FLAG_SAFETY_ARMED,
    MAV_SYS_STATUS_PREARM_CHECK,
)
from drone_link.link.commands import mode_name

# EKF_STATUS_REPORT flags an ArduPilot copter needs before arming in a GPS mode:
# attitude | velocity_horiz | velocity_vert | pos_horiz_abs | pos_vert_abs
EKF_READY_FLAGS = 0x01 | 0x02 | 0x04 | 0x10 | 0x20
MAV_STATE_NAMES = {0: "UNINIT", 1: "BOOT", 2: "CALIBRATING", 3: "STANDBY", 4: "ACTIVE",
                   5: "CRITICAL", 6: "EMERGENCY", 7: "POWEROFF", 8: "FLIGHT_TERMINATION"}


@dataclass(frozen=True)
class StatusText:
    severity: int
    text: str
    at_s: float


@dataclass(frozen=True)
class Telemetry:
    """Latest known state of one vehicle. ``None`` = not reported yet."""

    system_id: int | None = None
    autopilot: int | None = None
    vehicle_type: int | None = None
    custom_mode: int | None = None
    mode: str | None = None
    armed: bool = False
    system_status: str | None = None
    last_heartbeat_s: float | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_amsl_m: float | None = None
    alt_rel_m: float | None = None
    vn_m_s: float | None = None
    ve_m_s: float | None = None
    vd_m_s: float | None = None
    heading_deg: float | None = None
    roll_deg: float | None = None
    pitch_deg: float | None = None
    yaw_deg: float | None = None
    battery_voltage_v: float | None = None
    battery_current_a: float | None = None
    battery_pct: float | None = None
    gps_fix_type: int | None = None
    satellites: int | None = None
    ekf_flags: int | None = None
    prearm_ok: bool | None = None
    home_lat_deg: float | None = None
    home_lon_deg: float | None = None
    home_alt_amsl_m: float | None = None
    mission_seq: int | None = None
    mission_total: int | None = None
    mission_state: int | None = None  # MISSION_STATE: 5 = COMPLETE (ArduPilot 4.4+, PX4)
    capabilities: int | None = None  # AUTOPILOT_VERSION.capabilities (MAV_PROTOCOL_CAPABILITY)
    reached: tuple[int, ...] = ()
    status_texts: tuple[StatusText, ...] = ()

    @property
    def ground_speed_m_s(self) -> float | None:
        if self.vn_m_s is None or self.ve_m_s is None:
            return None
        return math.hypot(self.vn_m_s, self.ve_m_s)

    @property
    def ekf_ok(self) -> bool:
        return self.ekf_flags is not None and (self.ekf_flags & EKF_READY_FLAGS) == EKF_READY_FLAGS

    @property
    def ready_to_arm(self) -> bool:
        """ArduPilot's SYS_STATUS pre-arm bit when reported, else EKF + 3D fix."""
        if self.prearm_ok is not None:
            return self.prearm_ok
        return self.ekf_ok and (self.gps_fix_type or 0) >= 3

    @property
    def last_status_text(self) -> str | None:
        return self.status_texts[-1].text if self.status_texts else None


@dataclass
class TelemetryTracker:
    """Mutable accumulator behind :class:`Telemetry` (one per vehicle)."""

    system_id: int | None = None
    max_texts: int = 50
    _t: Telemetry = field(default_factory=Telemetry)
    _reached: list[int] = field(default_factory=list)
    _reached_set: set[int] = field(default_factory=set)
    _texts: deque = field(default_factory=lambda: deque(maxlen=50))

    def snapshot(self) -> Telemetry:
        return replace(self._t, reached=tuple(self._reached), status_texts=tuple(self._texts))

    def seconds_since_heartbeat(self, now_s: float) -> float | None:
        hb = self._t.last_heartbeat_s
        return None if hb is None else now_s - hb

    def reset_mission_progress(self) -> None:
        self._reached.clear()
        self._reached_set.clear()
        self._t = replace(self._t, mission_seq=None, mission_state=None)

    def _add_reached(self, seq: int) -> None:
        if seq not in self._reached_set:
            self._reached_set.add(seq)
            self._reached.append(seq)

    def update(self, msg, now_s: float) -> bool:
        """Fold one message in; True if it was telemetry of this vehicle."""
        if self.system_id is not None and msg.get_srcSystem() != self.system_id:
            return False
        handler = getattr(self, "_on_" + msg.get_type().lower(), None)
        if handler is None:
            return False
        handler(msg, now_s)
        return True

    def _set(self, **kw) -> None:
        self._t = replace(self._t, **kw)

    def _on_heartbeat(self, m, now_s: float) -> None:
        if m.type == 6 or m.autopilot == 8:  # another GCS, or a component without autopilot
            return
        self._set(system_id=m.get_srcSystem(), autopilot=m.autopilot, vehicle_type=m.type,
                  custom_mode=m.custom_mode, mode=mode_name(m.autopilot, m.custom_mode),
                  armed=bool(m.base_mode & MAV_MODE_FLAG_SAFETY_ARMED),
                  system_status=MAV_STATE_NAMES.get(m.system_status, str(m.system_status)),
                  last_heartbeat_s=now_s)

    def _on_global_position_int(self, m, now_s: float) -> None:
        if m.lat == 0 and m.lon == 0:
            return  # ArduPilot sends 0,0 until it has a position: unknown, not "null island"
        self._set(lat_deg=m.lat / 1e7, lon_deg=m.lon / 1e7, alt_amsl_m=m.alt / 1000.0,
                  alt_rel_m=m.relative_alt / 1000.0, vn_m_s=m.vx / 100.0, ve_m_s=m.vy / 100.0,
                  vd_m_s=m.vz / 100.0,
                  heading_deg=None if m.hdg == 65535 else m.hdg / 100.0)

    def _on_attitude(self, m, now_s: float) -> None:
        self._set(roll_deg=math.degrees(m.roll), pitch_deg=math.degrees(m.pitch),
                  yaw_deg=math.degrees(m.yaw) % 360.0)

    def _on_sys_status(self, m, now_s: float) -> None:
        prearm = None
        if m.onboard_control_sensors_present & MAV_SYS_STATUS_PREARM_CHECK:
            prearm = bool(m.onboard_control_sensors_health & MAV_SYS_STATUS_PREARM_CHECK)
        self._set(battery_voltage_v=None if m.voltage_battery == 65535 else m.voltage_battery / 1000.0,
                  battery_current_a=None if m.current_battery == -1 else m.current_battery / 100.0,
                  battery_pct=None if m.battery_remaining == -1 else float(m.battery_remaining),
                  prearm_ok=prearm)

    def _on_battery_status(self, m, now_s: float) -> None:
        if m.battery_remaining != -1:
            self._set(battery_pct=float(m.battery_remaining))
        if m.current_battery != -1:
            self._set(battery_current_a=m.current_battery / 100.0)

    def _on_gps_raw_int(self, m, now_s: float) -> None:
        self._set(gps_fix_type=m.fix_type,
                  satellites=None if m.satellites_visible == 255 else m.satellites_visible)

    def _on_ekf_status_report(self, m, now_s: float) -> None:
        self._set(ekf_flags=m.flags)

    def _on_home_position(self, m, now_s: float) -> None:
        self._set(home_lat_deg=m.latitude / 1e7, home_lon_deg=m.longitude / 1e7,
                  home_alt_amsl_m=m.altitude / 1000.0)

    def _on_mission_current(self, m, now_s: float) -> None:
        # MISSION_ITEM_REACHED is sent once and may be lost: the current item moving on
        # from a to b also says a..b-1 were done.
        prev = self._t.mission_seq
        if prev is not None and m.seq > prev and self._t.armed:
            for seq in range(prev, m.seq):
                self._add_reached(seq)
        total = getattr(m, "total", 0)
        state = getattr(m, "mission_state", 0)
        self._set(mission_seq=m.seq, mission_total=None if total in (0, 65535) else total,
                  mission_state=state or None)

    def _on_autopilot_version(self, m, now_s: float) -> None:
        self._set(capabilities=int(m.capabilities))

    def _on_mission_item_reached(self, m, now_s: float) -> None:
        self._add_reached(int(m.seq))

    def _on_statustext(self, m, now_s: float) -> None:
        text = m.text if isinstance(m.text, str) else m.text.decode("utf-8", "replace")
        self._texts.append(StatusText(int(m.severity), text.rstrip("\x00"), now_s))
