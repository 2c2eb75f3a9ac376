"""Drone video addresses: what kind of stream a URL names, and RTP/H.264 session files.

Drones and their ground stations publish video in a few ways, all read through OpenCV's
FFmpeg backend:

- ``rtsp://HOST:8554/...``: RTSP (DJI Dock, Skydio, most IP payloads, MediaMTX relays);
- ``udp://@:5600``: MPEG-TS (H.264/H.265) pushed over UDP;
- an ``.sdp`` file: raw RTP/H.264 pushed over UDP (ArduPilot/PX4 companion computers and
  QGroundControl's "UDP h.264 video" on port 5600). RTP carries no codec description, so
  FFmpeg needs the SDP; :func:`write_h264_rtp_sdp` writes one;
- ``http://.../*.mjpg``: HTTP multipart MJPEG (simple payloads, the simulated camera);
- a file path: a recorded flight video (with a ``.tlog`` or DJI ``.SRT`` beside it).
"""

from __future__ import annotations

import enum
import os
from pathlib import Path

# The whitelist applies to every open in the process (OpenCV reads one environment
# variable), so it must keep every scheme the other stream kinds need, or an SDP stream
# opened first stops HTTP MJPEG and RTSP sources in the same process from opening.
SDP_PROTOCOLS = "file,udp,rtp,crypto,data,http,https,tcp,tls,rtsp,rtsps,httpproxy"


class VideoKind(str, enum.Enum):
    RTSP = "rtsp"
    UDP = "udp"
    RTP_SDP = "rtp-sdp"
    HTTP = "http"
    FILE = "file"


def video_kind(url: str) -> VideoKind:
    """The kind of stream ``url`` names; ValueError (with the reason) when it names none."""
    low = url.strip().lower()
    if low.startswith(("rtsp://", "rtsps://")):
        return VideoKind.RTSP
    if low.startswith(("udp://", "rtp://")):
        return VideoKind.UDP
    if low.startswith(("http://", "https://")):
        return VideoKind.HTTP
    if low.endswith(".sdp"):
        return VideoKind.RTP_SDP
    if "://" in low:
        raise ValueError(f"unsupported video URL scheme: {url.split('://', 1)[0]}://")
    if not url.strip():
        raise ValueError("empty video URL")
    return VideoKind.FILE


def allow_sdp_protocols() -> None:
    """Let FFmpeg follow an SDP file to its RTP/UDP stream (it refuses by default).

    OpenCV reads ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` on every open; existing options are kept.
    """
    cur = os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS", "")
    if "protocol_whitelist" in cur:
        return
    opt = f"protocol_whitelist;{SDP_PROTOCOLS}"
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = f"{cur}|{opt}" if cur else opt


def write_h264_rtp_sdp(path: Path, *, port: int, address: str = "127.0.0.1", payload_type: int = 96) -> Path:
    """Write the SDP of an RTP/H.264 stream arriving on UDP ``port`` (as QGroundControl expects it)."""
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be 1..65535, got {port}")
    if not 96 <= payload_type <= 127:
        raise ValueError(f"dynamic RTP payload type must be 96..127, got {payload_type}")
    path = Path(path)
    path.write_text("v=0\n"
                    f"o=- 0 0 IN IP4 {address}\n"
                    "s=drone video\n"
                    f"c=IN IP4 {address}\n"
                    "t=0 0\n"
                    f"m=video {port} RTP/AVP {payload_type}\n"
                    f"a=rtpmap:{payload_type} H264/90000\n", encoding="ascii")
    return path
