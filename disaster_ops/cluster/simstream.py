"""A SIMULATOR of camera streams for load tests: a real clip decoded once per process at
a low rate and size into a shared ring of frames, served to many simulated cameras, so a
2-core box can stand in for a thousand CCTV feeds.

A camera whose ``stream_url`` is ``sim:PATH?fps=1&static=1&offset=7&width=480`` shows the
clip at ``PATH`` sampled ``fps`` times a second, ``width`` pixels wide (default 640; like
a camera's detection substream), each camera at its own phase ``offset`` in the ring
(``static=1``: frame ``offset`` forever, as most CCTV pictures are). No decoding, no
thread per camera: what it measures is the cluster, the motion gate, the detector and the
database path, not video decoding. Every other URL opens a real :class:`FrameSource`
(a reader thread and a decoder per camera). For ``benchmarks/scale.py``.
"""

from __future__ import annotations

import time
from functools import lru_cache
from urllib.parse import parse_qs

import cv2
import numpy as np

from disaster_ops.capture import FrameSource, SourceState
from drone_link.video.source import Frame

MAX_FRAMES = 120  # frames kept per clip (at 1 frame/s: two minutes, then it loops)
WIDTH_PX = 640


@lru_cache(maxsize=16)
def _clip(path: str, fps: float, width_px: int = WIDTH_PX) -> tuple[np.ndarray, ...]:
    """``path`` sampled at ``fps``, at most :data:`MAX_FRAMES` frames, at most ``width_px`` wide."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f"{path}: cannot open the clip")
    native = cap.get(cv2.CAP_PROP_FPS) or 25.0
    step = max(1, round(native / fps))
    out, i = [], 0
    while len(out) < MAX_FRAMES:
        ok = cap.grab()
        if not ok:
            break
        if i % step == 0:
            ok, img = cap.retrieve()
            if not ok:
                break
            h, w = img.shape[:2]
            if w > width_px:
                img = cv2.resize(img, (width_px, round(h * width_px / w)), interpolation=cv2.INTER_AREA)
            out.append(img)
        i += 1
    cap.release()
    if not out:
        raise ValueError(f"{path}: no frame could be decoded")
    return tuple(out)


class SimStream:
    """The :class:`FrameSource` interface over a shared pre-decoded clip."""

    def __init__(self, name: str, url: str, **_kw) -> None:
        path, _, query = url[len("sim:"):].partition("?")
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        self.name, self.url = name, url
        self.fps = float(q.get("fps", 1.0))
        self.static = q.get("static", "0") == "1"
        self.offset = int(q.get("offset", 0))
        width_px = int(q.get("width", WIDTH_PX))
        if not 32 <= width_px <= 4096:
            raise ValueError(f"{url}: width must be 32..4096 px")
        self.frames = _clip(path, self.fps, width_px)
        self.state, self.reason = SourceState.CONNECTING, ""
        self._t0 = 0.0
        self._taken = -1
        self._last = 0.0

    def start(self) -> SimStream:
        self._t0 = time.monotonic()
        self.state = SourceState.ONLINE
        return self

    def stop(self, timeout_s: float = 0.0) -> None:
        self.state = SourceState.STOPPED

    def latest(self) -> Frame | None:
        if self.state is not SourceState.ONLINE:
            return None
        idx = int((time.monotonic() - self._t0) * self.fps)
        if idx == self._taken:
            return None
        self._taken = idx
        self._last = time.monotonic()
        k = self.offset if self.static else self.offset + idx
        return Frame(self.frames[k % len(self.frames)], time.time(), idx, idx / self.fps)

    def health(self) -> tuple[SourceState, str]:
        return self.state, self.reason

    def seconds_since_frame(self) -> float | None:
        return None if not self._last else time.monotonic() - self._last


def open_source(name: str, url: str, **kw) -> FrameSource | SimStream:
    """A simulated stream for ``sim:`` URLs, else the real reader."""
    if url.startswith("sim:"):
        return SimStream(name, url, **kw)
    return FrameSource(name, url, **kw)
