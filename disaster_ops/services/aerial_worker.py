"""The aerial worker: one drone's video + telemetry → detector → ground → incidents, live footprint.

Frames come from a live stream (:class:`~drone_link.video.FrameSource`, reconnecting like
CCTV) or a recorded video file (timed by its position). A live frame is timed by the
capture time its sender stamped on it where the stream carries one (HTTP MJPEG
``X-Timestamp``: mjpg-streamer, the simulated camera), else by its arrival less the
drone's video delay (``video_delay_s``: RTSP/UDP links deliver 0.1-0.3 s late; 0 unless
set, measure it per drone). Each frame's
pose is interpolated from the drone's telemetry (:class:`~drone_link.telemetry.PoseTrack`:
a live MAVLink link, a ``.tlog`` or a DJI ``.SRT``). A frame whose pose is unknown (a
telemetry gap) is counted as un-georeferenced and never placed; a georeferenced frame
goes through :class:`~disaster_ops.services.aerial.AerialDetector` (shared detector,
N-of-M confirmation, ground projection, incident fusion with ``source_kind = drone``).
The camera footprint and the drone's track are written for the map about once a second.
When the drone's people detection is on (``people`` / ``settings.aerial_people``, off by
default), every N-th georeferenced frame also goes through the person detector and
ByteTrack (:class:`~disaster_ops.services.aerial_people.AerialPeople`) and tracked persons
are stored as drone sightings for missing-person search; un-georeferenced frames never are.

``start_for_drone`` is the hook a drone worker calls to run this next to its link.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from disaster_ops.config import AerialPeopleSettings, get_settings
from disaster_ops.detect import Detector
from disaster_ops.services.aerial import AerialDetector, AerialFrame
from disaster_ops.services.aerial_people import AerialPeople
from disaster_ops.services.aerial_view import ViewUpdate, record_view, video_url_of
from disaster_ops.services.drones import register_drone
from disaster_ops.services.roles import Principal
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Drone
from drone_link.telemetry.pose import Channel, PoseFix, PoseTrack
from drone_link.video.files import iter_video_frames
from drone_link.video.source import Frame, FrameSource
from geo.aerial import image_footprint

logger = logging.getLogger(__name__)


@dataclass
class AerialStats:
    frames: int = 0
    stamped: int = 0  # live frames timed by their sender's capture stamp (else by arrival - video delay)
    georeferenced: int = 0
    unreferenced: int = 0  # frames without a usable pose (telemetry gap, no gimbal attitude...)
    on_ground: int = 0  # frames taken while the drone stood on the ground (not projected either)
    detections: int = 0  # ground detections stored
    incidents_created: int = 0
    errors: int = 0
    reconnects: int = 0
    last_reason: str = ""
    frame_to_incident_s: list[float] = field(default_factory=list)
    detections_latlon: list[tuple[str, float, float]] = field(default_factory=list)
    people_frames: int = 0  # frames the person detector ran on (people detection on)
    persons: int = 0  # person boxes found on them
    sightings: int = 0  # person sightings stored (missing-person search)
    people_s: float = 0.0  # time spent on people (detect + track + store), s
    hazards_s: float = 0.0  # time spent on the hazard detector path, s


class AerialWorker:
    """Runs one drone's aerial path until stopped.

    Args:
        drone_name: the drone (registered if new, with ``connection`` as its link).
        video: a stream URL (live, arrival-timed) or a video file with ``offline=True``.
        track: the pose track a feed fills (live link thread, ``.tlog`` or ``.SRT``).
        offline: read ``video`` as a recorded file in order, timing frames by position
            plus ``time_offset_s`` on the track's clock.
        sample_fps: frames per second sent to the detector.
        video_delay_s: how long after capture a live frame arrives (subtracted from the
            arrival time of frames without a capture stamp).
        max_stamp_skew_s: a capture stamp later than the frame's arrival by more than this,
            or older than it by more than ``max_stamp_age_s``, means the sender's clock is
            not ours: such frames are timed by arrival (warned once).
        pose_wait_s: how long to wait for telemetry newer than a live frame before deciding.
        people: person detection / sightings for this drone (default ``settings.aerial_people``;
            off unless configured).
        people_detector: the person detector (default: the shipped one, loaded on first use).
    """

    def __init__(self, drone_name: str, video: str, track: PoseTrack, *, connection: str = "video-only",
                 detector: Detector | None = None, engine: Engine | None = None, sample_fps: float = 2.0,
                 offline: bool = False, time_offset_s: float = 0.0, video_delay_s: float = 0.0,
                 max_stamp_skew_s: float = 0.1, max_stamp_age_s: float = 5.0, pose_wait_s: float = 0.3, hfov_deg: float = 84.0, report_interval_s: float = 5.0,
                 view_interval_s: float = 1.0, snapshot_dir: Path | None = None,
                 source_backoff_s: tuple[float, ...] = (1.0, 2.0, 5.0),
                 people: AerialPeopleSettings | None = None, people_detector: Detector | None = None) -> None:
        if sample_fps <= 0:
            raise ValueError("sample_fps must be > 0")
        self.name, self.video, self.track = drone_name, video, track
        self.engine = engine or get_engine()
        self.offline, self.time_offset_s = offline, time_offset_s
        self.video_delay_s, self.pose_wait_s = video_delay_s, pose_wait_s
        self.max_stamp_skew_s, self.max_stamp_age_s = max_stamp_skew_s, max_stamp_age_s
        self._stamp_warned = False
        self.period_s = 1.0 / sample_fps
        self.view_interval_s = view_interval_s
        self.aerial = AerialDetector(drone_name, hfov_deg=hfov_deg, detector=detector, engine=self.engine,
                                     snapshot_dir=snapshot_dir, report_interval_s=report_interval_s)
        self.source = None if offline else FrameSource(f"drone:{drone_name}", video, backoff_s=source_backoff_s,
                                                       offline_after_s=5.0, capture_stamps=True)
        self.drone_id = self._register(connection)
        people = people if people is not None else get_settings().aerial_people
        self.people = AerialPeople(drone_name, people, sample_fps=sample_fps,
                                   detector=people_detector) if people.enabled else None
        self.max_range_factor = self.aerial.max_range_factor
        self.stats = AerialStats()
        self.stop_event = threading.Event()
        self._track_pts: deque[tuple[float, float]] = deque(maxlen=600)
        self._last_view = 0.0
        self._last_fix: PoseFix | None = None
        self._last_model = None
        self._last_frame_at: datetime | None = None
        self._max_frames: int | None = None

    def _register(self, connection: str) -> int:
        with session_scope(self.engine) as s:
            d = s.exec(select(Drone).where(Drone.name == self.name)).first()
            if d is not None:
                return d.id
            return register_drone(s, name=self.name, connection=connection,
                                  principal=Principal.system(f"drone:{self.name}")).id

    # ------------------------------------------------------------------ one frame
    def frame_time_s(self, frame: Frame) -> float:
        """The frame's time on the track's clock."""
        if self.offline:
            return (frame.pos_s or 0.0) + self.time_offset_s
        if frame.stamp_s is not None:
            lag_s = frame.captured_at_s - frame.stamp_s
            if -self.max_stamp_skew_s <= lag_s <= self.max_stamp_age_s:
                return frame.stamp_s
            if not self._stamp_warned:
                self._stamp_warned = True
                logger.warning("%s: frame capture stamps are %.2f s from their arrival: the sender's clock is not "
                               "this machine's; timing frames by arrival less %.2f s", self.name, lag_s,
                               self.video_delay_s)
        return frame.captured_at_s - self.video_delay_s

    def handle(self, frame: Frame) -> list:
        """Georeference and detect one frame; returns the incidents it fed."""
        t_s = self.frame_time_s(frame)
        if not self.offline:  # let telemetry catch up with the frame before deciding
            deadline = time.monotonic() + self.pose_wait_s
            while (self.track.latest_s(Channel.POSITION) or -1e18) < t_s and time.monotonic() < deadline \
                    and not self.stop_event.is_set():
                time.sleep(0.02)
        fix = self.track.pose_at(t_s)
        self.stats.frames += 1
        self.stats.stamped += int(not self.offline and t_s == frame.stamp_s)
        self._last_fix = fix
        at = datetime.fromtimestamp(t_s if not self.offline else time.time(), tz=UTC)
        self._last_frame_at = at
        if not fix.georeferenced:
            if fix.on_ground:
                self.stats.on_ground += 1
            else:
                self.stats.unreferenced += 1
            if fix.reason != self.stats.last_reason:
                logger.warning("%s: frame %d un-georeferenced: %s", self.name, frame.index, fix.reason)
            self.stats.last_reason = fix.reason
            self._last_model = None
            return []
        self.stats.georeferenced += 1
        self.stats.last_reason = ""
        p = fix.pose
        self._track_pts.append((p.lon, p.lat))
        t0 = time.perf_counter()
        try:
            self._last_model = self.aerial.camera_model(p, frame.image)
            results = self.aerial.process(AerialFrame(frame.image, at, p, frame.index))
        except Exception:  # one bad frame or a detector crash must not stop the worker
            logger.exception("%s: frame %d failed", self.name, frame.index)
            self.stats.errors += 1
            return []
        finally:
            self.stats.hazards_s += time.perf_counter() - t0
        self._people(frame, at, t_s)
        if results:
            self.stats.detections += len(results)
            self.stats.incidents_created += sum(r.created for r in results)
            if not self.offline:
                self.stats.frame_to_incident_s.append(time.time() - frame.captured_at_s)
            self._remember_detections(results)
        return results

    def _people(self, frame: Frame, at: datetime, t_s: float) -> None:
        """Persons of a georeferenced frame -> drone sightings (every N-th frame); a failure
        never stops the hazard path."""
        if self.people is None or self._last_model is None or not self.people.due():
            return
        try:
            self.people.process(frame.image, self._last_model, captured_at=at, stream_s=t_s,
                                max_range_m=self.max_range_factor * self._last_model.height_m, engine=self.engine)
        except Exception:
            logger.exception("%s: frame %d: people not processed", self.name, frame.index)
            self.stats.errors += 1
        ps = self.people.stats
        self.stats.people_frames, self.stats.persons = ps.frames, ps.persons
        self.stats.sightings, self.stats.people_s = ps.sightings, ps.seconds

    def _remember_detections(self, results) -> None:
        from sqlmodel import Session

        from disaster_ops.storage.models import Detection

        with Session(self.engine) as s:
            for r in results:
                d = s.get(Detection, r.detection_id)
                if d is not None and d.ground_lat is not None:
                    self.stats.detections_latlon.append((d.kind, d.ground_lat, d.ground_lon))

    def write_view(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_view < self.view_interval_s:
            return
        self._last_view = now
        fix = self._last_fix
        footprint = None
        if self._last_model is not None:
            try:
                footprint = image_footprint(self._last_model, max_range_m=10 * self._last_model.height_m)
            except Exception:  # noqa: BLE001 (a degenerate pose must not stop the worker)
                footprint = None
        try:
            record_view(self.drone_id, ViewUpdate(
                frame_at=self._last_frame_at, georeferenced=bool(fix and fix.georeferenced),
                reason=(fix.reason if fix else "no frame yet"), footprint=footprint,
                track_lonlat=tuple(self._track_pts), frames=self.stats.frames,
                frames_unreferenced=self.stats.unreferenced, detections=self.stats.detections), engine=self.engine)
        except Exception:  # the database being busy must not stop the video path
            logger.exception("%s: could not write the camera view", self.name)

    # ------------------------------------------------------------------ loops
    def run(self, *, duration_s: float | None = None, max_frames: int | None = None) -> AerialStats:
        """Run until ``stop_event``, ``duration_s``, ``max_frames`` handled or (offline) the end of the file."""
        t_end = None if duration_s is None else time.monotonic() + duration_s
        self._max_frames = max_frames
        try:
            if self.offline:
                for frame in iter_video_frames(Path(self.video), every_s=self.period_s):
                    if self.stop_event.is_set() or (t_end and time.monotonic() > t_end) or self._enough():
                        break
                    self.handle(frame)
                    self.write_view()
            else:
                self._run_live(t_end)
        finally:
            if self.source is not None:
                self.source.stop()
                self.stats.reconnects = self.source.reconnects
            self.write_view(force=True)
        return self.stats

    def _enough(self) -> bool:
        return self._max_frames is not None and self.stats.frames >= self._max_frames

    def _run_live(self, t_end: float | None) -> None:
        self.source.start()
        nxt = time.monotonic()
        while not self.stop_event.is_set() and (t_end is None or time.monotonic() < t_end) and not self._enough():
            frame = self.source.latest()
            if frame is not None:
                self.handle(frame)
            self.stats.reconnects = self.source.reconnects
            self.write_view()
            nxt += self.period_s
            self.stop_event.wait(max(0.0, nxt - time.monotonic()))


class AerialHandle:
    """A running aerial worker thread (from :func:`start_for_drone`)."""

    def __init__(self, worker: AerialWorker, thread: threading.Thread) -> None:
        self.worker, self.thread = worker, thread

    def stop(self, timeout_s: float = 10.0) -> AerialStats:
        self.worker.stop_event.set()
        self.thread.join(timeout_s)
        return self.worker.stats


def start_for_drone(drone_name: str, track: PoseTrack, *, engine: Engine | None = None,
                    video_url: str | None = None, **kwargs) -> AerialHandle | None:
    """Start the aerial worker on a thread when the drone has a video URL (else None).

    The caller (a drone worker) owns the telemetry: it passes the ``track`` its link fills
    (``drone_link.telemetry.mavlink_feed.PoseFeed(track).update(msg, time.time())`` for
    every received message).
    """
    url = video_url or video_url_of(drone_name, engine=engine)
    if not url:
        return None
    worker = AerialWorker(drone_name, url, track, engine=engine, **kwargs)
    t = threading.Thread(target=worker.run, name=f"aerial-{drone_name}", daemon=True)
    t.start()
    logger.info("%s: aerial worker started on %s", drone_name, url)
    return AerialHandle(worker, t)
