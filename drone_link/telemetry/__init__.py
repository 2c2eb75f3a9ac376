"""Drone pose for georeferencing video: timestamped telemetry interpolated to frame times.

``pose`` (records, :class:`PoseTrack`), ``mavlink_feed`` (live link and ``.tlog``),
``srt`` (DJI per-frame subtitles).
"""

from drone_link.telemetry.pose import (
    DronePose,
    GimbalSample,
    GimbalYawFrame,
    MountMode,
    PoseFix,
    PoseTrack,
    lerp_angle_deg,
)

__all__ = ["DronePose", "GimbalSample", "GimbalYawFrame", "MountMode", "PoseFix", "PoseTrack", "lerp_angle_deg"]
