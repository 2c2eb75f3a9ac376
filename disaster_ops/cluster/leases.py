"""Fenced camera leases and worker heartbeats, in the database every worker writes to.

The coordinator owns the assignment; the database is the referee. :func:`grant` raises
the camera's fencing token and names the worker; :func:`check` runs inside the
transaction that stores a detection and refuses it (:class:`LeaseLost`) unless that
worker still holds that token and the lease has not expired. Grant and check lock the
lease row (PostgreSQL ``FOR UPDATE``; SQLite's write lock), so a detection is stored
only by the worker that held the camera when the detection committed: a camera never
writes from two workers, whatever the network did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.storage.db import session_scope
from disaster_ops.storage.models import CameraLease, WatchWorker, utcnow
from disaster_ops.storage.txlock import serialise

LEASE_TTL_S = 20.0
_LOCK = "camera-lease"


class LeaseLost(Exception):
    """This worker no longer holds the camera (moved to another worker, or expired)."""

    def __init__(self, camera_key: str, worker_id: str) -> None:
        super().__init__(f"{worker_id} no longer holds camera {camera_key}")
        self.camera_key, self.worker_id = camera_key, worker_id


def _row(session: Session, camera_key: str) -> CameraLease | None:
    serialise(session, _LOCK + ":" + camera_key)
    q = select(CameraLease).where(CameraLease.camera_key == camera_key)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    return session.exec(q).first()


def _aware(t: datetime) -> datetime:
    from datetime import UTC

    return t if t.tzinfo else t.replace(tzinfo=UTC)


def grant(engine: Engine, camera_key: str, worker_id: str, *, ttl_s: float = LEASE_TTL_S) -> int:
    """Give ``camera_key`` to ``worker_id``; returns the new fencing token."""
    now = utcnow()
    with session_scope(engine) as s:
        row = _row(s, camera_key)
        if row is None:
            row = CameraLease(camera_key=camera_key, token=0)
        row.token += 1
        row.worker_id, row.granted_at, row.expires_at, row.lag_s = worker_id, now, now + timedelta(seconds=ttl_s), None
        s.add(row)
        return row.token


def grant_many(engine: Engine, grants: Mapping[str, str], *, ttl_s: float = LEASE_TTL_S) -> dict[str, int]:
    """:func:`grant` for many cameras (camera_key -> worker_id) in one transaction."""
    now = utcnow()
    out: dict[str, int] = {}
    with session_scope(engine) as s:
        for key in sorted(grants):  # sorted: two grant batches never wait on each other in a cycle
            row = _row(s, key) or CameraLease(camera_key=key, token=0)
            row.token += 1
            row.worker_id, row.granted_at, row.expires_at, row.lag_s = (grants[key], now,
                                                                        now + timedelta(seconds=ttl_s), None)
            s.add(row)
            out[key] = row.token
    return out


def check(session: Session, camera_key: str, worker_id: str, token: int | None) -> None:
    """Raise :class:`LeaseLost` unless ``worker_id`` holds ``camera_key`` with ``token`` now."""
    row = _row(session, camera_key)
    if (row is None or token is None or row.worker_id != worker_id or row.token != token
            or _aware(row.expires_at) <= utcnow()):
        raise LeaseLost(camera_key, worker_id)


def renew(engine: Engine, worker_id: str, tokens: Mapping[str, int], *, ttl_s: float = LEASE_TTL_S,
          lag_s: float | None = None) -> set[str]:
    """Extend this worker's leases; returns the cameras it no longer holds."""
    lost: set[str] = set()
    now = utcnow()
    with session_scope(engine) as s:
        serialise(s, _LOCK + ":renew")
        # rows locked in key order, as grant_many locks them: a renewal of 500 leases and a
        # grant of the same cameras to another worker otherwise deadlock (seen at 1,000 streams)
        q = select(CameraLease).where(CameraLease.worker_id == worker_id).order_by(CameraLease.camera_key)
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        rows = {r.camera_key: r for r in s.exec(q)}
        for key, token in tokens.items():
            r = rows.get(key)
            if r is None or r.token != token or _aware(r.expires_at) <= now:
                lost.add(key)
                continue
            r.expires_at, r.lag_s = now + timedelta(seconds=ttl_s), lag_s
            s.add(r)
    return lost


def release(engine: Engine, camera_key: str, worker_id: str, token: int) -> None:
    """Hand a camera back (stopping cleanly): the lease expires now if it is still ours."""
    with session_scope(engine) as s:
        r = _row(s, camera_key)
        if r is not None and r.worker_id == worker_id and r.token == token:
            r.expires_at = utcnow()
            s.add(r)


def holders(engine: Engine, *, keys: list[str] | None = None) -> dict[str, tuple[str, int]]:
    """camera_key -> (worker_id, token) of every unexpired lease (of ``keys`` when given)."""
    now = utcnow()
    q = select(CameraLease)
    if keys is not None:
        q = q.where(CameraLease.camera_key.in_(keys))
    with Session(engine) as s:
        return {r.camera_key: (r.worker_id, r.token) for r in s.exec(q)
                if r.worker_id and _aware(r.expires_at) > now}


@dataclass
class WorkerBeat:
    worker_id: str
    node: str
    pid: int
    cameras: int
    frames: int
    reports: int
    lag_s: float
    tick_s: float
    state: str = "running"


def heartbeat(engine: Engine, beat: WorkerBeat) -> None:
    with session_scope(engine) as s:
        row = s.get(WatchWorker, beat.worker_id) or WatchWorker(worker_id=beat.worker_id)
        for k in ("node", "pid", "cameras", "frames", "reports", "lag_s", "tick_s", "state"):
            setattr(row, k, getattr(beat, k))
        row.heartbeat_at = utcnow()
        s.add(row)


@dataclass
class WorkerReport:
    """One worker as ``disaster-ops workers status`` shows it."""

    worker_id: str
    node: str
    pid: int
    state: str  # running, stopped, or lost (no heartbeat for longer than the lease TTL)
    heartbeat_age_s: float
    lag_s: float
    tick_s: float
    frames: int
    reports: int
    cameras: list[str] = field(default_factory=list)


def workers_status(engine: Engine, *, ttl_s: float = LEASE_TTL_S) -> list[WorkerReport]:
    now = utcnow()
    held = holders(engine)
    by_worker: dict[str, list[str]] = {}
    for cam, (w, _t) in held.items():
        by_worker.setdefault(w, []).append(cam)
    out = []
    with Session(engine) as s:
        for r in s.exec(select(WatchWorker).order_by(WatchWorker.worker_id)):
            age = (now - _aware(r.heartbeat_at)).total_seconds()
            state = r.state if r.state == "stopped" or age <= ttl_s else "lost"
            out.append(WorkerReport(r.worker_id, r.node, r.pid, state, round(age, 1), r.lag_s, r.tick_s,
                                    r.frames, r.reports, sorted(by_worker.get(r.worker_id, []))))
    return out
