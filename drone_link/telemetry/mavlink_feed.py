"""MAVLink messages → :class:`~drone_link.telemetry.pose.PoseTrack` samples, live or from a ``.tlog``.

Read: ``GLOBAL_POSITION_INT`` (position; ``relative_alt`` is taken as the height above
the ground, i.e. flat terrain at home height), ``ATTITUDE`` (vehicle roll/pitch/yaw),
and the gimbal from ``MOUNT_STATUS`` (ArduPilot; centidegrees, yaw relative to the
vehicle), ``MOUNT_ORIENTATION`` (ArduPilot 4.x) or ``GIMBAL_DEVICE_ATTITUDE_STATUS``
(MAVLink gimbal protocol v2; quaternion, yaw frame from its flags).

Live links time each message by its arrival (wall clock, like the video frames); a
recorded ``.tlog`` carries the time each message was logged, which pymavlink exposes as
``msg._timestamp``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from drone_link.telemetry.pose import GimbalSample, GimbalYawFrame, PoseTrack

logger = logging.getLogger(__name__)

GIMBAL_DEVICE_FLAGS_YAW_LOCK = 16
GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME = 4096
GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME = 2048
POSE_MESSAGES = ("GLOBAL_POSITION_INT", "ATTITUDE", "MOUNT_STATUS", "MOUNT_ORIENTATION",
                 "GIMBAL_DEVICE_ATTITUDE_STATUS")


def quaternion_to_euler_deg(q) -> tuple[float, float, float]:
    """(roll, pitch, yaw) degrees of a MAVLink quaternion ``[w, x, y, z]`` (NED, Tait-Bryan ZYX)."""
    w, x, y, z = (float(v) for v in q)
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return math.degrees(roll), math.degrees(pitch), math.degrees(yaw)


@dataclass
class FeedStats:
    positions: int = 0
    attitudes: int = 0
    gimbal: int = 0
    gimbal_source: str | None = None


class PoseFeed:
    """Folds pose messages of one vehicle (``system_id``; None = the first one seen) into a track."""

    def __init__(self, track: PoseTrack, *, system_id: int | None = None,
                 mount_status_yaw_frame: GimbalYawFrame = GimbalYawFrame.BODY) -> None:
        self.track = track
        self.system_id = system_id
        self.mount_status_yaw_frame = mount_status_yaw_frame
        self.stats = FeedStats()

    def update(self, msg, t_s: float) -> bool:
        """Fold one message in (``t_s`` on the track's clock); True if it was used."""
        mtype = msg.get_type()
        if mtype not in POSE_MESSAGES:
            return False
        src = msg.get_srcSystem()
        if mtype in ("GLOBAL_POSITION_INT", "ATTITUDE"):
            if self.system_id is None:
                self.system_id = src
            if src != self.system_id:
                return False
        elif self.system_id is not None and src != self.system_id:
            return False
        if mtype == "GLOBAL_POSITION_INT":
            if msg.lat == 0 and msg.lon == 0:
                return False  # no fix yet
            self.track.add_position(t_s, lat_deg=msg.lat / 1e7, lon_deg=msg.lon / 1e7,
                                    alt_agl_m=msg.relative_alt / 1000.0)
            self.stats.positions += 1
        elif mtype == "ATTITUDE":
            self.track.add_attitude(t_s, roll_deg=math.degrees(msg.roll), pitch_deg=math.degrees(msg.pitch),
                                    yaw_deg=math.degrees(msg.yaw))
            self.stats.attitudes += 1
        elif mtype == "MOUNT_STATUS":
            self._gimbal(t_s, GimbalSample(msg.pointing_a / 100.0, msg.pointing_b / 100.0, msg.pointing_c / 100.0,
                                           self.mount_status_yaw_frame), mtype)
        elif mtype == "MOUNT_ORIENTATION":
            self._gimbal(t_s, GimbalSample(msg.pitch, msg.roll, msg.yaw, GimbalYawFrame.BODY), mtype)
        else:  # GIMBAL_DEVICE_ATTITUDE_STATUS
            roll, pitch, yaw = quaternion_to_euler_deg(msg.q)
            if any(math.isnan(v) for v in (roll, pitch, yaw)):
                return False
            flags = int(msg.flags)
            earth = bool(flags & (GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME | GIMBAL_DEVICE_FLAGS_YAW_LOCK)) and \
                not flags & GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME
            self._gimbal(t_s, GimbalSample(pitch, roll, yaw, GimbalYawFrame.EARTH if earth else GimbalYawFrame.BODY),
                         mtype)
        return True

    def _gimbal(self, t_s: float, sample: GimbalSample, source: str) -> None:
        self.track.add_gimbal(t_s, sample)
        self.stats.gimbal += 1
        self.stats.gimbal_source = source


def read_tlog(path: Path, track: PoseTrack, *, system_id: int | None = None) -> FeedStats:
    """Load every pose message of a recorded ``.tlog`` into ``track`` (times: the log's clock).

    Raises ValueError naming the file when it holds no position at all.
    """
    from pymavlink import mavutil

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such telemetry log")
    feed = PoseFeed(track, system_id=system_id)
    try:
        # pymavlink indexes a .tlog on open and can raise anything (AttributeError, struct.error,
        # IndexError ...) on bytes that are not MAVLink: one clear error naming the file instead.
        mlog = mavutil.mavlink_connection(str(path), dialect="ardupilotmega", robust_parsing=True)
    except Exception as exc:  # third-party parser on hostile bytes
        raise ValueError(f"{path}: not a MAVLink telemetry log ({type(exc).__name__})") from exc
    try:
        while True:
            try:
                msg = mlog.recv_match(type=list(POSE_MESSAGES), blocking=False)
            except Exception as exc:  # same: corrupt bytes inside the log
                raise ValueError(f"{path}: corrupt MAVLink telemetry log ({type(exc).__name__})") from exc
            if msg is None:
                break
            if msg.get_type() == "BAD_DATA":
                continue
            feed.update(msg, float(getattr(msg, "_timestamp", 0.0)))
    finally:
        mlog.close()
    if feed.stats.positions == 0:
        raise ValueError(f"{path}: no GLOBAL_POSITION_INT in this telemetry log")
    return feed.stats


class LivePoseFeed:
    """A MAVLink connection read on its own thread into a track (arrival wall-clock times).

    It listens only (sends a GCS heartbeat once a second so the vehicle streams to it);
    the drone worker keeps the command link.
    """

    def __init__(self, connection: str, track: PoseTrack, *, system_id: int | None = None,
                 label: str = "drone") -> None:
        self.connection, self.track, self.label = connection, track, label
        self.feed = PoseFeed(track, system_id=system_id)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def start(self) -> LivePoseFeed:
        self._thread = threading.Thread(target=self._run, name=f"pose-{self.label}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 3.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        from pymavlink import mavutil

        try:
            conn = mavutil.mavlink_connection(self.connection, source_system=254, dialect="ardupilotmega")
        except OSError as exc:
            self.error = f"{self.connection}: {exc}"
            logger.error("%s: telemetry link failed: %s", self.label, self.error)
            return
        last_hb = 0.0
        try:
            while not self._stop.is_set():
                now = time.time()
                if now - last_hb >= 1.0:
                    last_hb = now
                    try:
                        conn.mav.heartbeat_send(6, 8, 0, 0, 0)  # GCS, no autopilot
                    except OSError:
                        pass  # udpin before the vehicle spoke: nowhere to send yet
                msg = conn.recv_match(blocking=True, timeout=0.2)
                if msg is not None:
                    self.feed.update(msg, time.time())
        finally:
            conn.close()
