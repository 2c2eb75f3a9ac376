"""Compare a mission read back from a vehicle with the one sent, the way ground stations do.

An autopilot stores what it needs, not what it was sent, so a byte-for-byte comparison
fails on missions that are stored correctly. QGroundControl compares with
``QGC::fuzzyCompare`` on float32 values, treats NaN params as "unused", and MAVProxy's
``wp`` module compares lat/lon as 1e-7 integers; both accept the int/float twins of a
frame. This module encodes what each autopilot family is allowed to normalise and
reports only real differences, naming the list, item and field:

- **NaN vs 0**: a NaN param means "unused / keep current" (QGC writes ``null``);
  ArduPilot stores 0 where it keeps nothing (e.g. NAV_WAYPOINT yaw) and PX4 keeps NaN.
- **float32**: params and altitudes travel as float32; ArduPilot keeps altitudes as
  int32 centimetres (so 10 mm), lat/lon as int32 1e-7 degrees.
- **frames**: ``*_INT`` frames equal their float twins (5/0, 6/3, 11/10); a command
  without a position ignores its frame (ArduPilot 3.6 answers frame 0 for a DO_ item
  sent in frame 2 MISSION); ArduPilot ignores ``autocontinue`` (always 1).
- **per-command ignored params**: :data:`ARDUPILOT_STORED_PARAMS` lists which of
  param1..4 ArduPilot's ``AP_Mission`` stores per command; others may come back 0.
  PX4 stores all four, but wraps NAV_WAYPOINT's yaw into [0, 360) degrees.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from drone_link.mission import Cmd, MissionItem, MissionType

# Commands whose x/y/z carry a position (the rest ignore lat/lon and frame).
POSITION_COMMANDS = frozenset({
    16, 17, 18, 19, 21, 22, 31, 82, 84, 85, 201, 195,
    Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    Cmd.NAV_FENCE_CIRCLE_INCLUSION, Cmd.NAV_FENCE_CIRCLE_EXCLUSION, 5000, Cmd.NAV_RALLY_POINT,
})
# Position commands whose z (altitude) the vehicle may ignore.
ALT_IGNORED = frozenset({Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                         Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
                         Cmd.NAV_FENCE_CIRCLE_INCLUSION, Cmd.NAV_FENCE_CIRCLE_EXCLUSION})

# Which params (1-based) ArduPilot's AP_Mission keeps per command (mavlink_to_mission_cmd).
ARDUPILOT_STORED_PARAMS: dict[int, frozenset[int]] = {
    16: frozenset({1}),  # NAV_WAYPOINT: hold time (acceptance/pass radius, yaw not kept by Copter)
    17: frozenset(),  # NAV_LOITER_UNLIM
    18: frozenset({1, 3}),  # NAV_LOITER_TURNS: turns, radius
    19: frozenset({1}),  # NAV_LOITER_TIME: seconds
    20: frozenset(),  # NAV_RETURN_TO_LAUNCH
    21: frozenset(),  # NAV_LAND (abort alt / precision land kept only by newer firmware)
    22: frozenset(),  # NAV_TAKEOFF (pitch is Plane only)
    93: frozenset({1}),  # NAV_DELAY
    112: frozenset({1}),  # CONDITION_DELAY
    114: frozenset({1}),  # CONDITION_DISTANCE
    115: frozenset({1, 2, 3, 4}),  # CONDITION_YAW
    177: frozenset({1, 2}),  # DO_JUMP
    178: frozenset({1, 2, 3}),  # DO_CHANGE_SPEED
    179: frozenset({1}),  # DO_SET_HOME
    183: frozenset({1, 2}),  # DO_SET_SERVO
    201: frozenset(),  # DO_SET_ROI
    203: frozenset({1, 2, 3, 4}),  # DO_DIGICAM_CONTROL
    205: frozenset({1, 2, 3, 4}),  # DO_MOUNT_CONTROL
    206: frozenset({1}),  # DO_SET_CAM_TRIGG_DIST (newer firmware also keeps param3)
    Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION: frozenset({1}),
    Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION: frozenset({1}),
    Cmd.NAV_FENCE_CIRCLE_INCLUSION: frozenset({1}),
    Cmd.NAV_FENCE_CIRCLE_EXCLUSION: frozenset({1}),
    Cmd.NAV_RALLY_POINT: frozenset(),
}

# (command, param) that ArduPilot keeps as an integer (fractions are truncated).
ARDUPILOT_INTEGER_PARAMS = frozenset({(16, 1), (18, 1), (19, 1), (93, 1), (177, 1), (177, 2),
                                      (178, 1), (183, 1), (183, 2)})

_FLOAT_TWIN = {5: 0, 6: 3, 11: 10}
_FLOAT32_MAX = 3.4028234663852886e38


@dataclass(frozen=True)
class Difference:
    """One real difference: list, plan index, field, what was sent and what came back."""

    mission_type: MissionType
    index: int
    field: str
    sent: object
    got: object

    def __str__(self) -> str:
        kind = self.mission_type.name.lower()
        return f"{kind} item {self.index} field {self.field}: sent {self.sent!r}, vehicle has {self.got!r}"


def float32(value: float) -> float:
    """``value`` as a float32 would hold it (inf beyond float32 range, NaN kept)."""
    if math.isnan(value):
        return value
    if abs(value) > _FLOAT32_MAX:
        return math.copysign(math.inf, value)
    return struct.unpack("<f", struct.pack("<f", value))[0]


def same_float32(a: float, b: float, *, rel: float = 2e-7, abs_tol: float = 1e-6) -> bool:
    """Equal after float32 rounding (QGC's fuzzyCompare), NaN equal to NaN."""
    fa, fb = float32(a), float32(b)
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    return abs(fa - fb) <= max(abs_tol, rel * max(abs(fa), abs(fb)))


def frame_family(frame: int) -> int:
    return _FLOAT_TWIN.get(int(frame), int(frame))


def _unused(value: float) -> bool:
    return math.isnan(value) or value == 0.0


def compare_item(sent: MissionItem, got: MissionItem, *, index: int, family: str = "ardupilot",
                 latlon_tol_deg: float = 1.5e-7) -> list[Difference]:
    """Differences between one sent item and its read-back (empty when equal as stored)."""
    mtype = MissionType(int(sent.mission_type))
    out: list[Difference] = []

    def diff(field: str, a: object, b: object) -> None:
        out.append(Difference(mtype, index, field, a, b))

    cmd = int(sent.command)
    if cmd != int(got.command):
        diff("command", cmd, int(got.command))
        return out  # nothing else is comparable
    positioned = cmd in POSITION_COMMANDS
    if positioned and frame_family(sent.frame) != frame_family(got.frame):
        diff("frame", int(sent.frame), int(got.frame))
    if positioned:
        for field, a, b in (("lat_deg", sent.lat_deg, got.lat_deg), ("lon_deg", sent.lon_deg, got.lon_deg)):
            if abs(a - b) > latlon_tol_deg:
                diff(field, a, b)
        if cmd not in ALT_IGNORED:
            # ArduPilot: int32 centimetres; PX4: float32 metres.
            tol = 0.011 if family == "ardupilot" else max(1e-3, abs(float32(sent.alt_m) - sent.alt_m) * 2)
            if not abs(sent.alt_m - got.alt_m) <= tol:
                diff("alt_m", sent.alt_m, got.alt_m)
    stored = ARDUPILOT_STORED_PARAMS.get(cmd) if family == "ardupilot" else None
    for k, (a, b) in enumerate(zip(sent.params, got.params), start=1):
        if _param_same(cmd, k, a, b, stored=stored, family=family):
            continue
        diff(f"param{k}", a, b)
    if family != "ardupilot" and bool(sent.autocontinue) != bool(got.autocontinue):
        diff("autocontinue", bool(sent.autocontinue), bool(got.autocontinue))
    return out


def _param_same(cmd: int, k: int, a: float, b: float, *, stored: frozenset[int] | None,
                family: str) -> bool:
    if _unused(a) and _unused(b):
        return True  # NaN (unused) and 0 are both "nothing set"
    if stored is not None and k not in stored:
        return _unused(b) or same_float32(a, b)  # ArduPilot drops it: 0 back is fine
    if stored is not None and (cmd, k) in ARDUPILOT_INTEGER_PARAMS and math.isfinite(a) \
            and same_float32(float(math.trunc(a)), b):
        return True
    if family == "px4" and cmd == 16 and k == 4 and not (math.isnan(a) or math.isnan(b)):
        return same_float32(a % 360.0, b % 360.0) or same_float32(a % 360.0 - 360.0, b % 360.0)
    return same_float32(a, b)


def compare_lists(sent: Sequence[MissionItem], got: Sequence[MissionItem], *,
                  mission_type: MissionType, family: str = "ardupilot",
                  latlon_tol_deg: float = 1.5e-7) -> list[Difference]:
    """All differences between two lists of one mission type (a count mismatch first)."""
    if len(sent) != len(got):
        return [Difference(MissionType(mission_type), min(len(sent), len(got)), "count",
                           len(sent), len(got))]
    out: list[Difference] = []
    for i, (a, b) in enumerate(zip(sent, got)):
        out.extend(compare_item(a, b, index=i, family=family, latlon_tol_deg=latlon_tol_deg))
    return out
