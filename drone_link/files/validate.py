"""Value checks shared by the mission file readers (``.plan``, ``.waypoints``).

Every number that may reach a MAVLink packer must be finite and fit a float32
(``MISSION_ITEM_INT`` params are float32; lat/lon become int32 1e-7 degrees); commands
and frames must be ones the MAVLink dialect defines (ArduPilot's, which includes the
common set). A file that breaks any of these is refused while it is read, naming the
item and field, so nothing malformed can start an upload.
"""

from __future__ import annotations

import math

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as _dialect

FLOAT32_MAX = float(np.finfo(np.float32).max)
MAX_ITEMS = 65_535  # MISSION_COUNT.count is a uint16


def _values(enum_name: str) -> frozenset[int]:
    return frozenset(k for k, e in _dialect.enums[enum_name].items() if not e.name.endswith("_ENUM_END"))


KNOWN_COMMANDS = _values("MAV_CMD")
KNOWN_FRAMES = _values("MAV_FRAME")


def float32_problem(v: float, *, allow_nan: bool = False) -> str | None:
    """Why ``v`` cannot be sent as a MAVLink float32, or None."""
    if math.isnan(v):
        return None if allow_nan else "must be a number, not NaN"
    if not math.isfinite(v) or abs(v) > FLOAT32_MAX:
        return f"{v!r} is not a finite float32 number"
    return None


def latlon_problem(lat: float, lon: float) -> str | None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        return f"latitude {lat!r} outside [-90, 90]"
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        return f"longitude {lon!r} outside [-180, 180]"
    return None


def command_problem(cmd: int) -> str | None:
    return None if cmd in KNOWN_COMMANDS else f"{cmd} is not a MAV_CMD the MAVLink dialect defines"


def frame_problem(frame: int) -> str | None:
    return None if frame in KNOWN_FRAMES else f"{frame} is not a MAV_FRAME the MAVLink dialect defines"
