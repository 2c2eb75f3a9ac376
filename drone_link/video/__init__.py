"""Drone video: stream readers (shared with CCTV capture), URL kinds, recorded files."""

from drone_link.video.source import Frame, FrameSource, SourceState
from drone_link.video.urls import VideoKind, video_kind, write_h264_rtp_sdp

__all__ = ["Frame", "FrameSource", "SourceState", "VideoKind", "video_kind", "write_h264_rtp_sdp"]
