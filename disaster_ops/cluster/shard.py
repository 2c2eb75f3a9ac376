"""One camera worker: a :class:`~disaster_ops.services.watch.Watcher` whose cameras the
coordinator gives and takes, writing only under its fenced leases.

Plain Python (no Ray): :mod:`disaster_ops.cluster.actor` runs one per Ray actor. The
watcher loop runs on its own thread; a second thread renews the leases and writes the
worker's heartbeat every ``renew_interval_s``. A camera whose lease is gone (moved,
expired) is dropped at the next renewal or at its next write, whichever comes first.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from disaster_ops.cluster import leases
from disaster_ops.cluster.leases import LeaseLost, WorkerBeat
from disaster_ops.cluster.simstream import open_source
from disaster_ops.services.watch import Watcher
from disaster_ops.storage.db import make_engine
from disaster_ops.storage.models import Camera

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardConfig:
    """What every worker of one ``watch`` run shares (sent to each actor)."""

    database_url: str
    data_dir: str
    sample_fps: float = 1.0
    report_interval_s: float = 15.0
    replay: bool = False
    lease_ttl_s: float = leases.LEASE_TTL_S
    renew_interval_s: float = 3.0
    detector_threads: int = 1
    model_runs_per_s: float | None = None  # cap per worker; the rest queue (None: no cap)


@dataclass(frozen=True)
class ShardStatus:
    worker_id: str
    node: str
    pid: int
    cameras: dict[str, int]  # camera_key -> fencing token
    ticks: int
    frames: int
    reports: int
    lag_s: float
    tick_s: float
    model_runs: int = 0
    waiting: int = 0  # cameras queued for a model run (budget)
    oldest_wait_s: float = 0.0  # how long the longest-queued one has waited
    model_rate_per_s: float | None = None  # the budget's current rate (adapts to the CPU it gets)


class ShardWorker:
    def __init__(self, worker_id: str, config: ShardConfig, *, detector=None, node: str | None = None) -> None:
        os.environ["DISASTER_OPS_DATA_DIR"] = config.data_dir  # snapshots go where the dashboard reads them
        os.environ["DISASTER_OPS_DATABASE_URL"] = config.database_url
        from disaster_ops.config import get_settings

        get_settings.cache_clear()
        import cv2

        cv2.setNumThreads(1)  # per-camera images are small: OpenCV's thread pool costs more than it gives
        self.worker_id, self.config = worker_id, config
        self.node = node or socket.gethostname()
        self.engine = make_engine(config.database_url)
        if detector is None:
            from disaster_ops.detect import create_detector

            detector = create_detector(threads=config.detector_threads)
        self.tokens: dict[str, int] = {}
        self._tokens_lock = threading.Lock()  # never held across a tick: renewals must not wait for one
        self.watcher = Watcher([], allow_empty=True, detector=detector, engine=self.engine,
                               sample_fps=config.sample_fps, report_interval_s=config.report_interval_s,
                               replay=config.replay, snapshot_dir=Path(config.data_dir) / "snapshots",
                               source_factory=open_source, report_guard=self._guard, guard_errors=(LeaseLost,),
                               sweep_interval_s=None, model_runs_per_s=config.model_runs_per_s)
        self._threads = [threading.Thread(target=self.watcher.run, name=f"{worker_id}-watch", daemon=True),
                         threading.Thread(target=self._renew_loop, name=f"{worker_id}-lease", daemon=True)]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------- coordinator's calls
    def assign(self, grants: dict[str, int]) -> list[str]:
        """Run each camera of ``grants`` (camera_key -> lease token); returns those started
        (a camera whose lease is not ours any more, or that has no stream, is left out)."""
        ok: dict[str, Camera] = {}
        with Session(self.engine) as s:
            cams = {c.source_key: c for c in s.exec(select(Camera).where(Camera.source_key.in_(list(grants))))}
            for c in cams.values():
                s.expunge(c)
        held = leases.holders(self.engine, keys=list(grants))  # a read: the write-time check is the fence
        for key, token in grants.items():
            cam = cams.get(key)
            if cam is None or not cam.stream_url:
                logger.error("%s: camera %s has no stream_url", self.worker_id, key)
            elif held.get(key) == (self.worker_id, token):
                ok[key] = cam
        with self.watcher.lock:  # one wait for the current tick, however many cameras
            with self._tokens_lock:
                self.tokens.update({k: grants[k] for k in ok})
            for cam in ok.values():
                self.watcher.add_camera(cam)
        return sorted(ok)

    def revoke(self, camera_keys: list[str]) -> list[str]:
        """Stop running these cameras and hand their leases back; returns those it ran."""
        with self._tokens_lock:  # writes stop at once (the guard checks the token) ...
            held = {k: self.tokens.pop(k) for k in camera_keys if k in self.tokens}
        with self.watcher.lock:  # ... the streams stop after the current tick
            for k in camera_keys:
                self.watcher.remove_camera(k)
        for k, token in held.items():
            leases.release(self.engine, k, self.worker_id, token)
        return sorted(held)

    def status(self) -> ShardStatus:
        st = self.watcher.stats
        with self._tokens_lock:
            tokens = dict(self.tokens)
        rs = self.watcher.runner.stats
        return ShardStatus(self.worker_id, self.node, os.getpid(), tokens, st.ticks, st.frames,
                           st.reports, round(self.watcher.lag_s, 3), round(self.watcher.tick_s, 3),
                           rs.model_runs, rs.waiting, round(rs.oldest_wait_s, 1),
                           round(self.watcher.budget.rate_per_s, 2) if self.watcher.budget else None)

    def stop(self) -> None:
        self.watcher.stop_event.set()
        for t in self._threads:
            t.join(timeout=10)
        for key, token in list(self.tokens.items()):
            leases.release(self.engine, key, self.worker_id, token)
        self._beat(state="stopped")

    # ------------------------------------------------------------- internals
    def _guard(self, session: Session, det) -> None:
        with self._tokens_lock:
            token = self.tokens.get(det.source_id)
        leases.check(session, det.source_id, self.worker_id, token)

    def _beat(self, state: str = "running") -> None:
        st = self.watcher.stats
        leases.heartbeat(self.engine, WorkerBeat(self.worker_id, self.node, os.getpid(), len(self.tokens),
                                                 st.frames, st.reports, self.watcher.lag_s, self.watcher.tick_s,
                                                 state))

    def _renew_loop(self) -> None:
        stop = self.watcher.stop_event
        while not stop.is_set():
            try:
                with self._tokens_lock:
                    tokens = dict(self.tokens)
                lost = leases.renew(self.engine, self.worker_id, tokens, ttl_s=self.config.lease_ttl_s,
                                    lag_s=self.watcher.lag_s)
                for key in lost:
                    with self._tokens_lock:
                        mine = self.tokens.get(key) == tokens[key]
                        if mine:
                            self.tokens.pop(key, None)
                    if mine:  # the coordinator sees it gone from status() and hands it out again
                        logger.warning("%s: lease of %s lost; dropping it", self.worker_id, key)
                        self.watcher.remove_camera(key)
                self._beat()
            except Exception:  # the database may be briefly unreachable; leases then expire
                logger.exception("%s: lease renewal failed", self.worker_id)
            stop.wait(self.config.renew_interval_s)

