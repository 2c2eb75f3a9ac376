"""People counted in a frame: the persons detected, plus tracked people hidden for a moment.

A person walking behind another person or a lamp post is not detected for a few frames,
but they are still there (PETS 2009's ground truth counts them too). :class:`HiddenPeople`
keeps the last box of every track; a track that was seen on at least ``min_frames`` frames
and is unseen for at most ``hold_s`` still counts, unless its last box touched the edge of
the picture (they walked out of view).

Occlusion-aware hold (``occluded_hold_s`` > 0): a track that vanished where it could be
hidden keeps counting longer, up to ``occluded_hold_s``, as long as its predicted box (last
box moved on at the track's last speed) still

- overlaps a person detected now (hidden behind someone: at least ``occluder_share`` of the
  predicted box covered), or
- lies inside the picture at least ``inner_margin_share`` of the width/height from every
  edge (behind a post, a parked car, or missed by the model in the middle of the view,
  where nobody can leave the picture).

A hidden track stops counting at once when a *new* track (first seen after the hidden one
vanished) is born or now stands near its predicted box (within half a box height plus the
distance the person could have walked since, at their last speed): that is the same person
back under a new id, so holding them would count them twice. A detection on no track yet
that overlaps the predicted box skips the hidden one for that frame (it is already counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disaster_ops.detect.records import Detections
from disaster_ops.people.tracking import UNTRACKED, iou_matrix

SPEED_SMOOTHING = 0.5  # weight of the newest step in the track's speed estimate (0..1)
REAPPEAR_IOU = 0.1  # a detection on no track overlapping a hidden one's predicted box this much is them
REAPPEAR_HEIGHTS = 0.5  # a new track born within this many box heights of a hidden one is the same person


@dataclass
class _Seen:
    first_s: float
    first_box: np.ndarray
    last_s: float
    box: np.ndarray
    frames: int
    velocity_px_s: np.ndarray  # (vx, vy) of the box centre


class HiddenPeople:
    """Tracks unseen in this frame that still count (see module doc).

    Args:
        hold_s: a track unseen at most this long still counts, s (0 = never).
        min_frames: only tracks seen on at least this many frames (not one-frame blips).
        edge_px: a track whose last box came this close to the frame's edge left the view, px.
        occluded_hold_s: a track that may be hidden (see module doc) counts up to this long
            unseen, s; 0 (or <= ``hold_s``) = no longer hold.
        occluder_share: share of the predicted box a detected person must cover to hide it (0..1).
        inner_margin_share: a predicted box this share of the width/height away from every
            edge is inside the view (0..0.5); 0.5 or more = never (only occluders extend the hold).
        max_predict_s: the predicted box moves on at most this long after the last sighting, s.
    """

    def __init__(self, *, hold_s: float, min_frames: int, edge_px: float, occluded_hold_s: float = 0.0,
                 occluder_share: float = 0.5, inner_margin_share: float = 0.5, max_predict_s: float = 1.0) -> None:
        self.hold_s, self.min_frames, self.edge_px = hold_s, min_frames, edge_px
        self.occluded_hold_s = occluded_hold_s
        self.occluder_share, self.inner_margin_share = occluder_share, inner_margin_share
        self.max_predict_s = max_predict_s
        self._seen: dict[int, _Seen] = {}

    def update(self, persons: Detections, frame_wh: tuple[int, int], now_s: float) -> Detections:
        """Feed this frame's tracked persons; returns the hidden ones (their predicted boxes,
        same ``data`` keys as ``persons``)."""
        here = self._remember(persons, now_s)
        w, h = frame_wh
        longest = max(self.hold_s, self.occluded_hold_s)
        # boxes a hidden person may have come back as: new tracks, and detections on no track yet
        fresh = [self._seen[t] for t in here]
        ids = persons.data.get("track_id")
        loose = [b for b, t in zip(persons.xyxy, ids if ids is not None else []) if int(t) == UNTRACKED]
        hidden = []
        for tid, s in list(self._seen.items()):
            if tid in here:
                continue
            unseen_s = now_s - s.last_s
            if unseen_s > longest:
                del self._seen[tid]
                continue
            if s.frames < self.min_frames or self._near_edge(s.box, w, h):
                continue
            box = self._predicted(s, unseen_s)
            # the same person back under a new track id: stop holding them
            reach_px = REAPPEAR_HEIGHTS * (box[3] - box[1]) + float(np.hypot(*s.velocity_px_s)) * unseen_s
            if any(f.first_s > s.last_s and _near(box, f, reach_px) for f in fresh):
                del self._seen[tid]
                continue
            if loose and iou_matrix(box[None], np.asarray(loose)).max() >= REAPPEAR_IOU:
                continue  # detected now, on no track yet: already counted
            if unseen_s <= self.hold_s or (unseen_s <= self.occluded_hold_s and self._may_be_hidden(box, persons, w, h)):
                hidden.append((tid, box))
        if not hidden:
            return persons[np.zeros(len(persons), bool)]
        n = len(hidden)
        data = {k: np.zeros(n, dtype=v.dtype) for k, v in persons.data.items()}
        data["track_id"] = np.array([t for t, _ in hidden], np.int64)
        if "posture" in data:
            data["posture"] = np.full(n, "upright", object)
        return Detections(np.array([b for _, b in hidden], np.float32), np.zeros(n, np.float32),
                          np.full(n, "person", object), data=data)

    def _remember(self, persons: Detections, now_s: float) -> set[int]:
        ids = persons.data.get("track_id")
        here: set[int] = set()
        if ids is None:
            return here
        for tid, box in zip(ids, persons.xyxy):
            tid = int(tid)
            if tid == UNTRACKED:
                continue
            here.add(tid)
            old = self._seen.get(tid)
            if old is None:
                self._seen[tid] = _Seen(now_s, box.copy(), now_s, box.copy(), 1, np.zeros(2))
                continue
            dt = now_s - old.last_s
            v = old.velocity_px_s
            if dt > 0:
                step = (_centre(box) - _centre(old.box)) / dt
                v = step if old.frames == 1 else SPEED_SMOOTHING * step + (1 - SPEED_SMOOTHING) * v
            self._seen[tid] = _Seen(old.first_s, old.first_box, now_s, box.copy(), old.frames + 1, v)
        return here

    def _near_edge(self, box: np.ndarray, w: int, h: int) -> bool:
        m = self.edge_px
        x1, y1, x2, y2 = box
        return not (x1 >= m and y1 >= m and x2 <= w - m and y2 <= h - m)

    def _predicted(self, s: _Seen, unseen_s: float) -> np.ndarray:
        dx, dy = s.velocity_px_s * min(unseen_s, self.max_predict_s)
        return (s.box + np.array([dx, dy, dx, dy])).astype(np.float32)

    def _may_be_hidden(self, box: np.ndarray, persons: Detections, w: int, h: int) -> bool:
        if self._near_edge(box, w, h):
            return False
        cx, cy = _centre(box)
        k = self.inner_margin_share
        if k < 0.5 and k * w <= cx <= (1 - k) * w and k * h <= cy <= (1 - k) * h:
            return True
        area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)
        return any(_intersection(box, b) / area >= self.occluder_share for b in persons.xyxy)


def _near(box: np.ndarray, track: _Seen, reach_px: float) -> bool:
    """Whether ``track`` was born, or is now, within ``reach_px`` of ``box``'s centre."""
    reach = reach_px
    c = _centre(box)
    return min(np.hypot(*(_centre(track.first_box) - c)), np.hypot(*(_centre(track.box) - c))) <= reach


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], float)


def _intersection(a: np.ndarray, b: np.ndarray) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    return float(iw * ih) if iw > 0 and ih > 0 else 0.0
