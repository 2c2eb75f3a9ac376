"""Check a whole mission before the first byte goes to a vehicle.

Everything a MAVLink packer would choke on (``struct.error`` on an out-of-range command,
``OverflowError`` on 1e39 or Infinity) or a vehicle would store wrongly is refused here,
naming the list, item and field, so an upload never starts with a mission that cannot
finish: command and frame must be MAV_CMD / MAV_FRAME values of the dialect, params and
altitudes finite (NaN allowed for params: "unused") and float32-representable,
lat/lon in range where the command has a position, counts within uint16.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from drone_link.errors import MissionValidationError
from drone_link.link._mav import mavlink2
from drone_link.link.verify import POSITION_COMMANDS
from drone_link.mission import Mission, MissionItem, MissionType

FLOAT32_MAX = 3.4028234663852886e38
MAV_CMDS = frozenset(int(k) for k in mavlink2.enums["MAV_CMD"] if int(k) < 65535)
MAV_FRAMES = frozenset(int(k) for k in mavlink2.enums["MAV_FRAME"] if int(k) <= 21)
MAX_ITEMS = 65535
FENCE_ONLY = frozenset({5000, 5001, 5002, 5003, 5004})


def _finite32(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value) and abs(value) <= FLOAT32_MAX


def check_item(item: MissionItem, *, index: int, mission_type: MissionType) -> None:
    """Raise :class:`MissionValidationError` for the first bad field of one item."""
    kind = mission_type.name.lower()

    def bad(field: str, reason: str) -> MissionValidationError:
        return MissionValidationError(kind, index, field, reason)

    cmd = item.command
    if isinstance(cmd, bool) or not isinstance(cmd, int) or int(cmd) not in MAV_CMDS:
        raise bad("command", f"{cmd!r} is not a MAV_CMD value")
    frame = item.frame
    if isinstance(frame, bool) or not isinstance(frame, int) or int(frame) not in MAV_FRAMES:
        raise bad("frame", f"{frame!r} is not a MAV_FRAME value")
    if mission_type is MissionType.FENCE and int(cmd) not in FENCE_ONLY:
        raise bad("command", f"{int(cmd)} is not a fence item")
    if mission_type is MissionType.RALLY and int(cmd) != 5100:
        raise bad("command", f"{int(cmd)} is not a rally point")
    for k, p in enumerate(item.params, start=1):
        if isinstance(p, float) and math.isnan(p):
            continue  # NaN = unused, allowed by the protocol
        if not _finite32(p):
            raise bad(f"param{k}", f"{p!r} is not a finite float32 value")
    if not _finite32(item.alt_m):
        raise bad("alt_m", f"{item.alt_m!r} is not a finite float32 value")
    for field, value, limit in (("lat_deg", item.lat_deg, 90.0), ("lon_deg", item.lon_deg, 180.0)):
        if not _finite32(value):
            raise bad(field, f"{value!r} is not a finite number")
        if int(cmd) in POSITION_COMMANDS and abs(value) > limit:
            raise bad(field, f"{value!r} out of range -{limit:g}..{limit:g}")
        if abs(value) * 1e7 > 2**31 - 1:
            raise bad(field, f"{value!r} does not fit a 1e-7 degree int32")
    if not isinstance(item.autocontinue, bool | int):
        raise bad("autocontinue", f"{item.autocontinue!r} is not a boolean")


def check_list(items: Sequence[MissionItem], mission_type: MissionType) -> None:
    if len(items) > MAX_ITEMS:
        raise MissionValidationError(mission_type.name.lower(), len(items), "count",
                                     f"{len(items)} items, at most {MAX_ITEMS}")
    for i, it in enumerate(items):
        check_item(it, index=i, mission_type=mission_type)


def check_mission(mission: Mission) -> None:
    """Validate all three lists and the home position; raise on the first problem."""
    for mtype in MissionType:
        check_list(mission.items_of(mtype), mtype)
    for field, value, limit in (("home_lat_deg", mission.home_lat_deg, 90.0),
                                ("home_lon_deg", mission.home_lon_deg, 180.0),
                                ("home_alt_amsl_m", mission.home_alt_amsl_m, 1e6)):
        if value is None and field != "home_alt_amsl_m":
            continue
        if not _finite32(value) or abs(value) > limit:
            raise MissionValidationError("home", 0, field, f"{value!r} is not a valid value")
