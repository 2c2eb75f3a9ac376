"""Temporal confirmation: a hazard is raised only after N of the last M sampled frames
agree (default 3 of 5), which cuts one-frame false alarms from headlights, sunsets,
red objects and rain. Cleared again when none of the last M frames has it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from disaster_ops.detect.config import ConfirmConfig
from disaster_ops.detect.records import Detections


@dataclass(frozen=True)
class ConfirmState:
    """After one sampled frame: kinds active now, and those raised / cleared by it."""

    active: frozenset[str]
    raised: frozenset[str]
    cleared: frozenset[str]
    votes: dict[str, int]


class TemporalConfirmer:
    """N-of-M voting per kind over the frames the model actually ran on."""

    def __init__(self, config: ConfirmConfig | None = None, *, kinds: tuple[str, ...] = ("fire", "smoke", "flood")) -> None:
        self.config = config or ConfirmConfig()
        self._history = {k: deque(maxlen=self.config.window) for k in kinds}
        self._active: set[str] = set()

    def update(self, detections: Detections) -> ConfirmState:
        """Record one sampled frame's detections and return the confirmed state."""
        found = detections.kinds()
        raised, cleared = set(), set()
        votes = {}
        for kind, hist in self._history.items():
            hist.append(kind in found)
            n = sum(hist)
            votes[kind] = n
            if kind not in self._active and n >= self.config.required:
                self._active.add(kind)
                raised.add(kind)
            elif kind in self._active and n == 0:
                self._active.discard(kind)
                cleared.add(kind)
        return ConfirmState(frozenset(self._active), frozenset(raised), frozenset(cleared), votes)

    @property
    def active(self) -> frozenset[str]:
        return frozenset(self._active)
