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

    # ------------------------------------------------------------------ loop
    def run(self, *, duration_s: float | None = None) -> None:
        t_end = None if duration_s is None else time.monotonic() + duration_s
        try:
            while not self.stop_event.is_set() and (t_end is None or time.monotonic() < t_end):
                self.step()
                self.stop_event.wait(self.config.step_interval_s)
        finally:
            self.shutdown()

    def step(self) -> None:
        self._check_starting()
        self._check_alive()
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
        revokes = [(m, self.workers[m.from_worker].revoke.remote(m.camera_key)) for m in moves
                   if m.from_worker in self.workers]
        for m, ref in revokes:
            try:
                ray.get(ref, timeout=self.config.call_timeout_s)
            except (RayError, GetTimeoutError):
                pass  # the grant below fences it anyway
        calls = []
        for m in moves:
            token = leases.grant(self.engine, m.camera_key, m.to_worker, ttl_s=self.shard.lease_ttl_s)
            calls.append((m, self.workers[m.to_worker].assign.remote(m.camera_key, token)))
        for m, ref in calls:
            try:
                ok = ray.get(ref, timeout=self.config.call_timeout_s)
            except (RayError, GetTimeoutError) as exc:
                logger.warning("assigning %s to %s failed: %s", m.camera_key, m.to_worker, exc)
                continue  # not recorded: the next step plans it again
            if ok:
                self.assignment[m.camera_key] = m.to_worker
                self._log("camera_moved" if m.from_worker else "camera_assigned",
                          f"{m.camera_key} -> {m.to_worker}")

    def _sweep(self) -> None:
        if time.monotonic() - self._last_sweep < self.config.sweep_interval_s:
            return
        self._last_sweep = time.monotonic()
        from disaster_ops.services import incidents

        try:
            incidents.sweep(engine=self.engine)
        except Exception:  # the incident rules must not stop the cameras
            logger.exception("incident sweep failed")

    def statuses(self) -> list[ShardStatus]:
        refs = {wid: h.status.remote() for wid, h in self.workers.items()}
        out = []
        for ref in refs.values():
            try:
                out.append(ray.get(ref, timeout=self.config.call_timeout_s))
            except (RayError, GetTimeoutError):
                pass
        return out
