"""Worker processes forked at the start of a batch command (``disaster-ops coverage``).

clipper2-py and GEOS's validity check hold the GIL, so threads give a batch command
nothing; processes forked while the command is still small (before it reads any data: a
fork of a ~400 MB heap made both processes copy every page they wrote afterwards) take
work as flat arrays through a pipe and answer the same way. Two kinds of job:

* ``union``: a share of the per-group Clipper2 unions (:func:`geo.clipper_union.union_groups`),
  or ``sectors``, the same from the sectors' shape rows
  (:func:`geo.clipper_union.union_sector_groups`: the worker builds the rings);
* ``valid``: ``shapely.is_valid`` of polygons (:func:`validity`), run while the parent
  writes the output file that needs the answer before it is renamed into place.

A job kind is a short name in :data:`JOBS`, naming the function that reads the job from
the pipe and returns the answer (imported in the worker on first use). Every answer is awaited with a deadline (:func:`deadline_s`); a worker that fails,
dies or misses its deadline is stopped and the caller does the work itself (logged).
Without ``fork`` (or with ``workers`` <= 1) there are no workers and everything runs in
the calling process: the same results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import shapely

logger = logging.getLogger(__name__)

# An answer is awaited at most this long, or DEADLINE_FACTOR times what the parent took for
# its own part of the work meanwhile, whichever is longer; then the worker is stopped.
DEADLINE_MIN_S = 30.0
DEADLINE_FACTOR = 20.0
VALIDITY_MIN_COORDS = 200_000  # fewer coordinates: checked here (the transfer would cost more)

# kind -> "module:function" reading the job from the pipe and returning the answer arrays
JOBS: dict[bytes, str] = {b"union": "geo.clipper_union:_union_job", b"sectors": "geo.clipper_union:_sector_job",
                          b"valid": "geo.forked_workers:_validity_job"}
_pool: list | None = None  # (process, to_child, from_child) per worker, see early_workers
_owing: set[int] = set()  # pids of workers sent a job whose answer has not been read in full


def can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def pool() -> list:
    """The workers free for a job, as ``(process, to_child, from_child)``: alive and owing
    no answer (:func:`send` .. :func:`answered`); empty outside :func:`early_workers`."""
    return [w for w in (_pool or []) if w[0].pid not in _owing and w[0].is_alive()]


def answered(worker) -> None:
    """``worker``'s answer has been read in full: it is free for the next job."""
    _owing.discard(worker[0].pid)


def retire(worker) -> None:
    """Stop ``worker`` and never use it again (it failed, missed its deadline, or its
    answer cannot be read in step any more: a later job must not read a stale answer)."""
    proc = worker[0]
    if proc.is_alive():
        proc.kill()
        proc.join(timeout=5)
    if _pool is not None and worker in _pool:
        _pool.remove(worker)
        worker[1].close()
        worker[2].close()
    _owing.discard(proc.pid)


def deadline_s(own_s: float) -> float:
    """How long an answer may take when the parent spent ``own_s`` on its side meanwhile."""
    return max(DEADLINE_MIN_S, DEADLINE_FACTOR * own_s)


@contextmanager
def early_workers(workers: int) -> Iterator[None]:
    """Fork ``workers - 1`` worker processes now, for the jobs of the body (stopped on exit).

    A worker waits for jobs on its pipe; unused, it costs the fork (~10-30 ms). No-op
    without fork, when workers are already running, or for ``workers`` <= 1.
    """
    global _pool
    if workers <= 1 or _pool is not None or not can_fork():
        yield
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    started: list = []
    try:
        for _ in range(workers - 1):
            job_recv, job_send = ctx.Pipe(duplex=False)
            out_recv, out_send = ctx.Pipe(duplex=False)
            inherited = [c for _, a, b in started for c in (a, b)] + [job_send, out_recv]
            proc = ctx.Process(target=_serve, args=(job_recv, out_send, inherited), daemon=True)
            proc.start()
            job_recv.close()
            out_send.close()
            started.append((proc, job_send, out_recv))
        _pool = started
        yield
    finally:
        _pool = None
        _owing.clear()
        for proc, job_send, out_recv in started:
            job_send.close()  # the worker reads EOF and exits
            out_recv.close()
        for proc, _, _ in started:
            proc.join(timeout=5)
            if proc.is_alive():  # pragma: no cover - a worker stuck in a job
                proc.kill()
                proc.join()


def send(worker, kind: bytes, arrays) -> bool:
    """Send job ``kind`` with its ``arrays`` to ``worker`` (a :func:`pool` entry), which then
    owes an answer (:func:`answered`); False if it cannot take it (it is retired)."""
    _, job_send, _ = worker
    _owing.add(worker[0].pid)
    try:
        job_send.send_bytes(kind)
        send_arrays(job_send, arrays)
    except (OSError, ValueError):  # closed pipe (a dead or stopped worker)
        retire(worker)
        return False
    return True


def send_arrays(conn, arrays) -> None:
    for a in arrays:
        conn.send_bytes(np.ascontiguousarray(a))  # through the buffer protocol: no copy first


def wait(worker, timeout_s: float) -> None:
    """Block until ``worker`` has an answer; a worker without one by then is stopped (TimeoutError)."""
    if not worker[2].poll(max(0.0, timeout_s)):
        retire(worker)  # stuck: it must not answer a later job with this one's result
        raise TimeoutError("no answer before the deadline; stopped")


def _serve(job_recv, out_send, inherited) -> None:  # pragma: no cover - runs in the forked worker
    """A worker: jobs in, answers out, until the pipe closes."""
    for c in inherited:
        c.close()
    while True:
        try:
            kind = job_recv.recv_bytes()
            answer = _job(kind)(job_recv)
        except Exception:  # noqa: BLE001 - EOF (the parent is done) or a job that failed: the
            return  # parent reads EOF and does the work itself (logged there), no traceback here
        try:
            send_arrays(out_send, answer)
        except OSError:  # the parent stopped listening (it failed or is exiting)
            return


def _job(kind: bytes) -> Callable[[object], list[np.ndarray]]:  # pragma: no cover - in the worker
    import importlib

    module, name = JOBS[kind].split(":")
    return getattr(importlib.import_module(module), name)


# ------------------------------------------------------------------ validity of polygons
def _validity_job(conn) -> list[np.ndarray]:  # pragma: no cover - runs in the forked worker
    coords = np.frombuffer(conn.recv_bytes(), dtype=np.float64).reshape(-1, 2)
    ring_off = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    poly_off = np.frombuffer(conn.recv_bytes(), dtype=np.int64)
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (ring_off, poly_off))
    return [shapely.is_valid(polys).astype(np.uint8)]


@dataclass
class PendingValidity:
    """``shapely.is_valid`` of some polygons, computed by a worker while the caller goes on
    (:func:`validity`); :meth:`result` gives the mask (computed here when no worker could)."""

    geoms: np.ndarray
    worker: tuple | None
    sent_at: float

    def result(self) -> np.ndarray:
        if self.worker is not None:
            worker, self.worker = self.worker, None
            try:
                wait(worker, deadline_s(time.monotonic() - self.sent_at))
                got = np.frombuffer(worker[2].recv_bytes(), dtype=np.uint8)
                answered(worker)
                if got.size != self.geoms.size:
                    raise ValueError("wrong number of answers")
                return got.astype(bool)
            except (EOFError, OSError, ValueError, TimeoutError) as exc:
                retire(worker)
                logger.warning("validity check: worker failed (%s); checking here", exc)
        return shapely.is_valid(self.geoms)


def validity(geoms: np.ndarray) -> PendingValidity:
    """Start ``shapely.is_valid(geoms)`` (Polygons) on a worker when one runs and the input is
    large (:data:`VALIDITY_MIN_COORDS`); else it is computed when asked for."""
    geoms = np.asarray(geoms, dtype=object)
    workers = pool()
    if workers and geoms.size and int(shapely.get_num_coordinates(geoms).sum()) >= VALIDITY_MIN_COORDS \
            and (shapely.get_type_id(geoms) == 3).all():
        _, coords, (ring_off, poly_off) = shapely.to_ragged_array(geoms)
        arrays = [np.asarray(coords, dtype=np.float64), np.asarray(ring_off, dtype=np.int64),
                  np.asarray(poly_off, dtype=np.int64)]
        if send(workers[0], b"valid", arrays):
            return PendingValidity(geoms, workers[0], time.monotonic())
        logger.warning("validity check: worker gone; checking here")
    return PendingValidity(geoms, None, time.monotonic())
