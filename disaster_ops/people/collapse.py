"""Collapse (실신·쓰러짐): a person who went down and lies still for ``still_s``.

Each track has a small state machine (transition table below, checked by
:func:`_transition`). A track goes DOWN when the model's ``Fall`` class persists on it
(score >= ``fall_score_min``) after it was seen upright (a static object the model calls
'Fall' from the start never collapses). It is CONFIRMED, and one event raised, once it has
been down and still (box centre moving less than ``still_box_share`` of its diagonal)
for ``still_s``. Two upright sightings in a row bring it back to UPRIGHT.

A *fall* confirms sooner: when the track was seen upright at most ``fall_window_s`` before
its first lying frame (a fast upright-to-lying change, not someone lying down slowly or
found lying), lying still for ``fall_still_s`` on at least ``fall_still_frames`` sampled
frames is enough. Short recordings (the UR Fall clips end 0.4-2 s after the person comes
to rest) and low sampling rates need this; ``still_s`` stays the rule for everyone else.

A new track that appears where a track (seen upright at some point) was lost within
``upright_memory_s`` continues that person's state and timer: ByteTrack often gives a
falling or lying person a new id, because the box changes shape in a fraction of a second.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import numpy as np

from disaster_ops.detect.backends.person_yolo import Posture
from disaster_ops.detect.records import Detections
from disaster_ops.people.config import CollapseConfig
from disaster_ops.people.events import PeopleEvent, PeopleEventKind
from disaster_ops.people.tracking import UNTRACKED

logger = logging.getLogger(__name__)
UPRIGHT_STREAK_TO_RECOVER = 2
CHANGED_BOX_IOU = 0.5  # an ignored track whose box changes more than this may now hold a person


class TrackState(str, enum.Enum):
    IGNORED = "ignored"  # never seen upright: cannot collapse (yet)
    UPRIGHT = "upright"
    DOWN = "down"  # lying, timer running
    CONFIRMED = "confirmed"  # collapse raised


TRANSITIONS: dict[TrackState, frozenset[TrackState]] = {
    TrackState.IGNORED: frozenset({TrackState.UPRIGHT}),
    TrackState.UPRIGHT: frozenset({TrackState.DOWN}),
    TrackState.DOWN: frozenset({TrackState.UPRIGHT, TrackState.CONFIRMED}),
    TrackState.CONFIRMED: frozenset({TrackState.UPRIGHT}),
}


def _transition(current: TrackState, new: TrackState) -> TrackState:
    if new is not current and new not in TRANSITIONS[current]:
        raise ValueError(f"collapse track state cannot go from {current.value} to {new.value}")
    return new


@dataclass
class _Track:
    state: TrackState
    first_seen_s: float
    last_seen_s: float
    last_box: np.ndarray
    last_upright: bool
    down_since_s: float = 0.0
    still_since_s: float = 0.0
    anchor_xy: np.ndarray | None = None
    upright_streak: int = 0
    best_fall_score: float = 0.0
    last_upright_s: float | None = None  # last frame the model called this person upright
    fell: bool = False  # went down within fall_window_s of an upright sighting (a fall)
    still_frames: int = 0  # lying frames since the still timer (re)started


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def _diag(box: np.ndarray) -> float:
    return float(np.hypot(box[2] - box[0], box[3] - box[1]))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]))


class CollapseMonitor:
    """Collapse events of one camera from tracked person detections."""

    def __init__(self, config: CollapseConfig, *, camera_id: str, track_lost_s: float = 3.0) -> None:
        self.config = config
        self.camera_id = camera_id
        self.track_lost_s = track_lost_s
        self._tracks: dict[int, _Track] = {}
        self._raised: list[tuple[float, np.ndarray, float]] = []  # (time, centre, diagonal)

    def state_of(self, track_id: int) -> TrackState | None:
        t = self._tracks.get(track_id)
        return t.state if t else None

    def update(self, persons: Detections, now_s: float) -> list[PeopleEvent]:
        """Feed one frame's tracked persons (``data["track_id"]``); returns new collapse events."""
        cfg = self.config
        events: list[PeopleEvent] = []
        ids = persons.data.get("track_id", np.full(len(persons), UNTRACKED))
        postures = persons.data.get("posture", np.full(len(persons), Posture.UPRIGHT, dtype=object))
        scores = persons.data.get("fall_score", np.zeros(len(persons), np.float32))
        seen = set()
        for i in range(len(persons)):
            tid = int(ids[i])
            if tid == UNTRACKED or tid in seen:
                continue
            seen.add(tid)
            box = persons.xyxy[i].astype(float)
            fallen = postures[i] == Posture.FALLEN and float(scores[i]) >= cfg.fall_score_min
            upright = postures[i] == Posture.UPRIGHT
            tr = self._tracks.get(tid)
            if tr is None:
                tr = self._new_track(tid, box, upright, now_s)
            elif tr.state is TrackState.IGNORED and _iou(tr.last_box, box) < CHANGED_BOX_IOU:
                # a 'Fall' look-alike (mat, pillow) whose track now holds a person who fell onto it
                tr = self._adopt_lost(tid, box, now_s) or tr
            ev = self._step(tid, tr, box, fallen, upright, float(scores[i]), now_s)
            tr.last_seen_s, tr.last_box, tr.last_upright = now_s, box, upright
            if ev is not None:
                events.append(ev)
        for tid in [t for t, tr in self._tracks.items() if now_s - tr.last_seen_s > self.track_lost_s + cfg.upright_memory_s]:
            del self._tracks[tid]
        return events

    def _adopt_lost(self, tid: int, box: np.ndarray, now_s: float) -> _Track | None:
        """The state of a lost track (seen upright at some point) that was within
        ``upright_memory_s`` at this place, moved to track ``tid``; None if there is none."""
        lost = [(k, t) for k, t in self._tracks.items()
                if k != tid and t.last_seen_s < now_s and t.state is not TrackState.IGNORED
                and now_s - t.last_seen_s <= self.config.upright_memory_s and _overlap(t.last_box, box)]
        if not lost:
            return None
        old_id, old = max(lost, key=lambda kt: kt[1].last_seen_s)
        del self._tracks[old_id]
        logger.debug("%s: track %d continues lost track %d (%s)", self.camera_id, tid, old_id, old.state.value)
        self._tracks[tid] = old
        return old

    def _new_track(self, tid: int, box: np.ndarray, upright: bool, now_s: float) -> _Track:
        """A new track id; one that appears where a lost track (seen upright at some point) was
        within ``upright_memory_s`` continues that person's state (and their timer)."""
        cfg = self.config
        adopted = self._adopt_lost(tid, box, now_s)
        if adopted is not None:
            return adopted
        eligible = upright or not cfg.require_upright_first
        tr = _Track(TrackState.UPRIGHT if eligible else TrackState.IGNORED, now_s, now_s, box, upright)
        self._tracks[tid] = tr
        return tr

    def _step(self, tid: int, tr: _Track, box: np.ndarray, fallen: bool, upright: bool, score: float,
              now_s: float) -> PeopleEvent | None:
        cfg = self.config
        tr.upright_streak = tr.upright_streak + 1 if upright else 0
        if upright:
            tr.last_upright_s = now_s
        if tr.state is TrackState.IGNORED:
            if upright:
                tr.state = _transition(tr.state, TrackState.UPRIGHT)
            return None
        if tr.state is TrackState.UPRIGHT:
            if fallen:
                tr.state = _transition(tr.state, TrackState.DOWN)
                tr.down_since_s = tr.still_since_s = now_s
                tr.anchor_xy, tr.best_fall_score, tr.still_frames = _centre(box), score, 1
                tr.fell = tr.last_upright_s is not None and now_s - tr.last_upright_s <= cfg.fall_window_s
            return None
        if tr.state in (TrackState.DOWN, TrackState.CONFIRMED) and tr.upright_streak >= UPRIGHT_STREAK_TO_RECOVER:
            tr.state = _transition(tr.state, TrackState.UPRIGHT)
            return None
        if tr.state is TrackState.CONFIRMED or not fallen:
            return None
        tr.best_fall_score = max(tr.best_fall_score, score)
        if np.linalg.norm(_centre(box) - tr.anchor_xy) > cfg.still_box_share * _diag(box):
            tr.anchor_xy, tr.still_since_s, tr.still_frames = _centre(box), now_s, 1  # moving: timer restarts
            return None
        tr.still_frames += 1
        still_for_s = now_s - tr.still_since_s + 1e-9
        fall_done = tr.fell and still_for_s >= cfg.fall_still_s and tr.still_frames >= cfg.fall_still_frames
        if still_for_s < cfg.still_s and not fall_done:
            return None
        tr.state = _transition(tr.state, TrackState.CONFIRMED)
        if self._in_cooldown(box, now_s):
            logger.info("%s: collapse of track %d within the cooldown of an earlier one", self.camera_id, tid)
            return None
        self._raised.append((now_s, _centre(box), _diag(box)))
        logger.info("%s: collapse raised (track %d, down %.1f s)", self.camera_id, tid, now_s - tr.down_since_s)
        return PeopleEvent(PeopleEventKind.COLLAPSE, self.camera_id, tr.down_since_s, now_s,
                           tuple(float(v) for v in box), tr.best_fall_score, track_id=tid)

    def _in_cooldown(self, box: np.ndarray, now_s: float) -> bool:
        c = _centre(box)
        return any(now_s - t <= self.config.cooldown_s and np.linalg.norm(c - c0) <= max(d0, _diag(box))
                   for t, c0, d0 in self._raised)
