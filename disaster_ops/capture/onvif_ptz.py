"""Where a PTZ camera looks now: ONVIF PTZ ``GetStatus`` over SOAP.

The client is zeep driven by the official ONVIF WSDL/XSD files (the copies shipped in the
``onvif-zeep-async`` package; nothing is fetched at run time), with WS-Security
UsernameToken (password digest) when a user is configured. The profile token comes from
the settings or, when not given, from the Media service (``GetProfiles``: the first
profile with a PTZ configuration).

A reading turns into a ground direction only when its units are known:

* ``SphericalPositionSpaceDegrees`` (the camera reports degrees): pan and tilt as given;
* ``PositionGenericSpace`` (normalised -1..1, what most cameras report): mapped through
  the camera's configured pan/tilt ranges;
* anything else, no position, or a camera error: no direction, and the detection stays
  at the pole with its uncertainty radius (:class:`geo.projection.PoleModel`).

Pan 0 points along ``pan_zero_heading_deg`` (measured on site); pan grows clockwise
seen from above unless ``pan_clockwise`` is false. Tilt is returned as degrees below
the horizon (what :func:`disaster_ops.services.projection.camera_model` takes); ONVIF
spherical degrees count tilt up from the horizon.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

logger = logging.getLogger(__name__)

PTZ_BINDING = "{http://www.onvif.org/ver20/ptz/wsdl}PTZBinding"
MEDIA_BINDING = "{http://www.onvif.org/ver10/media/wsdl}MediaBinding"
DEGREES_SPACE = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/SphericalPositionSpaceDegrees"
GENERIC_SPACE = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"


class PtzError(Exception):
    """The camera could not be asked (unreachable, refused, SOAP fault, not ONVIF)."""


class PtzSettings(BaseModel):
    """How to ask one camera where it looks (part of its per-camera settings)."""

    model_config = ConfigDict(extra="forbid")

    ptz_url: HttpUrl = Field(description="ONVIF PTZ service address, e.g. http://cam/onvif/ptz_service.")
    media_url: HttpUrl | None = Field(None, description="ONVIF Media service address (to find the profile token).")
    profile_token: str | None = Field(None, max_length=64, description="Media profile token; default: from Media.")
    username: str | None = Field(None, max_length=128, description="ONVIF user (WS-Security digest).")
    password_env: str | None = Field(None, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                     description="Environment variable holding the password (never stored).")
    pan_zero_heading_deg: float = Field(ge=0.0, lt=360.0, description="Compass heading of pan 0, degrees.")
    pan_clockwise: bool = Field(True, description="Pan grows clockwise seen from above.")
    generic_pan_deg: tuple[float, float] = Field(
        (-180.0, 180.0), description="Pan in degrees at generic x = -1 and x = +1.")
    generic_tilt_deg: tuple[float, float] = Field(
        (-90.0, 0.0), description="Tilt above the horizon in degrees at generic y = -1 and y = +1.")
    timeout_s: float = Field(1.0, gt=0.0, le=10.0, description="Per-request timeout, seconds.")
    settle_s: float = Field(0.3, ge=0.0, le=5.0, description=(
        "When the camera does not say whether it is moving: read the position again after this "
        "many seconds and use it only if unchanged (0: trust a single reading)."))

    @model_validator(mode="after")
    def _token_source(self) -> PtzSettings:
        if self.profile_token is None and self.media_url is None:
            raise ValueError("give profile_token or media_url (to look the token up)")
        return self


@dataclass(frozen=True)
class PtzReading:
    """One PTZ status as the camera reported it (ONVIF units)."""

    pan: float
    tilt: float
    space: str | None  # ONVIF PanTilt space URI (None: the camera did not say)
    zoom: float | None
    moving: bool | None  # None: the camera did not say (MoveStatus absent or unreadable)
    utc_time: datetime | None

    def same_position(self, other: PtzReading, tolerance: float = 1e-4) -> bool:
        return (self.space == other.space and abs(self.pan - other.pan) <= tolerance
                and abs(self.tilt - other.tilt) <= tolerance)


@dataclass(frozen=True)
class PtzDirection:
    heading_deg: float  # compass, clockwise from north
    tilt_deg: float  # below the horizon


def direction(reading: PtzReading, settings: PtzSettings) -> PtzDirection | None:
    """The ground direction of ``reading``; None when its units are unknown."""
    if reading.space == DEGREES_SPACE:
        pan_deg, tilt_up_deg = reading.pan, reading.tilt
    elif reading.space in (GENERIC_SPACE, None):  # ONVIF: no space attribute = the generic space
        (p0, p1), (t0, t1) = settings.generic_pan_deg, settings.generic_tilt_deg
        pan_deg = p0 + (reading.pan + 1.0) / 2.0 * (p1 - p0)
        tilt_up_deg = t0 + (reading.tilt + 1.0) / 2.0 * (t1 - t0)
    else:
        return None
    sign = 1.0 if settings.pan_clockwise else -1.0
    return PtzDirection((settings.pan_zero_heading_deg + sign * pan_deg) % 360.0, -tilt_up_deg)


def _wsdl_dir() -> Path:
    import onvif  # the ONVIF WSDL/XSD files ship with onvif-zeep-async

    return Path(onvif.__file__).parent / "wsdl"


MAX_REPLY_BYTES = 1 << 20  # a PTZ status is < 2 KiB; a reply beyond 1 MiB is refused, never read whole


def _read_bounded(response, limit_bytes: int = MAX_REPLY_BYTES) -> bytes:
    """The body of a streamed ``requests`` response, refusing one larger than ``limit_bytes``."""
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit_bytes:
            response.close()
            raise PtzError(f"reply larger than {limit_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@lru_cache(maxsize=4)
def _client(wsdl: str, timeout_s: float, username: str | None, password: str | None):
    import zeep
    from zeep.transports import Transport
    from zeep.wsse.username import UsernameToken

    class BoundedTransport(Transport):
        """zeep's transport, reading at most MAX_REPLY_BYTES of any reply."""

        def post(self, address, message, headers):
            response = self.session.post(address, data=message, headers=headers, timeout=self.operation_timeout,
                                         stream=True)
            response._content = _read_bounded(response)
            return response

    wsse = UsernameToken(username, password or "", use_digest=True) if username else None
    # strict=False: camera firmware often sends elements out of schema order or adds its own
    # (measured on the third-party ipycam emulator: GetProfiles puts SourceToken before UseCount);
    # a lenient parse still reads them, and values are checked where they are used.
    settings = zeep.Settings(strict=False, xml_huge_tree=False)
    return zeep.Client(str(_wsdl_dir() / wsdl), wsse=wsse, settings=settings,
                       transport=BoundedTransport(timeout=timeout_s, operation_timeout=timeout_s))


def _local(tag) -> str:
    """An element's name without namespace or prefix ('{ns}PanTilt', 'ptz:PanTilt' -> 'PanTilt')."""
    name = tag if isinstance(tag, str) else ""
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _child(el, name: str):
    return next((c for c in el if _local(c.tag) == name), None) if el is not None else None


def _finite(text: str | None, what: str) -> float:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PtzError(f"{what} is not a number: {str(text)[:40]!r}") from None
    if not math.isfinite(value):
        raise PtzError(f"{what} is not finite: {text!r}")
    return value


def parse_status_reply(body: bytes) -> PtzReading | None:
    """A GetStatus reply read leniently: by element names whatever their namespace prefixes
    (firmware that forgets to declare one, as the ipycam emulator does for ``ptz:``, still
    reads), values checked where they are used. A SOAP fault or an unreadable position raise
    :class:`PtzError`; no PanTilt position returns None. The parser resolves no entities and
    fetches nothing (no XXE)."""
    from lxml import etree

    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise PtzError(f"reply is not XML ({_short(exc)})") from None
    if root is None:
        raise PtzError("reply is not XML")
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    fault = next((e for e in elements if _local(e.tag) == "Fault"), None)
    if fault is not None:
        reason = " ".join(t.strip() for t in fault.itertext() if t.strip())
        raise PtzError(f"SOAP fault: {reason[:200]}")
    status = next((e for e in elements if _local(e.tag) == "PTZStatus"), None)
    if status is None:
        raise PtzError("reply has no PTZStatus")
    pan_tilt = _child(_child(status, "Position"), "PanTilt")
    if pan_tilt is None:
        return None
    zoom_el = _child(_child(status, "Position"), "Zoom")
    zoom = _finite(zoom_el.get("x"), "zoom") if zoom_el is not None and zoom_el.get("x") is not None else None
    # MoveStatus is optional in ONVIF; a value that is none of IDLE/MOVING/UNKNOWN (firmware
    # bugs: ipycam 1.3.0 sends its template placeholder) counts as not stated, as an absent one.
    move_text = (getattr(_child(_child(status, "MoveStatus"), "PanTilt"), "text", None) or "").strip().upper()
    moving = {"MOVING": True, "IDLE": False}.get(move_text)
    return PtzReading(_finite(pan_tilt.get("x"), "pan"), _finite(pan_tilt.get("y"), "tilt"),
                      pan_tilt.get("space"), zoom, moving, _utc(_child(status, "UtcTime")))


def _utc(el) -> datetime | None:
    if el is None or not (el.text or "").strip():
        return None
    try:
        return datetime.fromisoformat(el.text.strip())
    except ValueError:
        return None


class OnvifPtzClient:
    """Asks one camera for its PTZ status (blocking, bounded by ``settings.timeout_s``)."""

    def __init__(self, settings: PtzSettings):
        self.settings = settings
        password = os.environ.get(settings.password_env) if settings.password_env else None
        self._auth = (settings.username, password)
        self._token = settings.profile_token

    def _client(self, wsdl: str):
        return _client(wsdl, self.settings.timeout_s, *self._auth)

    def profile_token(self) -> str:
        """The configured token, else the first Media profile that has a PTZ configuration."""
        if self._token:
            return self._token
        try:
            profiles = self._client("media.wsdl").create_service(MEDIA_BINDING, str(self.settings.media_url)).GetProfiles()
        except Exception as exc:  # noqa: BLE001 - zeep raises transport, fault and XML errors of many types
            raise PtzError(f"{self.settings.media_url}: GetProfiles failed ({_short(exc)})") from None
        for p in profiles or []:
            if getattr(p, "PTZConfiguration", None) is not None:
                self._token = str(p.token)
                return self._token
        raise PtzError(f"{self.settings.media_url}: no media profile has a PTZ configuration")

    def status(self) -> PtzReading | None:
        """The current position; None when the camera reports none (no PanTilt)."""
        token = self.profile_token()
        client = self._client("ptz.wsdl")
        service = client.create_service(PTZ_BINDING, str(self.settings.ptz_url))
        try:
            # zeep builds the request (schema-valid, WS-Security); the reply is read leniently
            # by parse_status_reply, since camera firmware often bends the schema.
            with client.settings(raw_response=True):
                response = service.GetStatus(ProfileToken=token)
        except Exception as exc:  # noqa: BLE001 - zeep/requests raise transport and XML errors of many types
            raise PtzError(f"{self.settings.ptz_url}: GetStatus failed ({_short(exc)})") from None
        try:
            reading = parse_status_reply(response.content)
        except PtzError as exc:
            raise PtzError(f"{self.settings.ptz_url}: GetStatus failed (HTTP {response.status_code}, {exc})") from None
        if response.status_code != 200:
            raise PtzError(f"{self.settings.ptz_url}: GetStatus failed (HTTP {response.status_code})")
        return reading

    def direction(self) -> PtzDirection | None:
        """Where the camera looks now, or None (unknown units, no position, or not reachable:
        logged, never raised, so a detection is still placed at the pole)."""
        try:
            reading = self.status()
        except PtzError as exc:
            logger.warning("%s", exc)
            return None
        if reading is None or reading.moving:
            return None  # no position, or the frame may predate the position
        if reading.moving is None and self.settings.settle_s > 0:
            time.sleep(self.settings.settle_s)
            try:
                again = self.status()
            except PtzError as exc:
                logger.warning("%s", exc)
                return None
            if again is None or again.moving or not again.same_position(reading):
                return None  # it moved between the two readings
        return direction(reading, self.settings)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
