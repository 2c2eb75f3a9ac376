"""Timestamped drone pose and gimbal samples, interpolated to the time of a video frame.

Telemetry (position, vehicle attitude, gimbal attitude) arrives as separate streams at
their own rates, and video frames arrive at theirs. :class:`PoseTrack` records each
stream with its times (one clock for all: arrival wall clock for a live link, the log's
own clock for a ``.tlog``, video seconds for a DJI ``.SRT``) and answers
:meth:`PoseTrack.pose_at` for a frame time by linear interpolation between the two
samples around it (angles on the circle: 359° → 1° passes through 0°, not 180°).

A frame is never placed by guessing: when a needed stream has no sample within
``max_age_s`` of the frame time, or its two neighbours are further apart than
``max_gap_s`` (a telemetry gap), the answer is a :class:`PoseFix` without a pose and with
the reason, and the frame stays un-georeferenced.
"""

from __future__ import annotations

import bisect
import enum
import math
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class DronePose:
    """Drone camera pose at one instant (degrees, metres; heights above the ground below).

    For a stabilised gimbal that reports absolute angles, ``pitch_deg = roll_deg = 0``,
    ``yaw_deg`` is the camera's absolute heading and ``gimbal_yaw_deg = 0`` (see
    :func:`geo.aerial.aerial_pose`).
    """

    lat: float
    lon: float
    alt_agl_m: float
    yaw_deg: float
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    gimbal_pitch_deg: float = -90.0
    gimbal_yaw_deg: float = 0.0


class Channel(str, enum.Enum):
    POSITION = "position"  # lat_deg, lon_deg, alt_agl_m
    ATTITUDE = "attitude"  # roll_deg, pitch_deg, yaw_deg
    GIMBAL = "gimbal"  # pitch_deg (earth frame), roll_deg, yaw_deg (see yaw_in_earth_frame)


# Which values of each channel are angles (interpolated on the circle).
_ANGLES = {Channel.POSITION: (False, False, False), Channel.ATTITUDE: (True, True, True),
           Channel.GIMBAL: (True, True, True)}


class GimbalYawFrame(str, enum.Enum):
    BODY = "body"  # yaw relative to the vehicle's nose (follow mode)
    EARTH = "earth"  # absolute heading (lock mode, DJI gb_yaw)


@dataclass(frozen=True)
class GimbalSample:
    pitch_deg: float
    roll_deg: float
    yaw_deg: float
    yaw_frame: GimbalYawFrame


class MountMode(str, enum.Enum):
    """Where the camera's attitude comes from."""

    GIMBAL = "gimbal"  # gimbal telemetry required (MOUNT_STATUS, GIMBAL_DEVICE_ATTITUDE_STATUS, SRT gb_*)
    FIXED = "fixed"  # camera bolted to the airframe at a fixed pitch: vehicle attitude + mount angle


@dataclass(frozen=True)
class PoseFix:
    """The answer for one frame time: a pose, or the reason there is none."""

    t_s: float
    pose: DronePose | None
    reason: str = ""
    age_s: float | None = None  # distance from the frame time to the nearest position sample
    on_ground: bool = False  # known position, but the drone is on the ground (nothing to project)

    @property
    def georeferenced(self) -> bool:
        return self.pose is not None


def wrap_deg(a: float) -> float:
    """An angle in [-180, 180)."""
    return (a + 180.0) % 360.0 - 180.0


def lerp_angle_deg(a: float, b: float, w: float) -> float:
    """Interpolate from ``a`` to ``b`` (degrees) along the shorter arc; result in [0, 360)."""
    return (a + wrap_deg(b - a) * w) % 360.0


class _Series:
    """Time-ordered samples of one channel (bounded; out-of-order samples are inserted)."""

    def __init__(self, maxlen: int) -> None:
        self.t: deque[float] = deque(maxlen=maxlen)
        self.v: deque[tuple] = deque(maxlen=maxlen)

    def add(self, t_s: float, values: tuple) -> None:
        if not self.t or t_s >= self.t[-1]:
            self.t.append(t_s)
            self.v.append(values)
            return
        i = bisect.bisect_right(self.t, t_s)
        self.t.insert(i, t_s)
        self.v.insert(i, values)

    def around(self, t_s: float) -> tuple[int, int]:
        """Indices (i, j) of the samples at or before and at or after ``t_s`` (-1 / len when none)."""
        j = bisect.bisect_left(self.t, t_s)
        if j < len(self.t) and self.t[j] == t_s:
            return j, j
        return j - 1, j


class PoseTrack:
    """Recorded telemetry of one drone; thread-safe (a link thread adds, the video loop reads).

    Args:
        max_age_s: a frame further than this from the nearest sample of a needed stream
            is un-georeferenced (default 0.5 s: telemetry comes at 4-50 Hz).
        max_gap_s: never interpolate across two samples further apart than this.
        mount: ``GIMBAL`` (needs gimbal telemetry) or ``FIXED`` (``mount_pitch_deg`` below
            the nose, vehicle attitude applied).
        max_samples: samples kept per stream.
    """

    def __init__(self, *, max_age_s: float = 0.5, max_gap_s: float = 1.0, mount: MountMode = MountMode.GIMBAL,
                 mount_pitch_deg: float = -90.0, max_samples: int = 20000) -> None:
        if not (max_age_s > 0 and max_gap_s > 0):
            raise ValueError("max_age_s and max_gap_s must be > 0")
        self.max_age_s, self.max_gap_s = max_age_s, max_gap_s
        self.mount, self.mount_pitch_deg = mount, mount_pitch_deg
        self._series = {c: _Series(max_samples) for c in Channel}
        self._gimbal_frame = GimbalYawFrame.BODY
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ recording
    def add_position(self, t_s: float, *, lat_deg: float, lon_deg: float, alt_agl_m: float) -> None:
        if not (math.isfinite(lat_deg) and math.isfinite(lon_deg) and math.isfinite(alt_agl_m)):
            return
        with self._lock:
            self._series[Channel.POSITION].add(t_s, (lat_deg, lon_deg, alt_agl_m))

    def add_attitude(self, t_s: float, *, roll_deg: float, pitch_deg: float, yaw_deg: float) -> None:
        with self._lock:
            self._series[Channel.ATTITUDE].add(t_s, (roll_deg, pitch_deg, yaw_deg % 360.0))

    def add_gimbal(self, t_s: float, sample: GimbalSample) -> None:
        with self._lock:
            self._gimbal_frame = sample.yaw_frame
            self._series[Channel.GIMBAL].add(t_s, (sample.pitch_deg, sample.roll_deg, sample.yaw_deg % 360.0))

    def first_s(self, channel: Channel = Channel.POSITION) -> float | None:
        with self._lock:
            s = self._series[channel]
            return s.t[0] if s.t else None

    def latest_s(self, channel: Channel = Channel.POSITION) -> float | None:
        with self._lock:
            s = self._series[channel]
            return s.t[-1] if s.t else None

    def count(self, channel: Channel) -> int:
        with self._lock:
            return len(self._series[channel].t)

    @property
    def has_gimbal(self) -> bool:
        return self.count(Channel.GIMBAL) > 0

    # ------------------------------------------------------------------ lookup
    def _interp(self, channel: Channel, t_s: float) -> tuple[tuple | None, str, float | None]:
        s = self._series[channel]
        if not s.t:
            return None, f"no {channel.value} telemetry yet", None
        i, j = s.around(t_s)
        n = len(s.t)
        if i == j:
            return s.v[i], "", 0.0
        if i < 0:
            age = s.t[0] - t_s
            if age <= self.max_age_s:
                return s.v[0], "", age
            return None, f"{channel.value} telemetry starts {age:.2f} s after the frame", age
        if j >= n:
            age = t_s - s.t[-1]
            if age <= self.max_age_s:
                return s.v[-1], "", age
            return None, f"{channel.value} telemetry is {age:.2f} s older than the frame (gap)", age
        t0, t1 = s.t[i], s.t[j]
        age = min(t_s - t0, t1 - t_s)
        if t1 - t0 > self.max_gap_s:
            if age <= self.max_age_s:
                return (s.v[i] if t_s - t0 <= t1 - t_s else s.v[j]), "", age
            return None, f"{channel.value} telemetry gap of {t1 - t0:.2f} s around the frame", age
        w = (t_s - t0) / (t1 - t0)
        a, b = s.v[i], s.v[j]
        vals = [lerp_angle_deg(x, y, w) if ang else x + (y - x) * w for x, y, ang in zip(a, b, _ANGLES[channel])]
        if channel is not Channel.POSITION:  # roll and pitch signed, yaw (last) in [0, 360)
            vals[0], vals[1] = wrap_deg(vals[0]), wrap_deg(vals[1])
        return tuple(vals), "", age

    def position_at(self, t_s: float) -> tuple[float, float, float] | None:
        """(lat_deg, lon_deg, alt_agl_m) at ``t_s``, or None (no sample close enough)."""
        with self._lock:
            pos, _why, _age = self._interp(Channel.POSITION, t_s)
        return pos

    def pose_at(self, t_s: float) -> PoseFix:
        """The camera pose at ``t_s``, or the reason it cannot be known."""
        with self._lock:
            pos, why, age = self._interp(Channel.POSITION, t_s)
            if pos is None:
                return PoseFix(t_s, None, why, age)
            att, why_att, _ = self._interp(Channel.ATTITUDE, t_s)
            gim, why_gim, _ = (self._interp(Channel.GIMBAL, t_s) if self.mount is MountMode.GIMBAL
                               else (None, "", None))
            gimbal_frame = self._gimbal_frame
        lat, lon, alt = pos
        if alt <= 0.5:
            return PoseFix(t_s, None, f"drone {alt:.1f} m above ground: nothing to project", age, on_ground=True)
        if self.mount is MountMode.FIXED:
            if att is None:
                return PoseFix(t_s, None, why_att, age)
            roll, pitch, yaw = att
            return PoseFix(t_s, DronePose(lat, lon, alt, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll,
                                          gimbal_pitch_deg=self.mount_pitch_deg, gimbal_yaw_deg=0.0), "", age)
        if gim is None:
            return PoseFix(t_s, None, why_gim, age)
        g_pitch, _g_roll, g_yaw = gim
        if gimbal_frame is GimbalYawFrame.BODY:
            if att is None:
                return PoseFix(t_s, None, why_att, age)
            yaw = (att[2] + g_yaw) % 360.0
        else:
            yaw = g_yaw
        # A stabilised gimbal holds pitch and roll in the earth frame: the vehicle's tilt
        # does not reach the camera.
        return PoseFix(t_s, DronePose(lat, lon, alt, yaw_deg=yaw, pitch_deg=0.0, roll_deg=0.0,
                                      gimbal_pitch_deg=g_pitch, gimbal_yaw_deg=0.0), "", age)
