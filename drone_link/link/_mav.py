"""pymavlink set-up in one place: MAVLink 2 wire protocol, ardupilotmega dialect.

pymavlink picks the wire protocol from the ``MAVLINK20`` environment variable when a
dialect is loaded; we set it and (re)load the dialect so every connection made through
``mavutil`` speaks MAVLink 2, which signing and ``mission_type`` need.
"""

from __future__ import annotations

import os

os.environ["MAVLINK20"] = "1"

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

if getattr(mavutil, "current_dialect", None) != "ardupilotmega" or not hasattr(
    mavutil.mavlink, "MAVLinkSigning"
):
    mavutil.set_dialect("ardupilotmega")

GCS_SYSTEM_ID = 255
GCS_COMPONENT_ID = 190  # MAV_COMP_ID_MISSIONPLANNER
AUTOPILOT_COMPONENT_ID = 1  # MAV_COMP_ID_AUTOPILOT1

MAV_AUTOPILOT_ARDUPILOTMEGA = 3
MAV_AUTOPILOT_PX4 = 12
MAV_AUTOPILOT_INVALID = 8
MAV_TYPE_GCS = 6
MAV_TYPE_QUADROTOR = 2

MAV_MODE_FLAG_CUSTOM_MODE_ENABLED = 1
MAV_MODE_FLAG_SAFETY_ARMED = 128

MAV_SYS_STATUS_PREARM_CHECK = 0x10000000
MAV_SYS_STATUS_SENSOR_GPS = 0x20


def encoder(*, system_id: int, component_id: int) -> mavlink2.MAVLink:
    """A MAVLink 2 encoder/decoder not bound to any file (messages packed by hand)."""
    mav = mavlink2.MAVLink(None, srcSystem=system_id, srcComponent=component_id)
    mav.robust_parsing = True
    return mav


def signing_timestamp_now() -> int:
    """MAVLink signing timestamp: 10 µs units since 2015-01-01 UTC."""
    import time

    return int(max(time.time() - 1420070400, 0) * 100_000)


def parse_signing_key(text: str | bytes | None) -> bytes | None:
    """A 32-byte signing key from 64 hex digits (or raw bytes); ``None`` stays ``None``.

    Raises ``ValueError`` naming what is wrong, so CLIs can print one line.
    """
    if text is None or text == "":
        return None
    if isinstance(text, bytes):
        key = text
    else:
        try:
            key = bytes.fromhex(text.strip())
        except ValueError as exc:
            raise ValueError(f"signing key must be 64 hex digits: {exc}") from None
    if len(key) != 32:
        raise ValueError(f"signing key must be 32 bytes (64 hex digits), got {len(key)} bytes")
    return key
