"""People counted in a frame: the persons detected, plus tracked people hidden for a moment.

A person walking behind another person or a lamp post is not detected for a few frames,
but they are still there (PETS 2009's ground truth counts them too). :class:`HiddenPeople`
keeps the last box of every track; a track that was seen on at least ``min_frames`` frames
and is unseen for at most ``hold_s`` still counts, unless its last box touched the edge of
the picture (they walked out of view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disaster_ops.detect.records import Detections
from disaster_ops.people.tracking import UNTRACKED


@dataclass
class _Seen:
    last_s: float
    box: np.ndarray
    frames: int


class HiddenPeople:
    """Tracks unseen in this frame that still count (see module doc).

    Args:
        hold_s: a track unseen at most this long still counts, s (0 = never).
        min_frames: only tracks seen on at least this many frames (not one-frame blips).
        edge_px: a track whose last box came this close to the frame's edge left the view, px.
    """

    def __init__(self, *, hold_s: float, min_frames: int, edge_px: float) -> None:
        self.hold_s, self.min_frames, self.edge_px = hold_s, min_frames, edge_px
        self._seen: dict[int, _Seen] = {}

    def update(self, persons: Detections, frame_wh: tuple[int, int], now_s: float) -> Detections:
        """Feed this frame's tracked persons; returns the hidden ones (their last boxes, same
        ``data`` keys as ``persons``)."""
        ids = persons.data.get("track_id")
        here: set[int] = set()
        if ids is not None:
            for tid, box in zip(ids, persons.xyxy):
                tid = int(tid)
                if tid == UNTRACKED:
                    continue
                here.add(tid)
                old = self._seen.get(tid)
                self._seen[tid] = _Seen(now_s, box.copy(), old.frames + 1 if old else 1)
        w, h = frame_wh
        m = self.edge_px
        hidden = []
        for tid, s in list(self._seen.items()):
            if tid in here:
                continue
            if now_s - s.last_s > self.hold_s:
                del self._seen[tid]
                continue
            x1, y1, x2, y2 = s.box
            if s.frames >= self.min_frames and x1 >= m and y1 >= m and x2 <= w - m and y2 <= h - m:
                hidden.append((tid, s.box))
        if not hidden:
            return persons[np.zeros(len(persons), bool)]
        n = len(hidden)
        data = {k: np.zeros(n, dtype=v.dtype) for k, v in persons.data.items()}
        data["track_id"] = np.array([t for t, _ in hidden], np.int64)
        if "posture" in data:
            data["posture"] = np.full(n, "upright", object)
        return Detections(np.array([b for _, b in hidden], np.float32), np.zeros(n, np.float32),
                          np.full(n, "person", object), data=data)
