"""Camera workers sharing one database: the assignment plan, fenced leases, and fusion
when two workers see the same fire at the same moment, on SQLite and a real PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from disaster_ops.cluster import leases
from disaster_ops.cluster.assign import plan_moves
from disaster_ops.cluster.leases import LeaseLost
from disaster_ops.incidents.fusion import GroundDetection
from disaster_ops.storage.db import make_engine
from disaster_ops.storage.migrate import upgrade
from disaster_ops.storage.models import Detection, Incident

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------- the plan
def test_plan_splits_without_overlap_and_moves_few_cameras():
    cams = [f"c{i:02d}" for i in range(10)]
    first = plan_moves({}, ["w1"], cams)
    assign = {m.camera_key: m.to_worker for m in first}
    assert set(assign) == set(cams) and set(assign.values()) == {"w1"}
    # a worker joins: half the cameras move, each exactly once, none twice
    join = plan_moves(assign, ["w1", "w2"], cams)
    assert len(join) == 5 and all(m.from_worker == "w1" and m.to_worker == "w2" for m in join)
    assign.update({m.camera_key: m.to_worker for m in join})
    # w1 dies: only its cameras move, all to the survivor
    die = plan_moves(assign, ["w2"], cams)
    assert {m.camera_key for m in die} == {c for c, w in assign.items() if w == "w1"}
    assert all(m.from_worker is None and m.to_worker == "w2" for m in die)
    assert plan_moves({c: "w2" for c in cams}, ["w2"], cams) == []


def test_plan_evens_three_workers():
    cams = [f"c{i}" for i in range(7)]
    assign = {m.camera_key: m.to_worker for m in plan_moves({}, ["a", "b", "c"], cams)}
    loads = sorted(list(assign.values()).count(w) for w in "abc")
    assert loads == [2, 2, 3]


# ---------------------------------------------------------------- leases
def test_a_fenced_worker_cannot_write_after_its_camera_moved(engine):
    t1 = leases.grant(engine, "cam:1", "w1")
    with Session(engine) as s:
        leases.check(s, "cam:1", "w1", t1)  # holds
    t2 = leases.grant(engine, "cam:1", "w2")  # w1 declared dead; w1 may still be running
    assert t2 > t1
    with Session(engine) as s, pytest.raises(LeaseLost):
        leases.check(s, "cam:1", "w1", t1)
    assert leases.renew(engine, "w1", {"cam:1": t1}) == {"cam:1"}
    assert leases.renew(engine, "w2", {"cam:1": t2}) == set()
    assert leases.holders(engine) == {"cam:1": ("w2", t2)}
    leases.release(engine, "cam:1", "w1", t1)  # a stale release changes nothing
    assert leases.holders(engine) == {"cam:1": ("w2", t2)}


# ---------------------------------------------------------------- fusion race
def _det(source: str, i: int) -> GroundDetection:
    return GroundDetection(source_kind="cctv", source_id=source, observed_at=T0 + timedelta(seconds=i),
                           kind="fire" if i % 3 else "smoke", confidence=0.8, bbox_px=(10, 10, 50, 50),
                           ground_lat=35.1015 + i * 1e-6, ground_lon=129.0322)


def _worker(url: str, source: str, barrier, n: int, out) -> None:
    from disaster_ops.services.incidents import ingest

    eng = make_engine(url)
    created = 0
    for i in range(n):
        barrier.wait()  # both "workers" report their frame of the same fire at the same moment
        created += sum(r.created for r in ingest([_det(source, i)], engine=eng))
    out.put(created)


def _race(url: str, n: int = 12) -> tuple[int, list[Incident], list[Detection]]:
    eng = make_engine(url)
    upgrade(eng)
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, f"cam:{k}", barrier, n, out)) for k in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    created = out.get(timeout=5) + out.get(timeout=5)
    with Session(eng) as s:
        incs = list(s.exec(select(Incident)))
        dets = list(s.exec(select(Detection)))
    eng.dispose()
    return created, incs, dets


def _assert_one_incident_two_sources(created, incs, dets, n=12):
    assert created == 1 and len(incs) == 1, [(i.id, i.kind) for i in incs]
    assert incs[0].source_count == 2 and set(incs[0].kind_list) == {"fire", "smoke"}
    assert len(dets) == 2 * n and {d.incident_id for d in dets} == {incs[0].id}


def test_two_workers_seeing_one_fire_make_one_incident_sqlite(data_dir):
    url = f"sqlite:///{data_dir / 'race.db'}"
    _assert_one_incident_two_sources(*_race(url))


def test_two_workers_seeing_one_fire_make_one_incident_postgres(pg_url):
    pytest.importorskip("psycopg")
    _assert_one_incident_two_sources(*_race(pg_url))  # a port of DISASTER_OPS_TEST_PG_PORTS


# ---------------------------------------------------------------- health command
def test_workers_status_reports_cameras_lag_and_lost_workers(engine, data_dir):
    import json

    from disaster_ops.cluster.leases import WorkerBeat, heartbeat
    from disaster_ops.storage.models import WatchWorker
    from tests.conftest import run_cli

    for key, w in (("cam:1", "w1"), ("cam:2", "w1"), ("cam:3", "w2")):
        leases.grant(engine, key, w, ttl_s=3600)
    heartbeat(engine, WorkerBeat("w1", "node-a/1234", 11, 2, 120, 3, 0.25, 0.4))
    heartbeat(engine, WorkerBeat("w2", "node-b/5678", 12, 1, 60, 0, 0.1, 0.2))
    r = run_cli("workers", "status", "--json", "--lost-after-s", "600")  # slow CI: no false "lost"
    assert r.returncode == 0, r.stderr
    rows = {x["worker_id"]: x for x in json.loads(r.stdout)}
    assert rows["w1"]["cameras"] == ["cam:1", "cam:2"] and rows["w1"]["lag_s"] == 0.25
    assert rows["w2"]["cameras"] == ["cam:3"] and {x["state"] for x in rows.values()} == {"running"}
    with Session(engine) as s:  # w2's heartbeat stops (its node died)
        row = s.get(WatchWorker, "w2")
        row.heartbeat_at = row.heartbeat_at - timedelta(hours=1)
        s.add(row)
        s.commit()
    r = run_cli("workers", "status", "--lost-after-s", "600")
    assert r.returncode == 1 and "w2" in r.stdout and "lost" in r.stdout and "running" in r.stdout and "2 cameras, lag 0.25 s" in r.stdout
