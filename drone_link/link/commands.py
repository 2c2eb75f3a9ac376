"""COMMAND_LONG with COMMAND_ACK handling, and flight-mode mappings.

:class:`CommandTransaction` is the same kind of state machine as the mission transfers:
``start()``, ``handle(msg)``, ``tick(now)``, injected sender and clock. A command is
resent (with ``confirmation`` incremented, as the command protocol asks) until it is
acknowledged or the retry cap is reached. ``IN_PROGRESS`` extends the deadline.

Mode numbers: ArduPilot Copter custom modes (``ArduCopter/mode.h``) and PX4's
``custom_mode = main_mode << 16 | sub_mode << 24`` (``px4_custom_mode.h``).
"""

from __future__ import annotations

import logging
from enum import Enum, IntEnum

from drone_link.link._mav import (
    GCS_COMPONENT_ID,
    GCS_SYSTEM_ID,
    MAV_AUTOPILOT_PX4,
    mavlink2,
)
from drone_link.link.transfer import Clock, Sender

logger = logging.getLogger(__name__)


class MavCmd(IntEnum):
    """MAV_CMD values the link sends."""

    NAV_RETURN_TO_LAUNCH = 20
    NAV_LAND = 21
    NAV_TAKEOFF = 22
    DO_SET_MODE = 176
    DO_PAUSE_CONTINUE = 193
    COMPONENT_ARM_DISARM = 400
    MISSION_START = 300
    REQUEST_MESSAGE = 512


class CommandResult(Enum):
    """MAV_RESULT, plus TIMEOUT when no COMMAND_ACK came."""

    ACCEPTED = 0
    TEMPORARILY_REJECTED = 1
    DENIED = 2
    UNSUPPORTED = 3
    FAILED = 4
    IN_PROGRESS = 5
    CANCELLED = 6
    TIMEOUT = -1


class CopterMode(IntEnum):
    """ArduPilot Copter custom_mode numbers."""

    STABILIZE = 0
    ACRO = 1
    ALT_HOLD = 2
    AUTO = 3
    GUIDED = 4
    LOITER = 5
    RTL = 6
    CIRCLE = 7
    LAND = 9
    DRIFT = 11
    SPORT = 13
    FLIP = 14
    AUTOTUNE = 15
    POSHOLD = 16
    BRAKE = 17
    THROW = 18
    AVOID_ADSB = 19
    GUIDED_NOGPS = 20
    SMART_RTL = 21


# PX4: name -> (main_mode, sub_mode)
PX4_MODES: dict[str, tuple[int, int]] = {
    "MANUAL": (1, 0),
    "ALTCTL": (2, 0),
    "POSCTL": (3, 0),
    "AUTO.READY": (4, 1),
    "AUTO.TAKEOFF": (4, 2),
    "AUTO.LOITER": (4, 3),
    "AUTO.MISSION": (4, 4),
    "AUTO.RTL": (4, 5),
    "AUTO.LAND": (4, 6),
    "AUTO.PRECLAND": (4, 9),
    "ACRO": (5, 0),
    "OFFBOARD": (6, 0),
    "STABILIZED": (7, 0),
}

# Product-level intents -> per-autopilot mode names.
INTENT_MODES = {
    "ardupilot": {"hold": "LOITER", "brake": "BRAKE", "mission": "AUTO", "rtl": "RTL",
                  "land": "LAND", "guided": "GUIDED", "takeoff": "GUIDED"},
    "px4": {"hold": "AUTO.LOITER", "brake": "AUTO.LOITER", "mission": "AUTO.MISSION",
            "rtl": "AUTO.RTL", "land": "AUTO.LAND", "guided": "AUTO.LOITER",
            "takeoff": "AUTO.TAKEOFF"},
}


def autopilot_family(autopilot: int | None) -> str:
    """'px4' for MAV_AUTOPILOT_PX4, else 'ardupilot' (what the product mostly flies)."""
    return "px4" if autopilot == MAV_AUTOPILOT_PX4 else "ardupilot"


def mode_name(autopilot: int | None, custom_mode: int) -> str:
    """Human name of a HEARTBEAT custom_mode for this autopilot ('UNKNOWN(n)' if unmapped)."""
    if autopilot_family(autopilot) == "px4":
        main, sub = (custom_mode >> 16) & 0xFF, (custom_mode >> 24) & 0xFF
        for name, (m, s) in PX4_MODES.items():
            if m == main and (s == sub or (s == 0 and main != 4)):
                return name
        return f"UNKNOWN({custom_mode})"
    try:
        return CopterMode(custom_mode).name
    except ValueError:
        return f"UNKNOWN({custom_mode})"


def mode_number(autopilot: int | None, name: str) -> int:
    """custom_mode for a mode name; ``ValueError`` naming the valid modes otherwise."""
    key = name.strip().upper()
    if autopilot_family(autopilot) == "px4":
        if key not in PX4_MODES:
            raise ValueError(f"unknown PX4 mode {name!r}; known: {', '.join(PX4_MODES)}")
        main, sub = PX4_MODES[key]
        return (main << 16) | (sub << 24)
    try:
        return int(CopterMode[key])
    except KeyError:
        raise ValueError(f"unknown ArduPilot Copter mode {name!r}; known: "
                         f"{', '.join(m.name for m in CopterMode)}") from None


def set_mode_params(autopilot: int | None, name: str) -> tuple[float, float, float]:
    """MAV_CMD_DO_SET_MODE param1..3 for a mode name on this autopilot."""
    number = mode_number(autopilot, name)
    if autopilot_family(autopilot) == "px4":
        return 1.0, float((number >> 16) & 0xFF), float((number >> 24) & 0xFF)
    return 1.0, float(number), 0.0


class CommandTransaction:
    """One COMMAND_LONG until its COMMAND_ACK (or ``retries`` resends without an answer)."""

    def __init__(self, command: int, params: tuple[float, ...] = (), *, send: Sender,
                 clock: Clock, target_system: int, target_component: int = 1,
                 own_system: int = GCS_SYSTEM_ID, own_component: int = GCS_COMPONENT_ID,
                 timeout_s: float = 1.0, retries: int = 3,
                 in_progress_timeout_s: float = 10.0) -> None:
        if len(params) > 7:
            raise ValueError(f"COMMAND_LONG takes 7 params, got {len(params)}")
        self.command = int(command)
        self.params = tuple(float(p) for p in params) + (0.0,) * (7 - len(params))
        self._send = send
        self._clock = clock
        self.target_system = target_system
        self.target_component = target_component
        self.own_system = own_system
        self.own_component = own_component
        self.timeout_s = timeout_s
        self.retries = retries
        self.in_progress_timeout_s = in_progress_timeout_s
        self.confirmation = 0
        self.result: CommandResult | None = None
        self._deadline = float("inf")

    @property
    def done(self) -> bool:
        return self.result is not None and self.result is not CommandResult.IN_PROGRESS

    def start(self) -> None:
        self._send_command()
        self._deadline = self._clock() + self.timeout_s

    def handle(self, msg) -> bool:
        if self.done or msg.get_type() != "COMMAND_ACK":
            return False
        if msg.get_srcSystem() != self.target_system or int(msg.command) != self.command:
            return False
        ts = getattr(msg, "target_system", 0)
        if ts not in (0, self.own_system):
            return False
        self.result = _to_result(int(msg.result))
        if self.result is CommandResult.IN_PROGRESS:
            self._deadline = self._clock() + self.in_progress_timeout_s
        return True

    def tick(self, now: float) -> None:
        if self.done or now < self._deadline:
            return
        if self.result is CommandResult.IN_PROGRESS or self.confirmation >= self.retries:
            self.result = CommandResult.TIMEOUT
            return
        self.confirmation += 1
        self._send_command()
        self._deadline = now + self.timeout_s

    def _send_command(self) -> None:
        self._send(mavlink2.MAVLink_command_long_message(
            self.target_system, self.target_component, self.command,
            min(self.confirmation, 255), *self.params))


def _to_result(value: int) -> CommandResult:
    try:
        return CommandResult(value)
    except ValueError:
        return CommandResult.FAILED


MAVLINK_MSG_ID_SET_MODE = 11


class SetModeTransaction(CommandTransaction):
    """A SET_MODE message until ArduPilot's COMMAND_ACK (``command`` = 11, the message id).

    ArduPilot before 4.0 answers MAV_CMD_DO_SET_MODE with UNSUPPORTED; every ArduPilot
    handles SET_MODE and acknowledges it this way (MAVProxy's ``mode`` uses it too).
    """

    def __init__(self, custom_mode: int, **kw) -> None:
        super().__init__(MAVLINK_MSG_ID_SET_MODE, (), **kw)
        self.custom_mode = int(custom_mode)

    def _send_command(self) -> None:
        self._send(mavlink2.MAVLink_set_mode_message(self.target_system, 1, self.custom_mode))


def mode_transaction(autopilot: int | None, name: str, **kw) -> CommandTransaction:
    """The transaction that changes mode on this autopilot: SET_MODE on ArduPilot,
    MAV_CMD_DO_SET_MODE on PX4."""
    if autopilot_family(autopilot) == "px4":
        return CommandTransaction(MavCmd.DO_SET_MODE, set_mode_params(autopilot, name), **kw)
    return SetModeTransaction(mode_number(autopilot, name), **kw)
