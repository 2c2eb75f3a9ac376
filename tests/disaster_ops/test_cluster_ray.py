"""Camera workers on a real local Ray cluster (127.0.0.1): a head with no worker slot and
two worker nodes with one slot each, started with ``ray start`` as a deployment would.

One scenario (Ray start-up is the slow part): six cameras (two on one pole watching the
replayed FURG house6 fire, four static street clips) are split over the two workers
without overlap; one incident with two sources for the fire; the node running a fire
camera is killed (SIGKILL of all its processes); its cameras move to the survivor; the
fire keeps being reported into the same incident and no detection is stored twice."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from disaster_ops.storage.db import make_engine
from disaster_ops.storage.migrate import upgrade
from disaster_ops.storage.models import Camera, Detection, Incident
from tests.conftest import REPO, shared_path

ray = pytest.importorskip("ray", reason="Ray not installed (pip install 'disaster-ops[cluster]')")

from disaster_ops.cluster import leases
from disaster_ops.cluster.coordinator import Coordinator, CoordinatorConfig
from disaster_ops.cluster.nodes import LocalNode, NodeSpec
from disaster_ops.cluster.shard import ShardConfig

HEAD_PORT = int(os.environ.get("DISASTER_OPS_TEST_RAY_PORT", "19000"))  # this ..+59 (three nodes)
PORTS = {"worker_port_offset": 10, "worker_ports": 10}  # each node b..b+19: no overlap
FIRE = REPO / "sample_data" / "videos" / "house6.mp4"


def _wait(cond, timeout_s: float, what: str, step_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _camera(key: str, url: str, lon: float) -> Camera:
    return Camera(source_key=key, name=key, lat=35.1012, lon=lon, heading_deg=45, fov_deg=60, range_m=80,
                  mount_height_m=8, tilt_deg=12, stream_url=url)


@pytest.fixture
def cluster(tmp_path):
    logs = tmp_path / "ray-logs"
    logs.mkdir()
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Unix socket paths: at most 107 bytes
    head = LocalNode(NodeSpec(HEAD_PORT, slots=0, num_cpus=0, temp_dir=ray_tmp, **PORTS),
                     log_path=logs / "head.log").start()
    addr = f"127.0.0.1:{HEAD_PORT}"
    nodes = [LocalNode(NodeSpec(HEAD_PORT + 20 * (i + 1), head_address=addr, num_cpus=1, slots=1, **PORTS),
                       log_path=logs / f"node{i + 1}.log") for i in range(2)]
    try:
        for n in nodes:
            n.start()
        ray.init(address=addr, log_to_driver=False, logging_level="WARNING")
        yield head, nodes
    finally:
        ray.shutdown()
        for n in [*nodes, head]:
            n.kill()
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_two_node_split_failover_and_one_incident(cluster, tmp_path):
    _head, nodes = cluster
    street = shared_path("videos", "normal_fixed", "car-detection.mp4")
    data_dir = tmp_path / "var"
    url = f"sqlite:///{data_dir / 'ops.db'}"
    data_dir.mkdir()
    eng = make_engine(url)
    upgrade(eng)
    fire_keys = ["cam:pole-1-a", "cam:pole-1-b"]  # two cameras on one pole: the same fire
    with Session(eng) as s:
        for k in fire_keys:
            s.add(_camera(k, f"sim:{FIRE}?fps=2", 129.0318))
        for i in range(4):
            s.add(_camera(f"cam:street-{i}", f"sim:{street}?fps=2&static=1&offset={i}", 129.05 + i * 0.01))
        s.commit()
        keys = sorted(c.source_key for c in s.exec(select(Camera)))
    shard = ShardConfig(database_url=url, data_dir=str(data_dir), sample_fps=2.0, report_interval_s=1.0,
                        lease_ttl_s=20.0, renew_interval_s=1.0)
    coord = Coordinator(keys, shard, eng, CoordinatorConfig(step_interval_s=0.5, ping_timeout_s=2.0,
                                                            misses_allowed=1, sweep_interval_s=5.0))
    runner = threading.Thread(target=coord.run, daemon=True)
    runner.start()
    try:
        # ---- split without overlap: every camera leased to exactly one of the two workers
        _wait(lambda: len(coord.workers) == 2 and len(coord.assignment) == len(keys)
              and len(set(coord.assignment.values())) == 2 and not coord.starting, 150, "two workers, all cameras")
        statuses = _wait(lambda: (st := coord.statuses()) and sum(len(x.cameras) for x in st) == len(keys) and st,
                         30, "workers running every camera")
        running = Counter(k for st in statuses for k in st.cameras)
        assert set(running) == set(keys) and max(running.values()) == 1  # each camera on one worker only
        assert sorted(len(st.cameras) for st in statuses) == [3, 3]
        held = leases.holders(eng)
        assert {k: w for k, (w, _t) in held.items()} == coord.assignment
        # ---- the fire is confirmed and reported; both fire cameras join one incident
        def fire_incident():
            with Session(eng) as s:
                incs = list(s.exec(select(Incident)))
                srcs = {d.source_id for d in s.exec(select(Detection))}
            return incs if incs and set(fire_keys) <= srcs else None
        incs = _wait(fire_incident, 90, "the fire reported by both cameras")
        assert len(incs) == 1 and incs[0].source_count == 2 and "fire" in incs[0].kind_list
        # ---- kill the node that runs the first fire camera
        victim_worker = coord.assignment[fire_keys[0]]
        victim_node = next(st.node for st in statuses if st.worker_id == victim_worker)
        victim = next(n for n in nodes if _node_port(victim_node) == n.spec.port_base + 1)
        moved = sorted(k for k, w in coord.assignment.items() if w == victim_worker)
        survivor = next(w for w in coord.workers if w != victim_worker)
        with Session(eng) as s:
            before = {d.id for d in s.exec(select(Detection))}
        t_kill = time.time()
        victim.kill()
        _wait(lambda: victim_worker not in coord.workers and all(coord.assignment.get(k) == survivor for k in keys),
              60, "the dead node's cameras on the survivor")
        t_moved = time.time()
        assert {k: w for k, (w, _t) in leases.holders(eng).items()} == {k: survivor for k in keys}
        # ---- the fire camera that moved reports again, into the same incident
        def reported_after_kill():
            with Session(eng) as s:
                return list(s.exec(select(Detection).where(Detection.source_id == fire_keys[0],
                                                           Detection.observed_at > datetime.fromtimestamp(t_moved, UTC))))
        _wait(reported_after_kill, 60, "the moved fire camera reporting again")
        with Session(eng) as s:
            dets = list(s.exec(select(Detection)))
            incs = list(s.exec(select(Incident)))
        assert before <= {d.id for d in dets}  # nothing stored before the kill was lost
        # one row per box of a frame (a frame may hold several fire boxes), never twice
        rows = Counter((d.source_id, d.kind, d.observed_at, d.bbox_json) for d in dets)
        assert max(rows.values()) == 1
        assert len(incs) == 1 and {d.incident_id for d in dets} == {incs[0].id}
        assert incs[0].source_count == 2
        print(f"failover: cameras {moved} moved in {t_moved - t_kill:.1f} s")
    finally:
        coord.stop_event.set()
        runner.join(timeout=60)


def _node_port(node_label: str) -> int:
    """Node manager port of a worker's Ray node (its label is host/node-id)."""
    node_id = node_label.split("/")[-1]
    for n in ray.nodes():
        if n["NodeID"].startswith(node_id):
            return int(n["NodeManagerPort"])
    raise AssertionError(f"no Ray node {node_id}")


@pytest.mark.slow  # about 75 s on 2 cores: a second Ray start and several CLI processes
def test_watch_workers_cli_and_status(tmp_path):
    """``watch --workers 2`` as a user runs it; ``workers status`` reports each worker's cameras."""
    import json
    import signal
    import subprocess
    import sys

    from tests.conftest import run_cli

    street = shared_path("videos", "normal_fixed", "car-detection.mp4")
    data_dir = tmp_path / "var"
    env = {**os.environ, "DISASTER_OPS_DATA_DIR": str(data_dir), "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("DATABASE_URL", None)
    env.pop("DISASTER_OPS_DATABASE_URL", None)
    eng = make_engine(f"sqlite:///{data_dir / 'disaster_ops.db'}")
    upgrade(eng)
    with Session(eng) as s:
        for i in range(4):
            s.add(_camera(f"cam:st-{i}", f"sim:{street}?fps=1&static=1&offset={i}", 129.05 + i * 0.01))
        s.commit()
    proc = subprocess.Popen([sys.executable, "-m", "disaster_ops", "watch", "--workers", "2", "--ray-port-base",
                             "19500", "--duration-s", "120"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        def two_running():
            r = run_cli("workers", "status", "--json", env_extra=env)
            rows = json.loads(r.stdout or "[]")
            ok = (len(rows) == 2 and all(x["state"] == "running" and len(x["cameras"]) == 2 for x in rows))
            return rows if ok else None
        rows = _wait(two_running, 150, "two workers with two cameras each", step_s=2)
        assert sorted(c for x in rows for c in x["cameras"]) == [f"cam:st-{i}" for i in range(4)]
        r = run_cli("workers", "status", env_extra=env)
        assert r.returncode == 0 and "2 cameras" in r.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-2000:]
    assert "stopped:" in out
    rows = json.loads(run_cli("workers", "status", "--json", env_extra=env).stdout)
    assert {x["state"] for x in rows} == {"stopped"} and all(not x["cameras"] for x in rows)
