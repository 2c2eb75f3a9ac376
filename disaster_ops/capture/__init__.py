"""Capture: camera streams (RTSP/HTTP/files) read on their own threads, latest frame kept."""

from disaster_ops.capture.source import FrameSource, SourceState

__all__ = ["FrameSource", "SourceState"]
