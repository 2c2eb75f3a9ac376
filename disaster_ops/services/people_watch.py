"""The people half of the CCTV watcher: persons of every camera whose kinds include a
people kind (``person``, ``collapse``, ``crowding``, ``loitering``) -> per-camera tracks and
rules -> collapse / crowding / loitering events -> ground -> incidents with a snapshot.

One batch of the person detector per tick for all such cameras (beside the hazard
detector's batch); each camera keeps its own :class:`~disaster_ops.people.analyzer.PeopleAnalyzer`,
created on its first frame with the camera's pixel->ground model (crowding density).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect import CameraDetectConfig, DetectorConfig, create_detector
from disaster_ops.detect.records import Detections
from disaster_ops.people.analyzer import PeopleAnalyzer
from disaster_ops.people.events import PeopleEvent, PeopleEventKind
from disaster_ops.services import evidence, people_density
from disaster_ops.services import incidents as incident_svc
from disaster_ops.services import sightings as sighting_svc
from disaster_ops.services.incidents import IngestResult
from disaster_ops.services.projection import camera_model, camera_to_ground, fallback_point
from disaster_ops.services.roles import Principal
from disaster_ops.services.snapshots import safe_stem, write_snapshot
from disaster_ops.storage.models import Camera, SourceKind

logger = logging.getLogger(__name__)
PACK_EVERY_S = 60.0  # how often settled sightings are packed for search (monotonic s)
DENSITY_INTERVAL_S = 5.0  # how often a camera's density row is rewritten (the map refreshes every 10 s)
EVENT_COLOUR_BGR = {PeopleEventKind.COLLAPSE: (0, 0, 255), PeopleEventKind.CROWDING: (0, 165, 255),
                    PeopleEventKind.LOITERING: (128, 0, 128)}


@dataclass
class PeopleStats:
    frames: int = 0
    events: dict[str, int] = field(default_factory=dict)
    reports: int = 0
    sightings: int = 0


class PeopleWatch:
    """Person detection, tracking and people events for the cameras that ask for them."""

    def __init__(self, cameras: dict[str, tuple[Camera, CameraDetectConfig]], *, sample_fps: float,
                 snapshot_dir: Path, detector=None) -> None:
        self.cameras = {k: v for k, v in cameras.items() if v[1].people_kinds()}
        self.sample_fps = sample_fps
        self.snapshot_dir = snapshot_dir
        self._detector = detector
        self.analyzers: dict[str, PeopleAnalyzer] = {}
        self.recorders: dict[str, sighting_svc.SightingRecorder] = {}
        self.models: dict[str, object] = {}
        self._packed_at = time.monotonic()
        self.stats = PeopleStats()
        self.density_interval_s = DENSITY_INTERVAL_S
        self._density_at: dict[str, float] = {}

    def __bool__(self) -> bool:
        return bool(self.cameras)

    @property
    def detector(self):
        """The person detector, loaded when the first camera needs it."""
        if self._detector is None:
            self._detector = create_detector(DetectorConfig(type="person"))
        return self._detector

    def add_camera(self, cam: Camera, config: CameraDetectConfig) -> None:
        """Watch ``cam`` for people too when its kinds ask for it."""
        if config.people_kinds():
            self.cameras[cam.source_key] = (cam, config)

    def remove_camera(self, key: str) -> None:
        self.cameras.pop(key, None)
        self.analyzers.pop(key, None)
        self.recorders.pop(key, None)
        self.models.pop(key, None)

    def _analyzer(self, key: str, frame: np.ndarray) -> PeopleAnalyzer:
        if key not in self.analyzers:
            cam, cfg = self.cameras[key]
            h, w = frame.shape[:2]
            try:
                model = camera_model(cam, width_px=w, height_px=h)
            except Exception:  # no usable pose: counts without density
                logger.exception("%s: no ground model for people density", key)
                model = None
            self.models[key] = model
            self.recorders[key] = sighting_svc.SightingRecorder(
                SourceKind.CCTV, key, every_s=cfg.people.sightings_every_s)
            self.analyzers[key] = PeopleAnalyzer(key, cfg, fps=self.sample_fps, ground_model=model)
        return self.analyzers[key]

    def tick(self, frames: dict, *, engine) -> list[IngestResult]:
        """``frames``: camera key -> captured frame (``image``, ``captured_at_s``, ``index``)."""
        keys = [k for k in frames if k in self.cameras]
        if not keys:
            return []
        persons = self.detector.detect_batch([frames[k].image for k in keys],
                                             [self.cameras[k][1] for k in keys])
        self.stats.frames += len(keys)
        out: list[IngestResult] = []
        rows = []
        for key, dets in zip(keys, persons):
            f = frames[key]
            analyzer = self._analyzer(key, f.image)
            pf = analyzer.update(dets, f.image, f.captured_at_s)
            rows.extend(self._sightings(key, f, pf.persons))
            self._record_density(key, analyzer, pf, f.captured_at_s, engine=engine)
            for ev in pf.events:
                self.stats.events[ev.kind.value] = self.stats.events.get(ev.kind.value, 0) + 1
                out.extend(self._report(key, f, ev, engine=engine))
        if rows:
            self.stats.sightings += sighting_svc.store(rows, engine=engine)
        if self.stats.sightings and time.monotonic() - self._packed_at >= PACK_EVERY_S:
            self._packed_at = time.monotonic()
            try:  # settled sightings into column packs (fast search); a failure never stops detection
                sighting_svc.pack(engine=engine)
            except Exception:
                logger.exception("sightings: packing failed (searches read the rows instead)")
        return out

    def _sightings(self, key: str, frame, persons: Detections) -> list:
        """This frame's due sightings of ``key`` (missing-person search); never stops detection."""
        model = self.models.get(key)
        if model is None or not len(persons):
            return []
        cam, _ = self.cameras[key]
        try:
            ground = sighting_svc.ground_of_model(model, persons, max_range_m=max(cam.range_m * 3, 300.0),
                                                  fallback_latlon=fallback_point(cam))
            return self.recorders[key].sightings(
                frame.image, persons, now_s=frame.captured_at_s,
                captured_at=datetime.fromtimestamp(frame.captured_at_s, tz=UTC), ground=ground)
        except Exception:  # a sighting must never stop the incident path
            logger.exception("%s: sightings not stored for this frame", key)
            return []

    def _record_density(self, key: str, analyzer: PeopleAnalyzer, pf, at_s: float, *, engine) -> None:
        """The camera's newest count and density for the map's density layer (every
        ``density_interval_s`` per camera); a failure never stops detection."""
        last = self._density_at.get(key)
        if last is not None and at_s - last < self.density_interval_s:
            return
        self._density_at[key] = at_s
        try:
            people_density.record(key, count=pf.count, area_m2=analyzer.crowding.known_area_m2,
                                  density_per_m2=pf.density_per_m2, zone=analyzer.crowding.zone_ground,
                                  observed_at=datetime.fromtimestamp(at_s, tz=UTC), engine=engine)
        except Exception:
            logger.exception("%s: density not stored", key)

    def _report(self, key: str, frame, event: PeopleEvent, *, engine) -> list[IngestResult]:
        cam, _ = self.cameras[key]
        h, w = frame.image.shape[:2]
        at = datetime.fromtimestamp(frame.captured_at_s, tz=UTC)
        img = frame.image.copy()
        x1, y1, x2, y2 = (round(v) for v in event.bbox_px)
        cv2.rectangle(img, (x1, y1), (x2, y2), EVENT_COLOUR_BGR[event.kind], 2)
        cv2.putText(img, event.kind.value, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    EVENT_COLOUR_BGR[event.kind], 1)
        snap = write_snapshot(self.snapshot_dir, safe_stem("cam", cam.id, cam.source_key, at, frame.index), img,
                              who=cam.source_key)
        if snap is not None:  # people are in it: have its blurred copy ready before anyone asks
            evidence.prepare_blurred(snap)
        box = np.array([event.bbox_px], np.float32)
        if event.kind is PeopleEventKind.CROWDING:  # the crowd stands in the zone: its centre, on the ground
            cy = (box[0, 1] + box[0, 3]) / 2
            box[0, 1] = box[0, 3] = cy
        dets = Detections(box, np.array([event.confidence], np.float32), np.array([event.kind.value], object))
        ground = camera_to_ground(cam, dets, kinds={event.kind.value}, observed_at=at, width_px=w, height_px=h,
                                  snapshot_path=snap)
        results = incident_svc.ingest(ground, engine=engine, principal=Principal.system("watcher"))
        self.stats.reports += len(results)
        for r in results:
            logger.info("%s: %s -> incident %d%s", key, event.kind.value, r.incident_id, " (new)" if r.created else "")
        return results
