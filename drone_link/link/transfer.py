"""Mission-protocol transactions (upload, download, clear) as small state machines.

Shape taken from MAVSDK's ``MavlinkMissionTransferClient``: one class per transaction,
a :class:`Step` enum, a retry cap, a deadline per step and a :class:`Result`. They do no
I/O and read no clock of their own: the caller feeds every received message to
:meth:`Transaction.handle` and calls :meth:`Transaction.tick` with the current time;
messages go out through the injected ``send`` callable. Every message is checked for
source ids, target ids and ``mission_type`` (as MAVProxy's ``mission_item_protocol``
does) so traffic of another vehicle, GCS or list never confuses a transfer.

Real autopilots differ from the newest spec: ArduPilot (up to 4.7) requests items with
the legacy ``MISSION_REQUEST``; both requests are answered with ``MISSION_ITEM_INT``
(or with the float ``MISSION_ITEM`` when ``legacy_items`` is set, for firmware that
predates ``*_INT``). Old firmware also rejects the ``*_INT`` frame values (5, 6, 11):
``frames=FrameStyle.FLOAT_FAMILY`` sends their float twins (0, 3, 10) instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from enum import Enum, IntEnum

from drone_link.link._mav import GCS_COMPONENT_ID, GCS_SYSTEM_ID, mavlink2
from drone_link.mission import MissionItem, MissionType

logger = logging.getLogger(__name__)

Sender = Callable[[object], None]
Clock = Callable[[], float]
Progress = Callable[[int, int], None]


class Step(Enum):
    """Where a transaction is."""

    IDLE = "idle"
    SEND_COUNT = "send_count"  # upload: COUNT sent, waiting for the first request
    SEND_ITEMS = "send_items"  # upload: answering requests, waiting for the final ACK
    REQUEST_LIST = "request_list"  # download: REQUEST_LIST sent, waiting for COUNT
    REQUEST_ITEMS = "request_items"  # download: requesting items one by one
    CLEAR = "clear"  # clear: CLEAR_ALL sent, waiting for the ACK
    DONE = "done"


class Result(Enum):
    """How a transaction ended (vehicle MAV_MISSION_RESULT values mapped, plus local ones)."""

    SUCCESS = "success"
    TIMEOUT = "timeout"
    ERROR = "error"
    UNSUPPORTED_FRAME = "unsupported_frame"
    UNSUPPORTED = "unsupported"
    NO_SPACE = "no_space"
    INVALID = "invalid"
    INVALID_PARAM = "invalid_param"
    INVALID_SEQUENCE = "invalid_sequence"
    DENIED = "denied"
    CANCELLED = "cancelled"
    PROTOCOL_ERROR = "protocol_error"
    REQUEST_STORM = "request_storm"  # the vehicle re-requested items without progress


class MavMissionResult(IntEnum):
    """MAV_MISSION_RESULT (MISSION_ACK.type)."""

    ACCEPTED = 0
    ERROR = 1
    UNSUPPORTED_FRAME = 2
    UNSUPPORTED = 3
    NO_SPACE = 4
    INVALID = 5
    INVALID_PARAM1 = 6
    INVALID_PARAM7 = 12
    INVALID_SEQUENCE = 13
    DENIED = 14
    OPERATION_CANCELLED = 15


def result_from_ack(ack_type: int) -> Result:
    """Map a MISSION_ACK type to a :class:`Result`."""
    t = int(ack_type)
    if t == MavMissionResult.ACCEPTED:
        return Result.SUCCESS
    if MavMissionResult.INVALID_PARAM1 <= t <= MavMissionResult.INVALID_PARAM7:
        return Result.INVALID_PARAM
    return {
        MavMissionResult.UNSUPPORTED_FRAME: Result.UNSUPPORTED_FRAME,
        MavMissionResult.UNSUPPORTED: Result.UNSUPPORTED,
        MavMissionResult.NO_SPACE: Result.NO_SPACE,
        MavMissionResult.INVALID: Result.INVALID,
        MavMissionResult.INVALID_SEQUENCE: Result.INVALID_SEQUENCE,
        MavMissionResult.DENIED: Result.DENIED,
        MavMissionResult.OPERATION_CANCELLED: Result.CANCELLED,
    }.get(t, Result.ERROR)


class FrameStyle(Enum):
    """How frame values go on the wire."""

    AS_GIVEN = "as_given"
    FLOAT_FAMILY = "float_family"  # 5→0, 6→3, 11→10: what old firmware accepts


_INT_TO_FLOAT_FRAME = {5: 0, 6: 3, 11: 10}


def wire_frame(frame: int, style: FrameStyle) -> int:
    if style is FrameStyle.FLOAT_FAMILY:
        return _INT_TO_FLOAT_FRAME.get(int(frame), int(frame))
    return int(frame)


def item_to_msg(item: MissionItem, *, seq: int, target_system: int, target_component: int,
                mission_type: int, legacy: bool = False,
                frames: FrameStyle = FrameStyle.AS_GIVEN, current: int = 0):
    """A MISSION_ITEM_INT (or legacy float MISSION_ITEM) carrying ``item`` as item ``seq``."""
    frame = wire_frame(item.frame, frames)
    common = dict(target_system=target_system, target_component=target_component, seq=seq,
                  frame=frame, command=int(item.command), current=current,
                  autocontinue=int(bool(item.autocontinue)), param1=float(item.param1),
                  param2=float(item.param2), param3=float(item.param3),
                  param4=float(item.param4), z=float(item.alt_m), mission_type=int(mission_type))
    if legacy:
        return mavlink2.MAVLink_mission_item_message(x=float(item.lat_deg), y=float(item.lon_deg),
                                                     **common)
    return mavlink2.MAVLink_mission_item_int_message(
        x=round(item.lat_deg * 1e7), y=round(item.lon_deg * 1e7), **common)


def msg_to_item(msg) -> MissionItem:
    """A :class:`MissionItem` from a received MISSION_ITEM_INT or MISSION_ITEM."""
    if msg.get_type() == "MISSION_ITEM_INT":
        lat, lon = msg.x / 1e7, msg.y / 1e7
    else:
        lat, lon = float(msg.x), float(msg.y)
    return MissionItem(
        command=int(msg.command), frame=int(msg.frame), lat_deg=lat, lon_deg=lon,
        alt_m=float(msg.z), param1=float(msg.param1), param2=float(msg.param2),
        param3=float(msg.param3), param4=float(msg.param4),
        autocontinue=bool(msg.autocontinue),
        mission_type=MissionType(int(getattr(msg, "mission_type", 0) or 0)),
    )


class Transaction:
    """Common part: ids, deadline, retries, result.

    Args:
        send: called with each outgoing pymavlink message object.
        clock: monotonic seconds, read when a message is handled (tests pass a fake).
        target_system, target_component: the vehicle.
        own_system, own_component: this GCS (checked against ``target_*`` fields received).
        mission_type: 0 mission, 1 fence, 2 rally.
        timeout_s: deadline of each step (re-armed whenever the vehicle answers).
        retries: resends allowed without progress before giving up with ``TIMEOUT``.
    """

    def __init__(self, *, send: Sender, clock: Clock, target_system: int,
                 target_component: int = 1, own_system: int = GCS_SYSTEM_ID,
                 own_component: int = GCS_COMPONENT_ID,
                 mission_type: MissionType | int = MissionType.MISSION,
                 timeout_s: float = 0.5, retries: int = 10) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self._send = send
        self._clock = clock
        self.target_system = int(target_system)
        self.target_component = int(target_component)
        self.own_system = int(own_system)
        self.own_component = int(own_component)
        self.mission_type = MissionType(int(mission_type))
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.step = Step.IDLE
        self.result: Result | None = None
        self.detail = ""
        self.retries_done = 0
        self.resends_total = 0
        self._deadline = float("inf")

    @property
    def done(self) -> bool:
        return self.result is not None

    def start(self) -> None:
        raise NotImplementedError

    def handle(self, msg) -> bool:
        """Feed one received message; True if it belonged to this transaction."""
        raise NotImplementedError

    def tick(self, now: float) -> None:
        """Advance time: resend on an expired deadline, or give up after ``retries``."""
        if self.done or now < self._deadline:
            return
        if self.retries_done >= self.retries:
            self._finish(Result.TIMEOUT, f"no answer after {self.retries} retries "
                                         f"of {self.timeout_s:g} s")
            return
        self.retries_done += 1
        self.resends_total += 1
        logger.debug("sys%d %s: timeout in %s, resend %d/%d", self.target_system,
                     type(self).__name__, self.step.name, self.retries_done, self.retries)
        self._resend()
        self._arm(now)

    # -- helpers -----------------------------------------------------------------------
    def _resend(self) -> None:
        raise NotImplementedError

    def _arm(self, now: float | None = None) -> None:
        self._deadline = (self._clock() if now is None else now) + self.timeout_s

    def _finish(self, result: Result, detail: str = "") -> None:
        self.result = result
        self.detail = detail
        self._deadline = float("inf")
        if result is Result.SUCCESS:
            self.step = Step.DONE
        logger.debug("sys%d %s finished: %s %s", self.target_system, type(self).__name__,
                     result.name, detail)

    def _ours(self, msg, types: frozenset[str] | set[str]) -> bool:
        """Same check as MAVProxy's mission_item_protocol: type, source, target, list."""
        if msg.get_type() not in types:
            return False
        if msg.get_srcSystem() != self.target_system:
            return False
        if self.target_component and msg.get_srcComponent() != self.target_component:
            return False
        ts = getattr(msg, "target_system", None)
        if ts is not None and ts not in (0, self.own_system):
            return False
        tc = getattr(msg, "target_component", None)
        if tc is not None and tc not in (0, self.own_component):
            return False
        return int(getattr(msg, "mission_type", 0) or 0) == int(self.mission_type)

    def _ack(self, ack_type: int) -> None:
        self._send(mavlink2.MAVLink_mission_ack_message(
            self.target_system, self.target_component, int(ack_type), int(self.mission_type)))


class MissionUpload(Transaction):
    """MISSION_COUNT → (MISSION_REQUEST_INT | MISSION_REQUEST)* → MISSION_ITEM_INT* → MISSION_ACK.

    The vehicle drives the transfer: any request within range is answered (repeats and
    out-of-order requests included, as happens when packets are lost). On a timeout the
    last message sent is repeated. ``progress(done, total)`` is called when the vehicle
    asks for a new highest item (all before it are stored) and at the end.

    A vehicle that keeps re-requesting items it already has (``max_rerequests`` requests
    without asking for a new item) is cut off with ``Result.REQUEST_STORM`` and a
    MISSION_ACK ``OPERATION_CANCELLED``, instead of being answered forever.
    """

    REQUEST_TYPES = frozenset({"MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK"})

    def __init__(self, items: Sequence[MissionItem], *, legacy_items: bool = False,
                 frames: FrameStyle = FrameStyle.AS_GIVEN, progress: Progress | None = None,
                 max_rerequests: int = 60, **kw) -> None:
        super().__init__(**kw)
        self.items = list(items)
        self.max_rerequests = int(max_rerequests)
        self.invalid_sequence_acks = 0
        self.rerequests_since_progress = 0
        self.legacy_items = legacy_items
        self.frames = frames
        self._progress = progress
        self.highest_sent = -1
        self.legacy_requests_seen = 0
        self._last_sent = None

    @property
    def count(self) -> int:
        return len(self.items)

    def start(self) -> None:
        self.step = Step.SEND_COUNT
        self._last_sent = mavlink2.MAVLink_mission_count_message(
            self.target_system, self.target_component, self.count, int(self.mission_type))
        self._send(self._last_sent)
        self._report(0)
        self._arm()

    def handle(self, msg) -> bool:
        if self.done or not self._ours(msg, self.REQUEST_TYPES):
            return False
        if msg.get_type() == "MISSION_ACK":
            self._on_ack(msg)
            return True
        seq = int(msg.seq)
        if seq < 0 or seq >= self.count:
            self._ack(MavMissionResult.OPERATION_CANCELLED)
            self._finish(Result.PROTOCOL_ERROR, f"vehicle requested item {seq} of {self.count}")
            return True
        if msg.get_type() == "MISSION_REQUEST":
            self.legacy_requests_seen += 1
        self.step = Step.SEND_ITEMS
        self._last_sent = item_to_msg(
            self.items[seq], seq=seq, target_system=self.target_system,
            target_component=self.target_component, mission_type=int(self.mission_type),
            legacy=self.legacy_items, frames=self.frames)
        self._send(self._last_sent)
        if seq > self.highest_sent:
            self.highest_sent = seq
            self.retries_done = 0
            self.rerequests_since_progress = 0
            self._report(seq)
        else:
            self.rerequests_since_progress += 1
            if self.rerequests_since_progress > self.max_rerequests:
                self._ack(MavMissionResult.OPERATION_CANCELLED)
                self._finish(Result.REQUEST_STORM,
                             f"re-request storm: item {seq} requested again "
                             f"{self.rerequests_since_progress} times without progress")
                return True
        self._arm()
        return True

    def cancel(self) -> None:
        """Stop the upload now (operator abort): tell the vehicle with MISSION_ACK CANCELLED."""
        if not self.done:
            self._ack(MavMissionResult.OPERATION_CANCELLED)
            self._finish(Result.CANCELLED, "cancelled by the ground station")

    def _on_ack(self, msg) -> None:
        result = result_from_ack(msg.type)
        if result is Result.INVALID_SEQUENCE and self.step is Step.SEND_ITEMS:
            # ArduPilot answers an item it already has (our resend crossed its request)
            # with this ACK and carries on; QGroundControl ignores it the same way.
            self.invalid_sequence_acks += 1
            return
        if result is not Result.SUCCESS:
            self._finish(result, f"vehicle answered MISSION_ACK type {int(msg.type)}")
            return
        if self.count and self.highest_sent != self.count - 1:
            # An ACK for an earlier transfer or a vehicle that skipped items.
            if self.step is Step.SEND_COUNT:
                return
            self._finish(Result.PROTOCOL_ERROR,
                         f"accepted after item {self.highest_sent} of {self.count}")
            return
        self._report(self.count)
        self._finish(Result.SUCCESS)

    def _resend(self) -> None:
        if self._last_sent is not None:
            self._send(self._last_sent)

    def _report(self, done: int) -> None:
        if self._progress is not None:
            self._progress(done, self.count)


class MissionDownload(Transaction):
    """MISSION_REQUEST_LIST → MISSION_COUNT → (MISSION_REQUEST_INT → MISSION_ITEM_INT)* → MISSION_ACK."""

    TYPES = frozenset({"MISSION_COUNT", "MISSION_ITEM_INT", "MISSION_ITEM", "MISSION_ACK"})

    def __init__(self, *, legacy_items: bool = False, progress: Progress | None = None,
                 **kw) -> None:
        super().__init__(**kw)
        self.legacy_items = legacy_items
        self._progress = progress
        self.count: int | None = None
        self.items: list[MissionItem] = []

    def start(self) -> None:
        self.step = Step.REQUEST_LIST
        self._send(mavlink2.MAVLink_mission_request_list_message(
            self.target_system, self.target_component, int(self.mission_type)))
        self._arm()

    def handle(self, msg) -> bool:
        if self.done or not self._ours(msg, self.TYPES):
            return False
        kind = msg.get_type()
        if kind == "MISSION_ACK":
            result = result_from_ack(msg.type)
            if result is not Result.SUCCESS:
                self._finish(result, f"vehicle answered MISSION_ACK type {int(msg.type)}")
            return True
        if kind == "MISSION_COUNT":
            if self.step is not Step.REQUEST_LIST:
                return True  # repeated COUNT after our resend: already handled
            self.count = int(msg.count)
            self.retries_done = 0
            if self.count == 0:
                self._ack(MavMissionResult.ACCEPTED)
                self._finish(Result.SUCCESS)
                return True
            self.step = Step.REQUEST_ITEMS
            self._request(0)
            self._arm()
            return True
        if self.step is not Step.REQUEST_ITEMS:
            return True
        seq = int(msg.seq)
        if seq != len(self.items):
            return True  # duplicate of an item we have, or out of order: ignore
        self.items.append(msg_to_item(msg))
        self.retries_done = 0
        if self._progress is not None:
            self._progress(len(self.items), self.count or 0)
        if len(self.items) == self.count:
            self._ack(MavMissionResult.ACCEPTED)
            self._finish(Result.SUCCESS)
            return True
        self._request(len(self.items))
        self._arm()
        return True

    def _request(self, seq: int) -> None:
        cls = (mavlink2.MAVLink_mission_request_message if self.legacy_items
               else mavlink2.MAVLink_mission_request_int_message)
        self._send(cls(self.target_system, self.target_component, seq, int(self.mission_type)))

    def _resend(self) -> None:
        if self.step is Step.REQUEST_LIST:
            self._send(mavlink2.MAVLink_mission_request_list_message(
                self.target_system, self.target_component, int(self.mission_type)))
        else:
            self._request(len(self.items))


class MissionClear(Transaction):
    """MISSION_CLEAR_ALL → MISSION_ACK."""

    def start(self) -> None:
        self.step = Step.CLEAR
        self._resend()
        self._arm()

    def handle(self, msg) -> bool:
        if self.done or not self._ours(msg, {"MISSION_ACK"}):
            return False
        result = result_from_ack(msg.type)
        self._finish(result, "" if result is Result.SUCCESS
                     else f"vehicle answered MISSION_ACK type {int(msg.type)}")
        return True

    def _resend(self) -> None:
        self._send(mavlink2.MAVLink_mission_clear_all_message(
            self.target_system, self.target_component, int(self.mission_type)))
