"""CCTV capture uses the stream reader shared with drone video (``drone_link.video.source``).

The reader lives in ``drone_link`` because the drone video path needs it too and imports
point one way (``disaster_ops → drone_link``); this module keeps the CCTV names.
"""

from drone_link.video.source import Frame, FrameSource, SourceState

__all__ = ["Frame", "FrameSource", "SourceState"]
