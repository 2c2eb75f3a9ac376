"""Geofence upload for ArduPilot firmware without the mission-protocol fence (before 4.0).

Such firmware (the ArduCopter 3.6 SITL in ``../shared/sitl`` among them) does not answer
``MISSION_COUNT`` with ``mission_type`` 1 and does not set the ``MISSION_FENCE``
capability bit in ``AUTOPILOT_VERSION``. Its fence is the ``FENCE_POINT`` list plus
parameters, as MAVProxy's ``fence`` module writes it:

1. ``PARAM_SET FENCE_TOTAL = n + 2`` (confirmed by ``PARAM_VALUE``);
2. ``FENCE_POINT`` 0 = the return point (the polygon's centroid), 1..n = the vertices,
   n + 1 = the first vertex again (closing point); each is read back with
   ``FENCE_FETCH_POINT`` and compared as float32 before the next is sent;
3. ``FENCE_TYPE`` gets the polygon bit (4) and, for an inclusion circle, ``FENCE_RADIUS``
   its radius (the circle is centred on home on this firmware);
4. ``FENCE_ENABLE = 1`` so the autopilot's own breach failsafe (``FENCE_ACTION``) acts.

Exclusion zones and more than one inclusion polygon do not exist on this firmware:
:func:`legacy_fence_plan` refuses them before anything is sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from drone_link.link._mav import mavlink2
from drone_link.link.transfer import Result, Step, Transaction
from drone_link.link.verify import same_float32
from drone_link.mission import Cmd, MissionItem, MissionType

logger = logging.getLogger(__name__)

MAV_PARAM_TYPE_REAL32 = 9
FENCE_TYPE_POLYGON = 4
FENCE_TYPE_CIRCLE = 2


@dataclass(frozen=True)
class LegacyFence:
    """What the FENCE_POINT protocol can carry: one inclusion polygon and/or a circle radius."""

    polygon: tuple[tuple[float, float], ...] = ()  # (lat_deg, lon_deg) vertices
    circle_radius_m: float | None = None

    def points(self) -> list[tuple[float, float]]:
        """Return point, vertices, closing point (the list FENCE_TOTAL counts)."""
        if not self.polygon:
            return []
        lat_c = sum(p[0] for p in self.polygon) / len(self.polygon)
        lon_c = sum(p[1] for p in self.polygon) / len(self.polygon)
        return [(lat_c, lon_c), *self.polygon, self.polygon[0]]


class LegacyFenceUnsupported(ValueError):
    """The fence uses a feature the FENCE_POINT protocol does not have (item named)."""


def legacy_fence_plan(items: list[MissionItem]) -> LegacyFence:
    """Map mission-protocol fence items onto :class:`LegacyFence`, or refuse naming the item."""
    polygon: list[tuple[float, float]] = []
    radius = None
    for i, it in enumerate(items):
        cmd = int(it.command)
        if cmd == Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION:
            first_count = int(items[i - len(polygon)].param1) if polygon else int(it.param1)
            if polygon and first_count and len(polygon) >= first_count:
                raise LegacyFenceUnsupported(
                    f"fence item {i}: a second inclusion polygon needs ArduPilot 4.0+")
            polygon.append((it.lat_deg, it.lon_deg))
        elif cmd == Cmd.NAV_FENCE_CIRCLE_INCLUSION:
            if radius is not None:
                raise LegacyFenceUnsupported(f"fence item {i}: a second inclusion circle needs ArduPilot 4.0+")
            radius = float(it.param1)
        else:
            raise LegacyFenceUnsupported(
                f"fence item {i}: command {cmd} (exclusion zone) needs ArduPilot 4.0+ "
                "(this vehicle has only the FENCE_POINT protocol)")
    if polygon and len(polygon) < 3:
        raise LegacyFenceUnsupported("fence: an inclusion polygon needs at least 3 vertices")
    return LegacyFence(tuple(polygon), radius)


class _Phase(Enum):
    SET_TOTAL = "set_total"
    POINTS = "points"
    READ_TYPE = "read_type"
    SET_TYPE = "set_type"
    SET_RADIUS = "set_radius"
    ENABLE = "enable"


def _name(msg) -> str:
    pid = msg.param_id
    return (pid.decode("ascii", "replace") if isinstance(pid, bytes) else str(pid)).rstrip("\x00")


class LegacyFenceUpload(Transaction):
    """The FENCE_POINT upload above as a transaction (``handle``/``tick``, injected I/O)."""

    TYPES = frozenset({"PARAM_VALUE", "FENCE_POINT"})

    def __init__(self, fence: LegacyFence, *, enable: bool = True, **kw) -> None:
        kw.setdefault("mission_type", MissionType.FENCE)
        super().__init__(**kw)
        self.fence = fence
        self.enable = enable
        self.points = fence.points()
        self.phase = _Phase.SET_TOTAL
        self.index = 0
        self.fence_type: int | None = None

    def start(self) -> None:
        self.step = Step.SEND_ITEMS
        self._enter(_Phase.SET_TOTAL)

    # -- phases ------------------------------------------------------------------------
    def _enter(self, phase: _Phase) -> None:
        self.phase = phase
        self.retries_done = 0
        self._resend()
        self._arm()

    def _next_after_points(self) -> None:
        if self.points:
            self._enter(_Phase.READ_TYPE)
        elif self.fence.circle_radius_m is not None:
            self._enter(_Phase.SET_RADIUS)
        else:
            self._after_config()

    def _after_config(self) -> None:
        if self.enable and (self.points or self.fence.circle_radius_m is not None):
            self._enter(_Phase.ENABLE)
        else:
            self._finish(Result.SUCCESS)

    def _resend(self) -> None:
        p = self.phase
        if p is _Phase.SET_TOTAL:
            self._param_set("FENCE_TOTAL", float(len(self.points)))
        elif p is _Phase.POINTS:
            lat, lon = self.points[self.index]
            self._send(mavlink2.MAVLink_fence_point_message(
                self.target_system, self.target_component, self.index, len(self.points), lat, lon))
            self._send(mavlink2.MAVLink_fence_fetch_point_message(
                self.target_system, self.target_component, self.index))
        elif p is _Phase.READ_TYPE:
            self._send(mavlink2.MAVLink_param_request_read_message(
                self.target_system, self.target_component, b"FENCE_TYPE", -1))
        elif p is _Phase.SET_TYPE:
            self._param_set("FENCE_TYPE", float(self._wanted_type()))
        elif p is _Phase.SET_RADIUS:
            self._param_set("FENCE_RADIUS", float(self.fence.circle_radius_m or 0.0))
        elif p is _Phase.ENABLE:
            self._param_set("FENCE_ENABLE", 1.0)

    def _wanted_type(self) -> int:
        t = int(self.fence_type or 0) | FENCE_TYPE_POLYGON
        if self.fence.circle_radius_m is not None:
            t |= FENCE_TYPE_CIRCLE
        return t

    def _param_set(self, name: str, value: float) -> None:
        self._send(mavlink2.MAVLink_param_set_message(
            self.target_system, self.target_component, name.encode("ascii"), value,
            MAV_PARAM_TYPE_REAL32))

    # -- receiving ---------------------------------------------------------------------
    def _from_vehicle(self, msg) -> bool:
        return msg.get_type() in self.TYPES and msg.get_srcSystem() == self.target_system

    def handle(self, msg) -> bool:
        if self.done or not self._from_vehicle(msg):
            return False
        p = self.phase
        if msg.get_type() == "FENCE_POINT":
            if p is not _Phase.POINTS or int(msg.idx) != self.index:
                return True
            lat, lon = self.points[self.index]
            if not (same_float32(msg.lat, lat) and same_float32(msg.lng, lon)):
                self._finish(Result.ERROR, f"fence point {self.index} read back as "
                                           f"{msg.lat:.7f},{msg.lng:.7f}, sent {lat:.7f},{lon:.7f}")
                return True
            self.index += 1
            if self.index == len(self.points):
                self._next_after_points()
            else:
                self._enter(_Phase.POINTS)
            return True
        name, value = _name(msg), float(msg.param_value)
        if p is _Phase.SET_TOTAL and name == "FENCE_TOTAL":
            if int(value) != len(self.points):
                self._finish(Result.DENIED, f"vehicle kept FENCE_TOTAL={value:g}")
            elif self.points:
                self.index = 0
                self._enter(_Phase.POINTS)
            else:
                self._next_after_points()
        elif p is _Phase.READ_TYPE and name == "FENCE_TYPE":
            self.fence_type = int(value)
            if self._wanted_type() != self.fence_type:
                self._enter(_Phase.SET_TYPE)
            elif self.fence.circle_radius_m is not None:
                self._enter(_Phase.SET_RADIUS)
            else:
                self._after_config()
        elif p is _Phase.SET_TYPE and name == "FENCE_TYPE":
            if self.fence.circle_radius_m is not None:
                self._enter(_Phase.SET_RADIUS)
            else:
                self._after_config()
        elif p is _Phase.SET_RADIUS and name == "FENCE_RADIUS":
            self._after_config()
        elif p is _Phase.ENABLE and name == "FENCE_ENABLE":
            if value != 1.0:
                self._finish(Result.DENIED, "vehicle did not enable the fence")
            else:
                self._finish(Result.SUCCESS)
        return True
