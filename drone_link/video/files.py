"""Recorded flight videos read frame by frame in order (offline georeferencing)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2

from drone_link.video.source import Frame


def iter_video_frames(path: Path, *, every_s: float = 0.5, max_frames: int | None = None) -> Iterator[Frame]:
    """Frames of a video file about every ``every_s`` seconds of video, with their position ``pos_s``.

    Raises ValueError naming the file when it cannot be decoded.
    """
    path = Path(path)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise ValueError(f"{path}: cannot open video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    index = n = 0
    next_s = 0.0
    try:
        while max_frames is None or n < max_frames:
            ok, img = cap.read()
            if not ok or img is None:
                break
            pos_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
            pos_s = pos_ms / 1000.0 if pos_ms and pos_ms >= 0 else (index / fps if fps > 0 else float(index))
            index += 1
            if pos_s + 1e-6 < next_s:
                continue
            next_s = pos_s + every_s
            n += 1
            yield Frame(img, time.time(), index, pos_s)
    finally:
        cap.release()
    if index == 0:
        raise ValueError(f"{path}: no decodable frames")
