"""HTTP multipart MJPEG read part by part, so each frame's capture time survives.

OpenCV's FFmpeg backend reads ``multipart/x-mixed-replace`` streams but drops the part
headers. Senders that know when a frame was taken put it there: mjpg-streamer (common
on companion computers) and the simulated drone camera send ``X-Timestamp: <unix
seconds>`` with every part. A drone frame matched to telemetry by its arrival time is
placed where the drone was a transfer (and render/encode) delay later: at survey speed
(8-16 m/s) 60 ms is a metre. :class:`MjpegStream` reads the parts itself and keeps the
stamp (``stamp_s``, None when the part has none); it answers like
``cv2.VideoCapture`` (``read``, ``get``, ``release``) so :class:`~drone_link.video.source.FrameSource`
can use either.

Bounded: a part longer than ``MAX_PART_BYTES``, a header line longer than
``MAX_LINE_BYTES`` or more than ``MAX_HEADERS`` header lines ends the stream (the source
reconnects), so no sender can make the reader hold unbounded memory.
"""

from __future__ import annotations

import base64
import math
import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

MAX_PART_BYTES = 32 * 1024 * 1024
MAX_LINE_BYTES = 8192
MAX_HEADERS = 64
MAX_SKIPPED_LINES = 1000  # preamble / garbage between parts before giving up


class NotMjpeg(Exception):
    """The URL answers, but not with a multipart MJPEG stream (let OpenCV read it)."""


def _request(url: str) -> urllib.request.Request:
    """A GET for ``url``; ``user:password@`` in the URL becomes a Basic authorization header."""
    parts = urlsplit(url)
    headers = {"User-Agent": "disaster-ops"}
    if parts.username is not None:
        cred = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(cred).decode("ascii")
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return urllib.request.Request(url, headers=headers)


def _boundary(content_type: str) -> bytes:
    """The multipart boundary of a ``multipart/x-mixed-replace`` content type; NotMjpeg otherwise."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/x-mixed-replace":
        raise NotMjpeg(f"content type {kind.strip() or 'none'}")
    for p in params.split(";"):
        k, _, v = p.strip().partition("=")
        if k.strip().lower() == "boundary" and v.strip().strip('"'):
            b = v.strip().strip('"').encode("latin-1")
            return b[2:] if b.startswith(b"--") else b
    raise NotMjpeg("multipart stream without a boundary")


def parse_stamp(value: str | None) -> float | None:
    """Seconds of an ``X-Timestamp`` header (``1764384000.123456``); None when absent or not a finite number."""
    if value is None:
        return None
    try:
        t = float(value.strip())
    except ValueError:
        return None
    return t if math.isfinite(t) and t > 0 else None


class MjpegStream:
    """One open multipart MJPEG HTTP stream (see the module doc).

    Raises NotMjpeg when the server answers with anything else, and OSError /
    ``urllib.error.URLError`` when it cannot be reached.
    """

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        try:
            self._resp = urllib.request.urlopen(_request(url), timeout=timeout_s)  # http(s) only: FrameSource checks the scheme
        except urllib.error.HTTPError as exc:
            raise NotMjpeg(f"HTTP {exc.code}") from None
        try:
            self._boundary = _boundary(self._resp.headers.get("Content-Type", ""))
        except NotMjpeg:
            self._resp.close()
            raise
        self.stamp_s: float | None = None
        self._open = True
        self._at_part = False  # the boundary before the next part was already read

    # cv2.VideoCapture's interface, as FrameSource uses it
    def isOpened(self) -> bool:  # OpenCV's name
        return self._open

    def get(self, _prop: int) -> float:
        return 0.0  # no container clock (position, fps): the stamp is in stamp_s

    def release(self) -> None:
        self._open = False
        try:
            self._resp.close()
        except OSError:
            pass

    def read(self) -> tuple[bool, np.ndarray | None]:
        """The next decodable frame (and its stamp in ``stamp_s``); (False, None) when the stream ends or breaks."""
        try:
            while self._open:
                data, stamp = self._next_part()
                if data is None:
                    break
                img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                if img is not None:
                    self.stamp_s = stamp
                    return True, img
        except (OSError, ValueError):  # socket timeouts are OSError
            pass
        return False, None

    # ------------------------------------------------------------------ parts
    def _line(self) -> bytes | None:
        line = self._resp.readline(MAX_LINE_BYTES + 1)
        if not line:
            return None
        if len(line) > MAX_LINE_BYTES:
            raise ValueError("header line too long")
        return line

    def _next_part(self) -> tuple[bytes | None, float | None]:
        mark = b"--" + self._boundary
        if not self._at_part:  # up to the boundary
            for _ in range(MAX_SKIPPED_LINES):
                line = self._line()
                if line is None:
                    return None, None
                s = line.strip()
                if s == mark + b"--":
                    return None, None  # closing boundary
                if s in (mark, self._boundary):
                    break
            else:
                raise ValueError("no part boundary")
        self._at_part = False
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = self._line()
            if line is None:
                return None, None
            if not line.strip():
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        else:
            raise ValueError("too many part headers")
        stamp = parse_stamp(headers.get("x-timestamp"))
        if "content-length" in headers:
            n = int(headers["content-length"])
            if not 0 < n <= MAX_PART_BYTES:
                raise ValueError(f"part length {n}")
            data = self._resp.read(n)
            return (data if len(data) == n else None), stamp
        # No length: the part runs to the next boundary line (consumed here).
        chunks, size = [], 0
        while True:
            line = self._resp.readline(MAX_LINE_BYTES)
            if not line:
                break
            s = line.strip()
            if s in (mark, mark + b"--"):
                self._at_part = s == mark
                break
            chunks.append(line)
            size += len(line)
            if size > MAX_PART_BYTES:
                raise ValueError("part too long")
        data = b"".join(chunks)
        return (data[:-2] if data.endswith(b"\r\n") else data.rstrip(b"\n")), stamp
