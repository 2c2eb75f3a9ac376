"""The people half of the aerial worker: persons on a drone's georeferenced frames ->
ByteTrack tracks -> person sightings (missing-person search) with ``source_kind = drone``.

The same person detector and tracker as the CCTV people watch (``detect`` type ``person``,
:class:`~disaster_ops.people.tracking.PersonTracker`), run on at most every N-th
georeferenced sampled frame (``AerialPeopleSettings.every_n_frames``) so the hazard path
keeps its frame rate. Each tracked person is placed on the ground at the foot of its box
through the frame's pose (the pinhole model the aerial hazards use); a foot whose ray
misses the ground within ``max_range_m`` yields no sighting, and a frame without a pose
never reaches here (the worker counts it un-georeferenced): a drone sighting's place is
never a guess.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from disaster_ops.config import AerialPeopleSettings
from disaster_ops.detect import (
    CameraDetectConfig,
    Detector,
    DetectorConfig,
    MotionConfig,
    create_detector,
)
from disaster_ops.people.tracking import PersonTracker
from disaster_ops.services import sightings as sighting_svc
from disaster_ops.storage.models import SourceKind
from geo.projection import PinholePose

logger = logging.getLogger(__name__)
PACK_EVERY_S = 60.0  # how often settled sightings are packed for search (monotonic s)
# ByteTrack on sparse drone frames (1-2 per second): a walking person moves most of a box
# width between them and the drone's persons score lower (small, seen from above) than
# CCTV's, so a looser overlap and start score than the CCTV tracker's (0.2, 0.3). On the
# P-DESTRE campus views (cam3) the share of person boxes on a track went from 14/95 to
# 35/95 at 1 Hz and from 57/198 to 100/198 at 2 Hz; identity switches are not measured
# (no ground truth for these clips).
TRACK_MIN_IOU = 0.05
TRACK_ACTIVATION = 0.2


@dataclass
class AerialPeopleStats:
    frames: int = 0  # frames the person detector ran on
    persons: int = 0  # person boxes found (tracked or not)
    sightings: int = 0  # sightings stored
    unplaced: int = 0  # due tracked persons whose foot ray missed the ground (no sighting)
    seconds: float = 0.0  # time spent in detection + tracking + storing, s


def drone_key(drone_name: str) -> str:
    """The ``camera_key`` of a drone's sightings."""
    return f"drone:{drone_name}"


class AerialPeople:
    """Person detection, tracking and sightings for one drone's frames.

    Args:
        drone_name: the drone; sightings carry ``camera_key = drone:NAME``.
        settings: enabled / every N-th frame / one sighting per track per s.
        sample_fps: the worker's sampled frames per second (the tracker runs at
            ``sample_fps / every_n_frames``).
        detector: a person detector (default: the shipped one, loaded on first use).
        crop_dir: where crops go (default ``<data_dir>/sightings``).
    """

    def __init__(self, drone_name: str, settings: AerialPeopleSettings, *, sample_fps: float,
                 detector: Detector | None = None, crop_dir: Path | None = None) -> None:
        self.key = drone_key(drone_name)
        self.settings = settings
        self._detector = detector
        self.config = CameraDetectConfig(motion=MotionConfig(enabled=False))
        self.tracker = PersonTracker(fps=sample_fps / settings.every_n_frames, activation_confidence=TRACK_ACTIVATION,
                                     min_iou=TRACK_MIN_IOU)
        self.recorder = sighting_svc.SightingRecorder(SourceKind.DRONE, self.key,
                                                      every_s=settings.sightings_every_s, crop_dir=crop_dir)
        self.stats = AerialPeopleStats()
        self._offered = 0
        self._packed_at = time.monotonic()

    @property
    def detector(self) -> Detector:
        if self._detector is None:
            self._detector = create_detector(DetectorConfig(type="person"))
        return self._detector

    def due(self) -> bool:
        """Whether the next georeferenced frame is one to look for people on (every N-th)."""
        self._offered += 1
        return (self._offered - 1) % self.settings.every_n_frames == 0

    def process(self, image: np.ndarray, model: PinholePose, *, captured_at: datetime, stream_s: float,
                max_range_m: float, engine: Engine) -> int:
        """Detect and track persons on one georeferenced frame and store the due sightings;
        how many were stored. ``stream_s``: the frame's time on the video's clock (sighting
        spacing per track)."""
        t0 = time.perf_counter()
        persons = self.tracker.update(self.detector.detect_batch([image], [self.config])[0])
        self.stats.frames += 1
        self.stats.persons += len(persons)
        placed = sighting_svc.ground_of_model(model, persons, max_range_m=max_range_m, fallback_latlon=None,
                                              box_point="foot")

        def ground(i: int):
            g = placed(i)
            if g is None:
                self.stats.unplaced += 1
            return g

        rows = self.recorder.sightings(image, persons, now_s=stream_s, captured_at=captured_at, ground=ground)
        stored = sighting_svc.store(rows, engine=engine)
        self.stats.sightings += stored
        if self.stats.sightings and time.monotonic() - self._packed_at >= PACK_EVERY_S:
            self._packed_at = time.monotonic()
            try:  # settled sightings into column packs (fast search); never stops the video path
                sighting_svc.pack(engine=engine)
            except Exception:
                logger.exception("%s: packing sightings failed (searches read the rows instead)", self.key)
        self.stats.seconds += time.perf_counter() - t0
        return stored
