"""Connection strings → pymavlink connections (MAVLink 2, signing optional).

Accepted forms (pymavlink's meaning of each prefix is kept, so strings copied from
MAVProxy or QGroundControl docs behave the same):

- ``udpin:HOST:PORT`` and ``udp:HOST:PORT``: **listen** on HOST:PORT and answer whoever
  sends (the usual GCS side: vehicles and MAVProxy send to UDP 14550);
- ``udpout:HOST:PORT``: send to HOST:PORT (the vehicle side, or a MAVProxy ``--out`` port);
- ``tcp:HOST:PORT``: connect to a TCP server (ArduPilot SITL serves ``tcp:127.0.0.1:5760``);
- a serial device: ``/dev/ttyUSB0``, ``/dev/ttyACM0:115200``, ``serial:/dev/ttyAMA0:57600``,
  ``COM3`` or ``COM3:57600`` (telemetry radios default to 57600 baud).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from drone_link.errors import ConnectionStringError, DroneLinkError
from drone_link.link._mav import GCS_COMPONENT_ID, GCS_SYSTEM_ID, mavutil

logger = logging.getLogger(__name__)

DEFAULT_BAUD = 57600


class Transport(Enum):
    UDP_IN = "udpin"
    UDP_OUT = "udpout"
    TCP = "tcp"
    SERIAL = "serial"


@dataclass(frozen=True)
class ConnectionSpec:
    """A parsed connection string."""

    transport: Transport
    host: str = ""
    port: int = 0
    device: str = ""
    baud: int = DEFAULT_BAUD

    @property
    def pymavlink_device(self) -> str:
        if self.transport is Transport.SERIAL:
            return self.device
        return f"{self.transport.value}:{self.host}:{self.port}"

    def __str__(self) -> str:
        if self.transport is Transport.SERIAL:
            return f"{self.device}:{self.baud}"
        return self.pymavlink_device


def parse_connection(text: str) -> ConnectionSpec:
    """Parse and validate a connection string; :class:`ConnectionStringError` on bad input."""
    s = (text or "").strip()
    if not s:
        raise ConnectionStringError(text, "empty connection string")
    scheme, _, rest = s.partition(":")
    scheme_l = scheme.lower()
    if scheme_l in ("udp", "udpin", "udpout", "tcp"):
        host, sep, port_s = rest.rpartition(":")
        if not sep or not host:
            raise ConnectionStringError(text, f"expected {scheme_l}:HOST:PORT")
        port = _port(text, port_s, allow_zero=scheme_l in ("udp", "udpin"))
        transport = {"udp": Transport.UDP_IN, "udpin": Transport.UDP_IN,
                     "udpout": Transport.UDP_OUT, "tcp": Transport.TCP}[scheme_l]
        return ConnectionSpec(transport, host=host, port=port)
    if scheme_l == "serial":
        s = rest
    if s.startswith("/dev/") or s.upper().startswith("COM"):
        device, sep, baud_s = s.rpartition(":") if s.count(":") >= 1 else (s, "", "")
        if not sep:
            device, baud_s = s, ""
        baud = DEFAULT_BAUD
        if baud_s:
            if not baud_s.isdigit() or int(baud_s) <= 0:
                raise ConnectionStringError(text, f"baud rate {baud_s!r} is not a positive integer")
            baud = int(baud_s)
        return ConnectionSpec(Transport.SERIAL, device=device, baud=baud)
    raise ConnectionStringError(
        text, "unknown form; use udpin:HOST:PORT, udp:HOST:PORT, udpout:HOST:PORT, "
              "tcp:HOST:PORT or a serial device like /dev/ttyUSB0:57600")


def _port(text: str, port_s: str, *, allow_zero: bool) -> int:
    if not port_s.isdigit():
        raise ConnectionStringError(text, f"port {port_s!r} is not a number")
    port = int(port_s)
    if port > 65535 or (port == 0 and not allow_zero):
        raise ConnectionStringError(text, f"port {port} out of range")
    return port


def open_connection(spec: ConnectionSpec, *, source_system: int = GCS_SYSTEM_ID,
                    source_component: int = GCS_COMPONENT_ID, signing_key: bytes | None = None,
                    link_id: int = 0):
    """Open a pymavlink connection speaking MAVLink 2; optionally sign and verify.

    With a key, outgoing messages are signed and unsigned or wrongly signed incoming
    messages are rejected by pymavlink (they surface as ``BAD_DATA`` "Invalid signature").
    """
    try:
        if spec.transport is Transport.SERIAL:
            conn = mavutil.mavlink_connection(spec.device, baud=spec.baud,
                                              source_system=source_system,
                                              source_component=source_component,
                                              autoreconnect=True)
        elif spec.transport is Transport.TCP:
            conn = mavutil.mavlink_connection(spec.pymavlink_device, source_system=source_system,
                                              source_component=source_component, retries=3)
        else:
            conn = mavutil.mavlink_connection(spec.pymavlink_device, source_system=source_system,
                                              source_component=source_component)
    except OSError as exc:
        raise DroneLinkError(f"cannot open {spec}: {exc}") from exc
    except Exception as exc:  # pymavlink raises bare Exception for some serial errors
        raise DroneLinkError(f"cannot open {spec}: {exc}") from exc
    if not hasattr(conn.mav, "signing"):
        conn.close()
        raise DroneLinkError("pymavlink did not load the MAVLink 2 dialect")
    conn.WIRE_PROTOCOL_VERSION = "2.0"
    conn.first_byte = False  # never auto-switch to MAVLink 1
    if signing_key is not None:
        conn.setup_signing(signing_key, sign_outgoing=True, allow_unsigned_callback=None,
                           link_id=link_id)
    logger.debug("opened %s (sys %d comp %d, signing %s)", spec, source_system,
                 source_component, "on" if signing_key else "off")
    return conn
