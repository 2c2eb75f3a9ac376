"""The coordinator: one per ``watch --workers/--cluster`` run, in the ``watch`` process.

Each step (every ``step_interval_s``):

1. pings every worker actor; one that fails or does not answer within
   ``ping_timeout_s`` ``misses_allowed + 1`` times in a row is declared dead, killed
   (if Ray can still reach it) and its cameras become unassigned;
2. starts a new worker actor when the cluster has a free ``watch_slot`` (a node joined,
   or ``--workers N`` is still filling up), one at a time;
3. applies :func:`~disaster_ops.cluster.assign.plan_moves`: a moved camera is first
   revoked from its old worker (which hands its lease back), then granted (new fencing
   token in the database) and given to the new one;
4. runs the incident sweep (stale / resolve / severity) every ``sweep_interval_s``, so
   it runs once for the cluster, not once per worker.

What happened is kept in :attr:`Coordinator.events` (time, what, detail) for the
health command, the tests and the benchmark.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import ray
from ray.exceptions import GetTimeoutError, RayError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from disaster_ops.cluster import leases
from disaster_ops.cluster.actor import WatchActor
from disaster_ops.cluster.assign import plan_moves
from disaster_ops.cluster.nodes import SLOT_RESOURCE
from disaster_ops.cluster.shard import ShardConfig, ShardStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoordinatorConfig:
    max_workers: int | None = None  # None: one per free slot in the cluster
    step_interval_s: float = 1.0
    ping_timeout_s: float = 3.0
    misses_allowed: int = 1
    start_timeout_s: float = 120.0
    call_timeout_s: float = 30.0
    sweep_interval_s: float = 30.0
    reconcile_interval_s: float = 5.0  # compare what workers run with the assignment


@dataclass(frozen=True)
class Event:
    at_s: float  # time.time()
    what: str  # worker_started, worker_lost, camera_assigned, camera_moved
    detail: str


@dataclass
class _Starting:
    handle: object
    ready_ref: object
    deadline_s: float


@dataclass
class Coordinator:
    camera_keys: Sequence[str]
    shard: ShardConfig
    engine: Engine
    config: CoordinatorConfig = field(default_factory=CoordinatorConfig)

    def __post_init__(self) -> None:
        self.run_id = uuid.uuid4().hex[:6]
        self.workers: dict[str, object] = {}
        self.starting: dict[str, _Starting] = {}
        self.assignment: dict[str, str] = {}
        self.misses: dict[str, int] = {}
        self.events: list[Event] = []
        self.stop_event = threading.Event()
        self._n = 0
        self._last_sweep = time.monotonic()
        self._last_reconcile = time.monotonic()

    # ------------------------------------------------------------------ loop
    def run(self, *, duration_s: float | None = None) -> None:
        t_end = None if duration_s is None else time.monotonic() + duration_s
        try:
            while not self.stop_event.is_set() and (t_end is None or time.monotonic() < t_end):
                try:
                    self.step()
                except SQLAlchemyError:  # e.g. a deadlock victim or a dropped connection: the
                    # step's transaction rolled back; the next step plans from what is recorded
                    logger.exception("coordinator step failed; retrying")
                self.stop_event.wait(self.config.step_interval_s)
        finally:
            self.shutdown()

    def step(self) -> None:
        self._check_starting()
        self._check_alive()
        self._reconcile()
        self._grow()
        self._rebalance()
        self._sweep()

    def shutdown(self) -> None:
        refs = [h.stop.remote() for h in self.workers.values()]
        try:
            ray.get(refs, timeout=self.config.call_timeout_s)
        except RayError:
            pass
        for h in [*self.workers.values(), *(s.handle for s in self.starting.values())]:
            try:
                ray.kill(h, no_restart=True)
            except RayError:
                pass
        self.workers.clear()
        self.starting.clear()

    # ------------------------------------------------------------------ workers
    def _log(self, what: str, detail: str) -> None:
        self.events.append(Event(time.time(), what, detail))
        logger.info("%s: %s", what, detail)

    def _check_starting(self) -> None:
        for wid, st in list(self.starting.items()):
            ready, _ = ray.wait([st.ready_ref], timeout=0)
            if ready:
                del self.starting[wid]
                try:
                    ray.get(st.ready_ref)
                except RayError as exc:
                    logger.error("worker %s failed to start: %s", wid, exc)
                    continue
                self.workers[wid] = st.handle
                self.misses[wid] = 0
                self._log("worker_started", wid)
            elif time.monotonic() > st.deadline_s:
                del self.starting[wid]
                ray.kill(st.handle, no_restart=True)
                logger.error("worker %s did not start within %.0f s", wid, self.config.start_timeout_s)

    def _check_alive(self) -> None:
        if not self.workers:
            return
        refs = {wid: h.ping.remote() for wid, h in self.workers.items()}
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=self.config.ping_timeout_s)
        ready_set = set(ready)
        for wid, ref in refs.items():
            ok = ref in ready_set
            if ok:
                try:
                    ray.get(ref)
                except RayError:
                    ok = False
            self.misses[wid] = 0 if ok else self.misses.get(wid, 0) + 1
            if self.misses[wid] > self.config.misses_allowed:
                self._lose(wid)

    def _lose(self, wid: str) -> None:
        h = self.workers.pop(wid)
        self.misses.pop(wid, None)
        try:
            ray.kill(h, no_restart=True)
        except RayError:
            pass
        orphans = sorted(c for c, w in self.assignment.items() if w == wid)
        for c in orphans:
            del self.assignment[c]
        self._log("worker_lost", f"{wid} ({len(orphans)} cameras)")

    def _reconcile(self) -> None:
        """A camera a worker dropped by itself (its lease expired while it was stalled) is
        unassigned here, so the next plan gives it out again."""
        if time.monotonic() - self._last_reconcile < self.config.reconcile_interval_s:
            return
        self._last_reconcile = time.monotonic()
        for st in self.statuses(timeout_s=self.config.ping_timeout_s):
            for cam in [c for c, w in self.assignment.items() if w == st.worker_id and c not in st.cameras]:
                del self.assignment[cam]
                self._log("camera_dropped", f"{cam} by {st.worker_id}")

    def _free_slots(self) -> int:
        return int(ray.available_resources().get(SLOT_RESOURCE, 0))

    def _grow(self) -> None:
        if self.starting:
            return
        cap = self.config.max_workers
        if cap is not None and len(self.workers) >= cap:
            return
        if self._free_slots() < 1:
            return
        self._n += 1
        wid = f"w{self.run_id}-{self._n}"
        h = WatchActor.options(name=f"disaster-ops-{wid}").remote(wid, self.shard)
        self.starting[wid] = _Starting(h, h.ping.remote(), time.monotonic() + self.config.start_timeout_s)

    # ------------------------------------------------------------------ cameras
    def _rebalance(self) -> None:
        moves = plan_moves(self.assignment, list(self.workers), self.camera_keys)
        if not moves:
            return
        by_old: dict[str, list[str]] = {}
        for m in moves:
            if m.from_worker in self.workers:
                by_old.setdefault(m.from_worker, []).append(m.camera_key)
        revokes = [self.workers[w].revoke.remote(cams) for w, cams in by_old.items()]
        ready, _ = ray.wait(revokes, num_returns=len(revokes), timeout=self.config.call_timeout_s)
        for ref in ready:  # one that did not answer is fenced by the grants below anyway
            try:
                ray.get(ref)
            except RayError:
                pass
        tokens = leases.grant_many(self.engine, {m.camera_key: m.to_worker for m in moves},
                                   ttl_s=self.shard.lease_ttl_s)
        grants: dict[str, dict[str, int]] = {}
        for m in moves:
            grants.setdefault(m.to_worker, {})[m.camera_key] = tokens[m.camera_key]
        moved = {m.camera_key: m for m in moves}
        for w, g in grants.items():
            try:
                started = ray.get(self.workers[w].assign.remote(g), timeout=self.config.call_timeout_s)
            except (RayError, GetTimeoutError) as exc:
                logger.warning("assigning %d cameras to %s failed: %s", len(g), w, exc)
                continue  # not recorded: the next step plans them again
            for cam in started:
                self.assignment[cam] = w
                m = moved[cam]
                self._log("camera_moved" if m.from_worker else "camera_assigned", f"{cam} -> {w}")

    def _sweep(self) -> None:
        if time.monotonic() - self._last_sweep < self.config.sweep_interval_s:
            return
        self._last_sweep = time.monotonic()
        self._last_reconcile = time.monotonic()
        from disaster_ops.services import incidents

        try:
            incidents.sweep(engine=self.engine)
        except Exception:  # the incident rules must not stop the cameras
            logger.exception("incident sweep failed")
        self._retention()

    def _retention(self) -> None:
        """Person-image retention (services/retention) every retention.interval_s, first at the first sweep."""
        from disaster_ops.config import get_settings
        from disaster_ops.services import retention

        now = time.monotonic()
        last = getattr(self, "_last_retention", None)
        if last is not None and now - last < get_settings().retention.interval_s:
            return
        self._last_retention = now
        try:
            retention.run(engine=self.engine)
        except Exception:  # retention must not stop the cameras; the next run tries again
            logger.exception("retention run failed")

    def statuses(self, *, timeout_s: float | None = None) -> list[ShardStatus]:
        """Each live worker's status (those that do not answer within the timeout are left out)."""
        refs = [h.status.remote() for h in self.workers.values()]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout_s or self.config.call_timeout_s)
        out = []
        for ref in ready:
            try:
                out.append(ray.get(ref))
            except RayError:
                pass
        return out
