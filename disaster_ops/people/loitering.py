"""Loitering (배회): a track staying inside a configured zone longer than ``max_dwell_s``.

A track is inside when its feet (box bottom centre) are. A stay starts when the track is
first seen inside and ends when it has been outside (or unseen) for more than the zone's
``leave_grace_s``; its dwell time is last-inside minus entered. One event per stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely

from disaster_ops.detect.records import Detections
from disaster_ops.people.config import LoiterZone
from disaster_ops.people.events import PeopleEvent, PeopleEventKind, Stay
from disaster_ops.people.tracking import UNTRACKED

logger = logging.getLogger(__name__)


@dataclass
class _Stay:
    entered_s: float
    last_inside_s: float
    raised: bool = False


class LoiteringMonitor:
    """Stays and loitering events of the zones of one camera."""

    def __init__(self, zones: list[LoiterZone], *, camera_id: str) -> None:
        self.zones = list(zones)
        self.camera_id = camera_id
        self._polys = [shapely.Polygon(z.polygon) for z in self.zones]
        self._open: list[dict[int, _Stay]] = [{} for _ in self.zones]
        self._closed: list[Stay] = []

    def update(self, persons: Detections, now_s: float) -> list[PeopleEvent]:
        if not self.zones:
            return []
        ids = persons.data.get("track_id", np.full(len(persons), UNTRACKED))
        tracked = ids != UNTRACKED
        feet = shapely.points((persons.xyxy[:, 0] + persons.xyxy[:, 2]) / 2, persons.xyxy[:, 3] - 0.5)
        events: list[PeopleEvent] = []
        for zone, poly, stays in zip(self.zones, self._polys, self._open):
            inside = shapely.covers(poly, feet) & tracked if len(persons) else np.zeros(0, bool)
            for i in np.flatnonzero(inside):
                tid = int(ids[i])
                st = stays.get(tid)
                if st is None:
                    st = stays[tid] = _Stay(now_s, now_s)
                st.last_inside_s = now_s
                if not st.raised and now_s - st.entered_s + 1e-9 >= zone.max_dwell_s:
                    st.raised = True
                    logger.info("%s: loitering in %s (track %d, %.0f s)", self.camera_id, zone.name, tid,
                                now_s - st.entered_s)
                    events.append(PeopleEvent(PeopleEventKind.LOITERING, self.camera_id, st.entered_s, now_s,
                                              tuple(float(v) for v in persons.xyxy[i]), float(persons.confidence[i]),
                                              track_id=tid, zone=zone.name))
            for tid in [t for t, st in stays.items() if now_s - st.last_inside_s > zone.leave_grace_s]:
                st = stays.pop(tid)
                self._closed.append(Stay(zone.name, tid, st.entered_s, st.last_inside_s))
        return events

    def stays(self) -> list[Stay]:
        """Every stay so far: finished ones, then the ones still open."""
        open_ = [Stay(z.name, tid, st.entered_s, st.last_inside_s)
                 for z, stays in zip(self.zones, self._open) for tid, st in stays.items()]
        return [*self._closed, *open_]
