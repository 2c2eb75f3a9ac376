"""One video stream (CCTV or drone) read on its own thread; consumers take the latest frame.

Live streams are read as fast as they come (so the decoder never lags behind), and
only the newest frame is kept: a slow detector drops frames (counted) instead of
falling behind real time, as Frigate's capture does. A stream that fails to open or
stops delivering is retried with back-off. Health: ``stale`` after ``stale_after_s``
without a new frame, or when the picture has not changed for ``frozen_after_s`` (a
frozen encoder keeps sending the same image); ``offline`` after ``offline_after_s``
without a frame or when the stream cannot be opened; each with the reason. Files can be replayed in a loop at their
own frame rate, which is how the demo and the tests stand in for CCTV.

Every frame carries its arrival time (``captured_at_s``, wall clock) and its position in
the stream (``pos_s``, from the container's timestamps), so drone frames can be matched
to telemetry: live streams by arrival time, recorded files by position. With
``capture_stamps=True`` (drone video) an HTTP multipart MJPEG stream is read part by part
(:mod:`drone_link.video.mjpeg`) and a frame also carries the capture time its sender
stamped on it (``stamp_s``, ``X-Timestamp``), which matches telemetry without the
transfer delay.

URLs go to OpenCV's FFmpeg backend: ``rtsp://``, ``http(s)://`` (MJPEG or HLS),
``udp://@:PORT`` (MPEG-TS over UDP), an ``.sdp`` file describing an RTP/H.264 stream
(see :mod:`drone_link.video.urls`), or a file path.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)


class SourceState(str, enum.Enum):
    CONNECTING = "connecting"
    ONLINE = "online"
    STALE = "stale"
    OFFLINE = "offline"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR uint8
    captured_at_s: float  # time.time() when read
    index: int  # running frame counter of this source
    pos_s: float | None = None  # position in the stream (container time), when known
    stamp_s: float | None = None  # capture time stamped by the sender (unix s), when it sends one


class FrameSource:
    """Read ``url`` (RTSP/HTTP URL or a file path) on a background thread."""

    FROZEN_DIFF = 0.5  # mean absolute change of a 16x16 grey thumbnail (0-255) below which a frame is "the same"

    def __init__(self, name: str, url: str, *, replay: bool = False, offline_after_s: float = 10.0,
                 open_timeout_s: float = 10.0, backoff_s: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0),
                 max_fps: float | None = None, stale_after_s: float | None = None,
                 frozen_after_s: float | None = None, capture_stamps: bool = False) -> None:
        self.name, self.url, self.replay = name, url, replay
        self.capture_stamps = capture_stamps
        self.offline_after_s, self.open_timeout_s, self.backoff_s = offline_after_s, open_timeout_s, backoff_s
        self.stale_after_s = min(stale_after_s if stale_after_s is not None else offline_after_s, offline_after_s)
        self.frozen_after_s = frozen_after_s
        self._thumb: np.ndarray | None = None
        self._thumb_mono = 0.0
        self._last_change_mono = 0.0
        self.max_fps = max_fps
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._taken_index = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = SourceState.CONNECTING
        self.reason = ""
        self.frames_read = 0
        self.frames_dropped = 0
        self.reconnects = 0
        self._last_frame_mono = 0.0

    # ------------------------------------------------------------------ control
    def start(self) -> FrameSource:
        self._thread = threading.Thread(target=self._run, name=f"capture-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=timeout_s)
        self.state = SourceState.STOPPED

    # ------------------------------------------------------------------ consumer side
    def latest(self) -> Frame | None:
        """The newest frame not yet taken (None if nothing new since the last call)."""
        with self._lock:
            f = self._latest
            if f is None or f.index == self._taken_index:
                return None
            if self._taken_index >= 0:
                self.frames_dropped += max(0, f.index - self._taken_index - 1)
            self._taken_index = f.index
            return f

    def health(self) -> tuple[SourceState, str]:
        """Current state with its reason: ONLINE turns STALE, then OFFLINE, as frames stop
        arriving; STALE also when the picture is frozen."""
        if self.state in (SourceState.ONLINE, SourceState.STALE):
            now = time.monotonic()
            age = now - self._last_frame_mono
            if age > self.offline_after_s:
                self.state, self.reason = SourceState.OFFLINE, f"no frame for {self.offline_after_s:.0f} s"
            elif age > self.stale_after_s:
                self.state, self.reason = SourceState.STALE, f"no new frame for {age:.0f} s"
            elif self.frozen_after_s is not None and now - self._last_change_mono > self.frozen_after_s:
                self.state, self.reason = (SourceState.STALE,
                                           f"picture frozen for {now - self._last_change_mono:.0f} s")
            else:
                self.state, self.reason = SourceState.ONLINE, ""
        return self.state, self.reason

    def _watch_picture(self, img: np.ndarray, now: float) -> None:
        """Note when the picture last changed (a 16x16 thumbnail, at most twice a second)."""
        if self.frozen_after_s is None or now - self._thumb_mono < 0.5:
            return
        self._thumb_mono = now
        thumb = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img, (16, 16),
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        if self._thumb is None or float(np.abs(thumb - self._thumb).mean()) >= self.FROZEN_DIFF:
            self._last_change_mono = now
        self._thumb = thumb

    def seconds_since_frame(self) -> float | None:
        """Age of the newest frame, or None if none was ever read."""
        return None if not self._last_frame_mono else time.monotonic() - self._last_frame_mono

    # ------------------------------------------------------------------ reader thread
    def _open_mjpeg(self):
        """The stream read part by part (keeps each part's capture stamp); None to let OpenCV
        read it (not multipart MJPEG); False when the server cannot be reached."""
        import urllib.error

        from drone_link.video.mjpeg import MjpegStream, NotMjpeg

        try:
            return MjpegStream(self.url, timeout_s=self.open_timeout_s)
        except NotMjpeg:
            return None
        except (OSError, urllib.error.URLError, ValueError) as exc:
            self.state, self.reason = SourceState.OFFLINE, f"cannot open stream: {getattr(exc, 'reason', exc)}"
            return False

    def _open(self) -> cv2.VideoCapture | None:
        if self.capture_stamps and self.url.lower().startswith(("http://", "https://")):
            stream = self._open_mjpeg()
            if stream is False:
                return None
            if stream is not None:
                return stream
        is_file = Path(self.url).exists()
        if is_file and self.url.lower().endswith(".sdp"):
            from drone_link.video.urls import allow_sdp_protocols

            allow_sdp_protocols()
            is_file = False
        if not is_file and "://" not in self.url and not self.url.lower().endswith(".sdp"):
            self.state, self.reason = SourceState.OFFLINE, f"no such file: {self.url}"
            return None
        if is_file:
            cap = cv2.VideoCapture(self.url)
        else:
            t_ms = int(self.open_timeout_s * 1000)
            cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, t_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, t_ms])
        if not cap.isOpened():
            cap.release()
            self.state, self.reason = SourceState.OFFLINE, "cannot open stream"
            return None
        return cap

    def _run(self) -> None:
        attempt = 0
        index = 0
        while not self._stop.is_set():
            cap = self._open()
            if cap is None:
                wait = self.backoff_s[min(attempt, len(self.backoff_s) - 1)]
                logger.warning("%s: %s; retrying in %.0f s", self.name, self.reason, wait)
                attempt += 1
                self.reconnects += 1
                self._stop.wait(wait)
                continue
            fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
            pace_s = (1.0 / fps) if (self.replay and 0 < fps < 240) else 0.0
            if self.max_fps:
                pace_s = max(pace_s, 1.0 / self.max_fps)
            got_any = False
            next_t = time.monotonic()
            while not self._stop.is_set():
                ok, img = cap.read()
                if not ok or img is None:
                    break
                got_any = True
                index += 1
                now = time.monotonic()
                pos_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
                pos_s = pos_ms / 1000.0 if pos_ms and pos_ms > 0 else None
                with self._lock:
                    self._latest = Frame(img, time.time(), index, pos_s, getattr(cap, "stamp_s", None))
                self.frames_read += 1
                self._last_frame_mono = now
                self._watch_picture(img, now)
                if self.state not in (SourceState.ONLINE, SourceState.STALE):
                    logger.info("%s: online", self.name)
                    self.state, self.reason = SourceState.ONLINE, ""
                attempt = 0
                if pace_s:
                    next_t += pace_s
                    self._stop.wait(max(0.0, next_t - time.monotonic()))
            cap.release()
            if self._stop.is_set():
                break
            if self.replay and got_any:
                continue  # loop the file
            self.state = SourceState.OFFLINE
            self.reason = "stream ended" if got_any else "stream delivers no decodable frames"
            wait = self.backoff_s[min(attempt, len(self.backoff_s) - 1)]
            logger.warning("%s: %s; reconnecting in %.0f s", self.name, self.reason, wait)
            attempt += 1
            self.reconnects += 1
            self._stop.wait(wait)
