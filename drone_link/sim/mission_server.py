"""Vehicle side of the MAVLink mission protocol (mission, fence and rally lists).

Behaves like ArduPilot's ``MissionItemProtocol``: the vehicle drives an upload by
requesting items in order and re-requesting after ``request_timeout_s``; duplicates and
out-of-order items are ignored; a repeated final item after completion is answered with
the ACK again (the GCS lost it). Downloads are stateless. Mission item 0 is the home
position (ArduPilot convention; off for PX4): whatever the GCS sends there is replaced by
the home.
``legacy`` rejects the ``*_INT`` frame values. Requests go out as the legacy
``MISSION_REQUEST`` as ArduPilot (up to 4.7) sends them, unless ``request_int``.

Stored items are normalised as the real autopilots store them (``normalise``), so a
ground station that compares byte for byte fails here as it would on the vehicle:
ArduPilot keeps only the params ``AP_Mission`` stores per command (NAV_WAYPOINT yaw
NaN or 90 comes back 0), float32 params, altitudes as int32 centimetres, frame 0 for
commands without a position, ``autocontinue`` 1; PX4 keeps params as float32 and wraps
NAV_WAYPOINT yaw into [0, 360).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from drone_link.link._mav import mavlink2
from drone_link.link.transfer import MavMissionResult, item_to_msg, msg_to_item
from drone_link.mission import Cmd, Frame, MissionItem, MissionType

logger = logging.getLogger(__name__)

INT_FRAMES = frozenset({5, 6, 11})
FENCE_COMMANDS = frozenset({Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                            Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
                            Cmd.NAV_FENCE_CIRCLE_INCLUSION, Cmd.NAV_FENCE_CIRCLE_EXCLUSION,
                            5000})  # 5000 = NAV_FENCE_RETURN_POINT
RALLY_COMMANDS = frozenset({Cmd.NAV_RALLY_POINT})


@dataclass
class _Upload:
    mission_type: MissionType
    count: int
    partner: tuple[int, int]
    items: list[MissionItem] = field(default_factory=list)
    last_request_s: float = 0.0
    last_progress_s: float = 0.0


@dataclass
class MissionServerStats:
    uploads_ok: int = 0
    uploads_failed: int = 0
    requests_sent: int = 0
    rerequests: int = 0
    items_received: int = 0
    duplicates: int = 0


class MissionServer:
    def __init__(self, *, sysid: int, compid: int = 1, send: Callable[[object], None],
                 clock: Callable[[], float], legacy: bool = False, max_items: int = 1000,
                 request_timeout_s: float = 0.25, upload_timeout_s: float = 8.0,
                 home: Callable[[], MissionItem | None] = lambda: None,
                 home_at_zero: bool = True, request_int: bool = False,
                 normalise: str = "ardupilot", pace_s: float = 0.0,
                 on_change: Callable[[MissionType], None] = lambda t: None) -> None:
        self.sysid = sysid
        self.compid = compid
        self._send = send
        self._clock = clock
        self.legacy = legacy
        self.max_items = max_items
        self.request_timeout_s = request_timeout_s
        self.upload_timeout_s = upload_timeout_s
        self._home = home
        self.home_at_zero = home_at_zero
        self.request_int = request_int
        self.normalise = normalise
        self.pace_s = pace_s  # ArduPilot answers one mission message per loop (~25-30 ms in SITL)
        self._queue: deque = deque()
        self._next_out_s = 0.0
        self._on_change = on_change
        self.lists: dict[MissionType, list[MissionItem]] = {t: [] for t in MissionType}
        self._upload: _Upload | None = None
        self._completed: dict[MissionType, tuple[int, tuple[int, int]]] = {}
        self.stats = MissionServerStats()

    # -- public ------------------------------------------------------------------------
    def items(self, mission_type: MissionType = MissionType.MISSION) -> list[MissionItem]:
        lst = list(self.lists[mission_type])
        if mission_type is MissionType.MISSION and self.home_at_zero:
            home = self._home()
            if home is not None:
                lst = [home] + lst[1:] if lst else [home]
        return lst

    def handle(self, msg) -> bool:
        kind = msg.get_type()
        handler = _HANDLERS.get(kind)
        if handler is None:
            return False
        if getattr(msg, "target_system", 0) not in (0, self.sysid):
            return False
        if getattr(msg, "target_component", 0) not in (0, self.compid):
            return False
        handler(self, msg)
        return True

    def _out(self, msg) -> None:
        """Send now, or paced like the autopilot's loop when ``pace_s`` is set."""
        if self.pace_s <= 0:
            self._send(msg)
        else:
            self._queue.append(msg)

    def tick(self, now: float) -> None:
        if self._queue and now >= self._next_out_s:
            self._send(self._queue.popleft())
            self._next_out_s = now + self.pace_s
        up = self._upload
        if up is None:
            return
        if now - up.last_progress_s > self.upload_timeout_s:
            logger.info("sys%d: %s upload timed out at item %d/%d", self.sysid,
                        up.mission_type.name.lower(), len(up.items), up.count)
            self._ack(up.partner, up.mission_type, MavMissionResult.OPERATION_CANCELLED)
            self._upload = None
            self.stats.uploads_failed += 1
            return
        if now - up.last_request_s >= self.request_timeout_s:
            self.stats.rerequests += 1
            self._request_next(now)

    # -- handlers ----------------------------------------------------------------------
    def _on_count(self, msg) -> None:
        mtype = _mtype(msg)
        if mtype is None:
            return
        partner = (msg.get_srcSystem(), msg.get_srcComponent())
        count = int(msg.count)
        if count > self.max_items:
            self._ack(partner, mtype, MavMissionResult.NO_SPACE)
            return
        if count == 0:
            self._commit(mtype, [], partner)
            return
        now = self._clock()
        self._upload = _Upload(mtype, count, partner, last_progress_s=now)
        self._request_next(now)

    def _on_item(self, msg) -> None:
        mtype = _mtype(msg)
        if mtype is None:
            return
        partner = (msg.get_srcSystem(), msg.get_srcComponent())
        up = self._upload
        seq = int(msg.seq)
        if up is None or up.mission_type != mtype or up.partner != partner:
            done = self._completed.get(mtype)
            if done is not None and done[1] == partner and seq == done[0] - 1:
                self._ack(partner, mtype, MavMissionResult.ACCEPTED)  # our ACK was lost
            return
        if seq != len(up.items):
            self.stats.duplicates += 1
            if self.normalise == "ardupilot":  # as ArduPilot: say so, keep the transfer going
                self._ack(partner, mtype, MavMissionResult.INVALID_SEQUENCE)
            if seq < len(up.items):  # the GCS resent: our request was lost, ask again now
                self._request_next(self._clock())
            return
        if self.legacy and int(msg.frame) in INT_FRAMES:
            self._fail(MavMissionResult.UNSUPPORTED_FRAME, f"frame {int(msg.frame)} unsupported")
            return
        item = msg_to_item(msg)
        reason = self._invalid(mtype, item)
        if reason:
            self._fail(MavMissionResult.UNSUPPORTED, reason)
            return
        self.stats.items_received += 1
        up.items.append(normalise_item(item, self.normalise))
        now = self._clock()
        up.last_progress_s = now
        if len(up.items) == up.count:
            self._upload = None
            self._commit(mtype, up.items, partner)
        else:
            self._request_next(now)

    def _on_request_list(self, msg) -> None:
        mtype = _mtype(msg)
        if mtype is None:
            return
        self._out(mavlink2.MAVLink_mission_count_message(
            msg.get_srcSystem(), msg.get_srcComponent(), len(self.items(mtype)), int(mtype)))

    def _on_request(self, msg) -> None:
        mtype = _mtype(msg)
        if mtype is None:
            return
        items = self.items(mtype)
        seq = int(msg.seq)
        if not 0 <= seq < len(items):
            self._ack((msg.get_srcSystem(), msg.get_srcComponent()), mtype,
                      MavMissionResult.INVALID_SEQUENCE)
            return
        self._out(item_to_msg(items[seq], seq=seq, target_system=msg.get_srcSystem(),
                               target_component=msg.get_srcComponent(), mission_type=int(mtype),
                               legacy=msg.get_type() == "MISSION_REQUEST"))

    def _on_clear(self, msg) -> None:
        mtype = _mtype(msg)
        if mtype is None:
            return
        self._commit(mtype, [], (msg.get_srcSystem(), msg.get_srcComponent()))

    def _on_ack(self, msg) -> None:
        up = self._upload
        mtype = _mtype(msg)
        if up is not None and mtype == up.mission_type and int(msg.type) != 0 \
                and (msg.get_srcSystem(), msg.get_srcComponent()) == up.partner:
            logger.info("sys%d: GCS cancelled the %s upload", self.sysid, mtype.name.lower())
            self._upload = None
            self.stats.uploads_failed += 1

    # -- helpers -----------------------------------------------------------------------
    def _invalid(self, mtype: MissionType, item: MissionItem) -> str:
        if mtype is MissionType.FENCE and int(item.command) not in FENCE_COMMANDS:
            return f"command {int(item.command)} is not a fence item"
        if mtype is MissionType.RALLY and int(item.command) not in RALLY_COMMANDS:
            return f"command {int(item.command)} is not a rally point"
        return ""

    def _fail(self, result: MavMissionResult, reason: str) -> None:
        up = self._upload
        assert up is not None
        logger.info("sys%d: %s upload rejected: %s", self.sysid, up.mission_type.name.lower(), reason)
        self._ack(up.partner, up.mission_type, result)
        self._upload = None
        self.stats.uploads_failed += 1

    def _commit(self, mtype: MissionType, items: list[MissionItem], partner) -> None:
        if mtype is MissionType.MISSION and items and self.home_at_zero:
            items = [MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL)] + items[1:]  # item 0 = home
        self.lists[mtype] = list(items)
        self._completed[mtype] = (len(items), partner)
        self.stats.uploads_ok += 1
        self._ack(partner, mtype, MavMissionResult.ACCEPTED)
        self._on_change(mtype)

    def _request_next(self, now: float) -> None:
        up = self._upload
        assert up is not None
        cls = mavlink2.MAVLink_mission_request_int_message if self.request_int and not self.legacy \
            else mavlink2.MAVLink_mission_request_message
        self._out(cls(up.partner[0], up.partner[1], len(up.items), int(up.mission_type)))
        up.last_request_s = now
        self.stats.requests_sent += 1

    def _ack(self, partner, mtype: MissionType, result: int) -> None:
        self._out(mavlink2.MAVLink_mission_ack_message(partner[0], partner[1], int(result),
                                                        int(mtype)))


def normalise_item(item: MissionItem, style: str) -> MissionItem:
    """``item`` as the autopilot stores it (see the module docstring)."""
    import dataclasses
    import math

    from drone_link.link.verify import (
        ARDUPILOT_INTEGER_PARAMS,
        ARDUPILOT_STORED_PARAMS,
        POSITION_COMMANDS,
        float32,
    )

    cmd = int(item.command)
    params = [float32(p) for p in item.params]
    if style == "px4":
        if cmd == 16 and not math.isnan(params[3]):
            params[3] = float32(params[3] % 360.0)
        return dataclasses.replace(item, param1=params[0], param2=params[1], param3=params[2],
                                   param4=params[3], alt_m=float32(item.alt_m))
    stored = ARDUPILOT_STORED_PARAMS.get(cmd, frozenset({1, 2, 3, 4}))
    for k in range(4):
        if (k + 1) not in stored or math.isnan(params[k]):
            params[k] = 0.0
        elif (cmd, k + 1) in ARDUPILOT_INTEGER_PARAMS:
            params[k] = float(math.trunc(params[k]))
    positioned = cmd in POSITION_COMMANDS
    return dataclasses.replace(
        item, param1=params[0], param2=params[1], param3=params[2], param4=params[3],
        frame=int(item.frame) if positioned else 0,
        alt_m=round(item.alt_m * 100.0) / 100.0 if positioned else 0.0,
        lat_deg=item.lat_deg if positioned else 0.0, lon_deg=item.lon_deg if positioned else 0.0,
        autocontinue=True)


def _mtype(msg) -> MissionType | None:
    try:
        return MissionType(int(getattr(msg, "mission_type", 0) or 0))
    except ValueError:
        return None


_HANDLERS = {
    "MISSION_COUNT": MissionServer._on_count,
    "MISSION_ITEM_INT": MissionServer._on_item,
    "MISSION_ITEM": MissionServer._on_item,
    "MISSION_REQUEST_LIST": MissionServer._on_request_list,
    "MISSION_REQUEST_INT": MissionServer._on_request,
    "MISSION_REQUEST": MissionServer._on_request,
    "MISSION_CLEAR_ALL": MissionServer._on_clear,
    "MISSION_ACK": MissionServer._on_ack,
}
