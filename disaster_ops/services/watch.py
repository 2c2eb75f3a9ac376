"""The CCTV watcher: streams → motion gate → batched detector → N-of-M confirmation →
ground projection → incidents, with camera health written back to the database.

One tick every ``1 / sample_fps`` seconds takes the newest frame of every camera (the
capture threads keep only the newest), so a slow detector drops frames instead of
lagging. A confirmed hazard is reported (stored + fused into an incident, with a JPEG
snapshot) when it is raised and then at most every ``report_interval_s`` while it lasts.
``model_runs_per_s`` caps the detector's load (a queue, see
:class:`~disaster_ops.detect.pipeline.MultiCameraRunner`; the rate adapts down to the CPU
the watcher gets, :mod:`disaster_ops.detect.budget`); camera health is written for all
cameras in one statement per heartbeat.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.capture import FrameSource, SourceState
from disaster_ops.capture.onvif_ptz import OnvifPtzClient
from disaster_ops.config import get_settings
from disaster_ops.detect import CameraDetectConfig, Detector, create_detector
from disaster_ops.detect.budget import ModelBudget
from disaster_ops.detect.pipeline import MultiCameraRunner
from disaster_ops.errors import InputError
from disaster_ops.services import incidents as incident_svc
from disaster_ops.services.camera_config import parse_detect_config
from disaster_ops.services.incidents import IngestResult
from disaster_ops.services.people_watch import PeopleWatch
from disaster_ops.services.projection import camera_model, camera_to_ground, is_direction_unknown
from disaster_ops.services.roles import Principal
from disaster_ops.services.snapshots import safe_stem, write_snapshot
from disaster_ops.storage.db import get_engine
from disaster_ops.storage.models import Camera, CameraStatus

logger = logging.getLogger(__name__)


@dataclass
class WatchStats:
    ticks: int = 0
    frames: int = 0
    reports: int = 0
    incidents_created: int = 0
    errors: int = 0
    snapshot_failures: int = 0
    by_camera: dict[str, int] = field(default_factory=dict)


@dataclass
class _Watched:
    cam: Camera
    source: FrameSource
    model: object | None = None
    model_size: tuple[int, int] | None = None
    ptz: OnvifPtzClient | None = None  # a PTZ camera that reports where it looks
    logged: frozenset[tuple[str, int]] = frozenset()  # (kinds, incident) already logged at INFO


def cameras_to_watch(keys: list[str] | None = None, *, engine: Engine | None = None) -> list[Camera]:
    """Cameras with a stream URL (or the given keys), skipping disabled ones."""
    with Session(engine or get_engine()) as s:
        q = select(Camera).where(Camera.stream_url.is_not(None), Camera.status != CameraStatus.DISABLED.value)
        if keys:
            q = select(Camera).where(Camera.source_key.in_(keys))
        cams = list(s.exec(q))
    if keys:
        missing = set(keys) - {c.source_key for c in cams}
        if missing:
            raise KeyError(f"unknown camera(s): {', '.join(sorted(missing))}")
        nourl = [c.source_key for c in cams if not c.stream_url]
        if nourl:
            raise KeyError(f"camera(s) without stream_url: {', '.join(nourl)}")
    return cams


def _settings(cam: Camera) -> CameraDetectConfig:
    """The camera's stored detection settings; defaults (and an error in the log) when they
    no longer validate, so one bad row never stops the other cameras."""
    try:
        return parse_detect_config(cam.detect_config, source=cam.source_key)
    except InputError as exc:
        logger.error("%s; running with default settings", exc)
        return CameraDetectConfig()


class Watcher:
    """Watch a set of cameras. The set may change while it runs (:meth:`add_camera`,
    :meth:`remove_camera`): that is how a cluster worker gains and loses cameras.

    ``source_factory`` opens a camera's stream (default: :class:`FrameSource` on its
    ``stream_url``); ``report_guard`` runs inside each detection's database transaction
    and may raise to refuse it (a cluster worker's lease check), in which case the
    camera is dropped from this watcher; ``sweep_interval_s=None`` leaves the incident
    sweep to someone else (the cluster coordinator); ``model_runs_per_s`` caps the model
    runs (the rest queue for later ticks)."""

    def __init__(self, cameras: list[Camera], *, detector: Detector | None = None, engine: Engine | None = None,
                 sample_fps: float = 1.0, report_interval_s: float = 15.0, replay: bool = False,
                 snapshot_dir: Path | None = None, health_interval_s: float = 5.0, allow_empty: bool = False,
                 source_factory: Callable[..., FrameSource] | None = None,
                 report_guard: Callable | None = None, guard_errors: tuple[type[Exception], ...] = (),
                 sweep_interval_s: float | None = 30.0, model_runs_per_s: float | None = None) -> None:
        if not cameras and not allow_empty:
            raise ValueError("no cameras to watch (none has a stream_url)")
        self.engine = engine or get_engine()
        self.detector = detector or create_detector()
        self.sample_period_s = 1.0 / sample_fps
        # None: run the model on every frame that needs it
        self.budget = None if model_runs_per_s is None else ModelBudget(model_runs_per_s, self.sample_period_s)
        self.report_interval_s = report_interval_s
        self.health_interval_s = health_interval_s
        self.snapshot_dir = snapshot_dir or (get_settings().data_dir / "snapshots")
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        hr = get_settings().camera_health
        self.health_rules = hr
        self.replay = replay
        self.source_factory = source_factory or FrameSource
        self.report_guard, self.guard_errors = report_guard, guard_errors
        self.lock = threading.RLock()  # a tick and a camera change never run at once
        self._started = False
        self.watched = {c.source_key: _Watched(c, self._open(c)) for c in cameras}
        settings = {k: _settings(w.cam) for k, w in self.watched.items()}
        for k, w in self.watched.items():
            self._attach_ptz(w, settings[k])
        self.runner = MultiCameraRunner(self.detector, settings)
        # cameras whose kinds include person / collapse / crowding / loitering (issue #16)
        self.people = PeopleWatch({k: (self.watched[k].cam, cfg) for k, cfg in settings.items()},
                                  sample_fps=sample_fps, snapshot_dir=self.snapshot_dir)
        self._last_report: dict[tuple[str, str], float] = {}
        self._last_health = 0.0
        self._last_sweep = 0.0
        self.sweep_interval_s = sweep_interval_s  # quiet incidents: stale / auto-resolve / severity re-grade
        # person-image retention (services/retention) runs with the sweep's owner, off the tick thread
        self.retention_interval_s = get_settings().retention.interval_s if sweep_interval_s is not None else None
        self._last_retention: float | None = None
        self._retention_thread: threading.Thread | None = None
        self.stats = WatchStats()
        self.stop_event = threading.Event()
        self.lag_s = 0.0  # how late the last tick started against its schedule
        self.tick_s = 0.0  # how long the last tick took

    @staticmethod
    def _attach_ptz(w: _Watched, settings) -> None:
        """A PTZ/360° camera without a fixed direction or calibration is asked where it looks."""
        if settings.ptz is not None and is_direction_unknown(w.cam) and not w.cam.calibration:
            w.ptz = OnvifPtzClient(settings.ptz)

    def _open(self, cam: Camera) -> FrameSource:
        hr = self.health_rules
        return self.source_factory(cam.source_key, cam.stream_url, replay=self.replay,
                                   stale_after_s=hr.stale_after_s, frozen_after_s=hr.frozen_after_s,
                                   offline_after_s=hr.offline_after_s)

    # ---------------------------------------------------------------- camera set
    def add_camera(self, cam: Camera) -> None:
        """Start watching ``cam`` (no-op when already watched)."""
        with self.lock:
            if cam.source_key in self.watched:
                return
            w = _Watched(cam, self._open(cam))
            cam_settings = _settings(cam)
            self._attach_ptz(w, cam_settings)
            self.runner.add_camera(cam.source_key, cam_settings)
            self.people.add_camera(cam, cam_settings)
            self.watched[cam.source_key] = w
            if self._started:
                w.source.start()

    def remove_camera(self, key: str) -> bool:
        """Stop watching camera ``key``; its health is left to whoever watches it next."""
        with self.lock:
            w = self.watched.pop(key, None)
            self.runner.remove_camera(key)
            self.people.remove_camera(key)
            for k in [k for k in self._last_report if k[0] == key]:
                del self._last_report[k]
        if w is not None:
            w.source.stop()
        return w is not None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        with self.lock:
            self._started = True
            for w in self.watched.values():
                w.source.start()

    def close(self) -> None:
        """Stop reading; the cameras are marked stale ("watcher stopped") with their heartbeat
        ended, so readers then see them offline once ``offline_after_s`` has passed."""
        with self.lock:
            for w in self.watched.values():
                w.source.stop()
            self._write_health(force=True, stopping=True)

    def run(self, *, duration_s: float | None = None, on_report=None) -> WatchStats:
        """Run until ``stop_event`` is set or ``duration_s`` passed."""
        self.start()
        t_end = None if duration_s is None else time.monotonic() + duration_s
        next_tick = time.monotonic()
        try:
            while not self.stop_event.is_set() and (t_end is None or time.monotonic() < t_end):
                started = time.monotonic()
                self.lag_s = max(0.0, started - next_tick)
                with self.lock:
                    results = self.tick()
                self.tick_s = time.monotonic() - started
                if self.budget:
                    self.budget.observe(self.tick_s)
                if self.lag_s > 10 * self.sample_period_s:  # far behind: skip ticks instead of bursting
                    next_tick = time.monotonic()
                if on_report:
                    for r in results:
                        on_report(r)
                next_tick += self.sample_period_s
                self.stop_event.wait(max(0.0, next_tick - time.monotonic()))
        finally:
            self.close()
        return self.stats

    # ---------------------------------------------------------------- one tick
    def tick(self) -> list[IngestResult]:
        self.stats.ticks += 1
        frames = {}
        for key, w in self.watched.items():
            f = w.source.latest()
            if f is not None:
                frames[key] = f
        self.stats.frames += len(frames)
        out: list[IngestResult] = []
        if frames:
            try:
                runs_before = self.runner.stats.model_runs
                results = self.runner.process({k: (f.image, f.captured_at_s) for k, f in frames.items()},
                                              model_budget=self.budget.allow() if self.budget else None)
                if self.budget:
                    self.budget.used(self.runner.stats.model_runs - runs_before)
            except Exception:  # a detector crash must not kill the watcher
                logger.exception("detector failed on this tick")
                self.stats.errors += 1
                results = []
            now = time.monotonic()
            for res in results:
                if res.confirm is None or res.detections is None or not res.confirm.active:
                    continue
                due = {k for k in res.confirm.active
                       if k in res.confirm.raised or now - self._last_report.get((res.camera_id, k), -1e9)
                       >= self.report_interval_s}
                due &= res.detections.kinds()
                if not due:
                    continue
                try:
                    out.extend(self._report(self.watched[res.camera_id], frames[res.camera_id],
                                            res.detections, due))
                except self.guard_errors as exc:  # the camera moved to another worker
                    logger.warning("%s; dropping it here", exc)
                    self.remove_camera(res.camera_id)
                    continue
                for k in due:
                    self._last_report[(res.camera_id, k)] = now
            if self.people:
                try:
                    out.extend(self.people.tick(frames, engine=self.engine))
                except Exception:  # the people detectors must not stop the hazard ones
                    logger.exception("people detectors failed on this tick")
                    self.stats.errors += 1
        self._write_health()
        self._sweep()
        self._retention()
        return out

    def _retention(self) -> None:
        """Start a retention run when one is due (first at the first tick) and none is running."""
        now = time.monotonic()
        if self.retention_interval_s is None or (self._last_retention is not None
                                                 and now - self._last_retention < self.retention_interval_s):
            return
        if self._retention_thread is not None and self._retention_thread.is_alive():
            return
        self._last_retention = now

        def work() -> None:
            from disaster_ops.services import retention

            try:
                retention.run(engine=self.engine)
            except Exception:  # retention must not stop the cameras; the next run tries again
                logger.exception("retention run failed")

        self._retention_thread = threading.Thread(target=work, name="retention", daemon=True)
        self._retention_thread.start()

    def _sweep(self) -> None:
        now = time.monotonic()
        if self.sweep_interval_s is None or now - self._last_sweep < self.sweep_interval_s:
            return
        self._last_sweep = now
        try:
            for ch in incident_svc.sweep(engine=self.engine):
                logger.info("incident %d: %s -> %s, severity %d -> %d", ch.incident_id, ch.old_status,
                            ch.new_status, ch.old_severity, ch.new_severity)
        except Exception:  # the incident rules must not stop the cameras
            logger.exception("incident sweep failed")
            self.stats.errors += 1

    def _report(self, w: _Watched, frame, dets, kinds: set[str]) -> list[IngestResult]:
        h, wpx = frame.image.shape[:2]
        if w.ptz is not None:
            # where the PTZ camera looks now (None: unknown, moving or unreachable -> the pole)
            d = w.ptz.direction()
            w.model = camera_model(w.cam, width_px=wpx, height_px=h, pan_deg=d.heading_deg if d else None,
                                   tilt_deg=d.tilt_deg if d else None)
            w.model_size = (wpx, h)
        elif w.model is None or w.model_size != (wpx, h):
            w.model, w.model_size = camera_model(w.cam, width_px=wpx, height_px=h), (wpx, h)
        at = datetime.fromtimestamp(frame.captured_at_s, tz=UTC)
        stem = safe_stem("cam", w.cam.id, w.cam.source_key, at, frame.index)
        img = frame.image.copy()
        for (x1, y1, x2, y2), k in zip(dets.xyxy.astype(int), dets.kind):
            if k in kinds:
                cv2.rectangle(img, (x1, y1), (x2, y2), (0, 0, 255), 2)
                cv2.putText(img, str(k), (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
        snap = write_snapshot(self.snapshot_dir, stem, img, who=w.cam.source_key)
        if snap is None:
            self.stats.snapshot_failures += 1
        ground = camera_to_ground(w.cam, dets, kinds=kinds, observed_at=at, width_px=wpx, height_px=h,
                           snapshot_path=snap, model=w.model)
        results = incident_svc.ingest(ground, engine=self.engine, principal=Principal.system("watcher"),
                                      guard=self.report_guard)
        self.stats.reports += len(results)
        self.stats.incidents_created += sum(r.created for r in results)
        self.stats.by_camera[w.cam.source_key] = self.stats.by_camera.get(w.cam.source_key, 0) + len(results)
        label = ",".join(sorted(kinds))
        for r in results:
            # Once per camera, hazard and incident at INFO; the reports that follow every
            # report interval while the hazard lasts only at DEBUG (the map shows them).
            seen = (label, r.incident_id) in w.logged
            logger.log(logging.DEBUG if seen else logging.INFO, "%s: %s → incident %d%s", w.cam.source_key,
                       label, r.incident_id, " (new)" if r.created else "")
            w.logged = w.logged | {(label, r.incident_id)}
        return results

    def _write_health(self, *, force: bool = False, stopping: bool = False) -> None:
        """Heartbeat: each camera's state, last frame and last error, valid until
        ``heartbeat_ttl_s`` from now (if the watcher dies, readers see the expiry).

        One UPDATE for all cameras (one executemany; psycopg pipelines it): per-camera
        round trips cost more than the frames at a thousand cameras. A disabled camera is
        left alone; stopping marks a camera stale ("watcher stopped") unless it was offline."""
        now = time.monotonic()
        if not force and now - self._last_health < self.health_interval_s:
            return
        self._last_health = now
        wall = datetime.now(UTC)
        expires = wall if stopping else wall + timedelta(seconds=self.health_rules.heartbeat_ttl_s)
        rows = []
        for w in self.watched.values():
            state, reason = w.source.health()
            age_s = w.source.seconds_since_frame()
            status = None if stopping or state is SourceState.CONNECTING else _STATE_TO_STATUS[state].value
            rows.append({"cam_id": w.cam.id, "b_frame_at": None if age_s is None else wall - timedelta(seconds=age_s),
                         "b_status": status, "b_error": reason[:500] if reason else None, "b_expires": expires})
        if rows:
            with self.engine.begin() as conn:
                conn.execute(_health_update(stopping), rows)


def _health_update(stopping: bool) -> sa.Update:
    t = Camera.__table__
    c = t.c
    frame_at = sa.bindparam("b_frame_at", type_=c.last_frame_at.type)
    error = sa.bindparam("b_error", type_=c.last_error.type)
    was_offline = c.status == CameraStatus.OFFLINE.value
    if stopping:
        status = sa.case((was_offline, c.status), else_=CameraStatus.STALE.value)
        last_error = sa.case((was_offline, sa.func.coalesce(error, c.last_error)), else_="watcher stopped")
    else:
        status = sa.func.coalesce(sa.bindparam("b_status", type_=c.status.type), c.status)
        last_error = sa.func.coalesce(error, c.last_error)
    return (t.update()
            .where(c.id == sa.bindparam("cam_id"), c.status != CameraStatus.DISABLED.value)
            .values(last_frame_at=sa.func.coalesce(frame_at, c.last_frame_at), status=status, last_error=last_error,
                    health_expires_at=sa.bindparam("b_expires", type_=c.health_expires_at.type)))


_STATE_TO_STATUS = {SourceState.ONLINE: CameraStatus.ONLINE, SourceState.STALE: CameraStatus.STALE,
                    SourceState.OFFLINE: CameraStatus.OFFLINE, SourceState.STOPPED: CameraStatus.STALE}
