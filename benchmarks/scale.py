"""Province scale on one 2-core box: camera workers on a local Ray cluster, PostgreSQL.

Measures, in one run (every figure with the load average beside it: the box is shared):

* **baseline costs** in this process: CPU ms of one HazardNet run (batch of 4, 1 thread)
  and of one motion-gate update on a 320 px frame;
* **the soak**: ``--streams`` SIMULATED camera streams (:mod:`disaster_ops.cluster.simstream`:
  real clips decoded once per worker process into a shared ring of frames, each camera at
  its own phase, 1 frame/s, no decoding per camera): 1 in ``--fire-every`` the FURG house6
  fire (640 px, moving), 1 in ``--moving-every`` a street clip that moves, the rest (about
  98 %) static street pictures from ``../shared/data/videos/normal_fixed`` at 320 px (a
  detection substream); registry of ``--registry`` cameras in PostgreSQL + PostGIS; a
  head (no worker slot) and two worker nodes (one camera worker each, model budget
  ``--model-runs-per-s`` each). Over ``--window-s``: frames/s against the frames due,
  each worker's lag, model runs/s, queue (cameras waiting for a model run and the
  longest wait = the effective check interval of a static camera), detections/s stored,
  and CPU seconds of each node, of PostgreSQL and of the coordinator (this process):
  **cameras per core at 1 frame/s** = frames/s / CPU-s per s;
* **failover**: ``--kills`` times, SIGKILL every process of the worker node that holds more
  cameras; time until all its cameras are leased to and running on the survivor, how many
  moved, when each moved fire camera reported again, and that no stored detection was lost
  or stored twice; the node is then restarted and the cameras rebalanced;
* (without ``--cluster-only``) **detections/s into PostgreSQL** through the product's ingest
  path (two writer processes, against SQLite) and **dashboard spatial query latency** with
  the 170,000-camera registry.

Ports: Ray ``--ray-port-base`` .. +89 (three nodes of 30), PostgreSQL in
``DISASTER_OPS_TEST_PG_PORTS`` (default here 18390-18399); 127.0.0.1. Run:
``PYTHONPATH=. python benchmarks/scale.py --cluster-only [--streams 1000] [--kills 3]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa
from _synthetic_registry import GYEONGGI_CITIES, synthetic_registry

from disaster_ops.storage.db import make_engine
from disaster_ops.storage.migrate import upgrade
from disaster_ops.storage.models import Camera

VIDEOS = ROOT.parent / "shared" / "data" / "videos"
FIRE = ROOT / "sample_data" / "videos" / "house6.mp4"
FIRE_EVERY, MOVING_EVERY = 100, 100


def stream_url(i: int) -> str:
    """Camera ``i``'s simulated stream: a few fires, a few moving streets, the rest static."""
    clips = sorted((VIDEOS / "normal_fixed").glob("*.mp4"))
    if i % FIRE_EVERY == 0:
        return f"sim:{FIRE}?fps=1&offset={i % 60}&width=640"
    if i % MOVING_EVERY == MOVING_EVERY // 2:
        return f"sim:{clips[i % len(clips)]}?fps=1&offset={i % 30}&width=320"
    return f"sim:{clips[i % len(clips)]}?fps=1&static=1&offset={i % 30}&width=320"


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def baseline_costs() -> dict:
    """CPU ms of one model run (batch of 4, one thread) and one gate update, here, now."""
    import cv2
    import numpy as np

    from disaster_ops.cluster.simstream import _clip
    from disaster_ops.detect import create_detector
    from disaster_ops.detect.motion import MotionGate

    cv2.setNumThreads(1)
    det = create_detector(threads=1)
    fire = list(_clip(str(FIRE), 1.0, 640)[:4])
    det.detect_batch(fire)
    t0 = time.process_time()
    for _ in range(10):
        det.detect_batch(fire)
    model_ms = (time.process_time() - t0) / 40 * 1000
    small = _clip(str(min((VIDEOS / "normal_fixed").glob("*.mp4"))), 1.0, 320)[0]
    gate = MotionGate(name="x")
    rng = np.random.default_rng(0)
    noisy = [np.clip(small.astype(np.int16) + rng.normal(0, 2, small.shape), 0, 255).astype(np.uint8)
             for _ in range(8)]
    t0 = time.process_time()
    for k in range(400):
        gate.update(noisy[k % 8], float(k))
    gate_ms = (time.process_time() - t0) / 400 * 1000
    return {"model_run_cpu_ms": round(model_ms, 1), "gate_update_cpu_ms_320px": round(gate_ms, 3),
            "load_avg": load()}


class CpuMeter:
    """CPU seconds (user + system) of process trees: a Ray node (``ray start`` and its
    raylet, workers, ...), the PostgreSQL postmaster and its backends, this process."""

    def __init__(self) -> None:
        import psutil

        self.psutil = psutil

    def own(self) -> float:
        t = self.psutil.Process().cpu_times()
        return t.user + t.system  # this process's threads, not its children (the nodes)

    def tree(self, pid: int) -> float:
        try:
            root = self.psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except self.psutil.Error:
            return 0.0
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except self.psutil.Error:
                continue
        return total


def seed_registry(eng, n_cameras: int, n_streams: int) -> float:
    cams = synthetic_registry(n_cameras)
    now = datetime.now(UTC)
    rows = [dict(source_key=f"gg:{i:06d}", name=f"cam {i}", operator="", purpose="", address="",
                 lat=float(cams.lat[i]), lon=float(cams.lon[i]), heading_deg=float(cams.heading_deg[i]),
                 fov_deg=float(cams.fov_deg[i]), range_m=float(cams.range_m[i]), camera_count=1,
                 mount_height_m=6.0, tilt_deg=30.0, stream_url=stream_url(i) if i < n_streams else None,
                 status="unknown", view_source="number", created_at=now, updated_at=now)
            for i in range(len(cams.lat))]
    t0 = time.perf_counter()
    with eng.begin() as c:
        for k in range(0, len(rows), 10_000):
            c.execute(sa.insert(Camera.__table__), rows[k:k + 10_000])
    return time.perf_counter() - t0


def query_latency(eng, n: int = 30) -> dict:
    from disaster_ops.services.cameras import BBox
    from disaster_ops.services.cop import camera_markers, camera_overview

    out = {}
    for name, half_deg, zoom in (("city overview (zoom 11)", 0.15, 11), ("street view markers (zoom 16)", 0.004, 16)):
        ts = []
        for k in range(n):
            _c, lat, lon, _p = GYEONGGI_CITIES[k % len(GYEONGGI_CITIES)]
            bb = BBox(lon - half_deg, lat - half_deg / 2, lon + half_deg, lat + half_deg / 2)
            t0 = time.perf_counter()
            if zoom >= 16:
                camera_markers(bbox=bb, engine=eng, limit=3000)
            else:
                camera_overview(bb, zoom, engine=eng)
            ts.append((time.perf_counter() - t0) * 1000)
        ts.sort()
        out[name] = {"median_ms": round(statistics.median(ts), 1), "p95_ms": round(ts[int(0.95 * len(ts)) - 1], 1)}
    return out


def _writer(url: str, wid: int, seconds: float, q) -> None:
    from disaster_ops.incidents.fusion import GroundDetection
    from disaster_ops.services.incidents import ingest

    eng = make_engine(url)
    t0, n, i = time.monotonic(), 0, 0
    base = datetime.now(UTC)
    while time.monotonic() - t0 < seconds:
        _c, lat, lon, _p = GYEONGGI_CITIES[(wid * 7 + i) % len(GYEONGGI_CITIES)]
        det = GroundDetection(source_kind="cctv", source_id=f"w{wid}-{i % 50}", observed_at=base + timedelta(
            milliseconds=i), kind="fire" if i % 2 else "smoke", confidence=0.8, bbox_px=(1, 1, 9, 9),
            ground_lat=lat + (i % 40) * 0.01, ground_lon=lon)
        ingest([det], engine=eng)
        n, i = n + 1, i + 1
    q.put(n)


def detections_per_s(url: str, seconds: float = 10.0, writers: int = 2) -> float:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ps = [ctx.Process(target=_writer, args=(url, w, seconds, q)) for w in range(writers)]
    for p in ps:
        p.start()
    total = sum(q.get(timeout=seconds + 120) for _ in ps)
    for p in ps:
        p.join()
    return round(total / seconds, 1)


def cluster_run(url: str, data_dir: Path, args, pg_pid: int) -> dict:
    import ray

    from disaster_ops.cluster.coordinator import Coordinator, CoordinatorConfig
    from disaster_ops.cluster.nodes import LocalNode, NodeSpec
    from disaster_ops.cluster.shard import ShardConfig

    n_streams, base = args.streams, args.ray_port_base
    tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    logs = data_dir / "ray-logs"
    logs.mkdir(parents=True, exist_ok=True)
    addr = f"127.0.0.1:{base}"
    ports = {"worker_port_offset": 10, "worker_ports": 20}
    head = LocalNode(NodeSpec(base, slots=0, num_cpus=0, temp_dir=tmp, **ports), log_path=logs / "head.log").start()
    specs = [NodeSpec(base + 30 * (k + 1), head_address=addr, num_cpus=1, slots=1, **ports) for k in range(2)]
    nodes = [LocalNode(sp, log_path=logs / f"node{k}.log").start() for k, sp in enumerate(specs)]
    ray.init(address=addr, log_to_driver=False, logging_level="WARNING")
    eng = make_engine(url)
    keys = [f"gg:{i:06d}" for i in range(n_streams)]
    fire_keys = {k for i, k in enumerate(keys) if i % FIRE_EVERY == 0}
    shard = ShardConfig(database_url=url, data_dir=str(data_dir), sample_fps=1.0, report_interval_s=15.0,
                        lease_ttl_s=30.0, renew_interval_s=5.0, model_runs_per_s=args.model_runs_per_s or None)
    coord = Coordinator(keys, shard, eng, CoordinatorConfig(step_interval_s=0.5, ping_timeout_s=3.0,
                                                            misses_allowed=1, call_timeout_s=120.0))
    th = threading.Thread(target=coord.run, daemon=True)
    th.start()
    cpu = CpuMeter()
    out: dict = {"streams": n_streams, "fire_streams": len(fire_keys),
                 "moving_street_streams": sum(1 for i in range(n_streams) if i % MOVING_EVERY == MOVING_EVERY // 2),
                 "model_runs_per_s_cap_per_worker": args.model_runs_per_s}

    def balanced() -> bool:
        vals = list(coord.assignment.values())
        return (len(coord.workers) == 2 and len(vals) == n_streams and not coord.starting
                and abs(vals.count(min(coord.workers)) - n_streams / 2) <= 1)

    def wait(cond, timeout_s):
        t_end = time.monotonic() + timeout_s
        while time.monotonic() < t_end:
            if cond():
                return True
            time.sleep(0.2)
        return False

    def detections() -> set[tuple]:
        with eng.connect() as c:
            return {tuple(r) for r in c.execute(sa.text(
                "SELECT id, source_id, kind, observed_at FROM detection"))}

    def cpu_now() -> dict:
        d = {f"node{k}": cpu.tree(n.proc.pid) for k, n in enumerate(nodes)}  # ray start, raylet, workers
        d["head"] = cpu.tree(head.proc.pid)
        d["postgresql"] = cpu.tree(pg_pid)
        d["coordinator (this process)"] = cpu.own()
        return d

    try:
        t0 = time.monotonic()
        if not wait(balanced, 600):
            out["error"] = f"not balanced in 600 s: {len(coord.assignment)} assigned, {len(coord.workers)} workers"
            return out
        out["assign_all_s"] = round(time.monotonic() - t0, 1)
        out["load_avg_assigned"] = load()
        print("assigned", out["assign_all_s"], "s", flush=True)
        time.sleep(args.warmup_s)  # first frames queue for the model; gates learn their backgrounds
        s0, c0, d0, w0 = {st.worker_id: st for st in coord.statuses()}, cpu_now(), len(detections()), time.monotonic()
        lags: dict[str, list[float]] = {w: [] for w in s0}
        while time.monotonic() - w0 < args.window_s:
            time.sleep(2)
            for st in coord.statuses():
                lags.setdefault(st.worker_id, []).append(st.lag_s)
        s1, c1, d1, window = ({st.worker_id: st for st in coord.statuses()}, cpu_now(), len(detections()),
                              time.monotonic() - w0)
        out["load_avg_window_end"] = load()
        out["window_s"] = round(window, 1)
        cpu_per_s = {k: round((c1[k] - c0[k]) / window, 3) for k in c1}
        out["cpu_s_per_s"] = cpu_per_s
        per_worker = {}
        for w, b in s1.items():
            a = s0.get(w)
            if a is None:
                continue
            per_worker[w] = {"cameras": len(b.cameras), "frames_per_s": round((b.frames - a.frames) / window, 1),
                             "model_runs_per_s": round((b.model_runs - a.model_runs) / window, 2),
                             "lag_s_median": round(statistics.median(lags[w]), 2), "lag_s_max": round(max(lags[w]), 2),
                             "tick_s": b.tick_s, "waiting_for_model": b.waiting,
                             "oldest_wait_s": b.oldest_wait_s, "model_rate_per_s_now": b.model_rate_per_s}
        out["workers"] = per_worker
        frames_s = sum(v["frames_per_s"] for v in per_worker.values())
        out["frames_per_s"] = round(frames_s, 1)
        out["held_share"] = round(frames_s / n_streams, 3)
        out["detections_stored_per_s"] = round((d1 - d0) / window, 2)
        node_cpu = sum(v for k, v in cpu_per_s.items() if k.startswith("node"))
        all_cpu = sum(cpu_per_s.values())
        out["cameras_per_core_1fps_worker_nodes"] = round(frames_s / node_cpu, 0) if node_cpu else None
        out["cameras_per_core_1fps_all"] = round(frames_s / all_cpu, 0) if all_cpu else None
        print("soak", json.dumps(out), flush=True)

        fail_s, kills = [], []
        for k in range(args.kills):
            by: dict[str, list[str]] = {}
            for cam, w in coord.assignment.items():
                by.setdefault(w, []).append(cam)
            victim_w = max(by, key=lambda w: len(by[w]))
            node_id = next(st.node for st in coord.statuses() if st.worker_id == victim_w).split("/")[-1]
            port = next(int(n["NodeManagerPort"]) for n in ray.nodes() if n["NodeID"].startswith(node_id))
            idx = next(i for i, n in enumerate(nodes) if n.spec.port_base + 1 == port)
            moved = by[victim_w]
            before = detections()
            la = load()
            t_kill = time.monotonic()
            kill_wall = datetime.now(UTC)
            nodes[idx].kill()
            ok = wait(lambda v=victim_w, m=moved: v not in coord.workers and all(
                coord.assignment.get(c) not in (None, v) for c in m), 300)
            if not ok:
                out.setdefault("errors", []).append(f"kill {k}: cameras not moved in 300 s")
                break
            fail_s.append(round(time.monotonic() - t_kill, 1))
            moved_fire = sorted(fire_keys & set(moved))

            def fire_back(mf=moved_fire, kw=kill_wall) -> bool:
                if not mf:
                    return True
                with eng.connect() as c:
                    got = {r[0] for r in c.execute(sa.text(
                        "SELECT DISTINCT source_id FROM detection WHERE observed_at > :t"), {"t": kw})}
                return set(mf) <= got

            back = wait(fire_back, 240)
            after = detections()
            rec = {"moved": len(moved), "failover_s": fail_s[-1], "load_avg": la,
                   "moved_fire_cameras": len(moved_fire),
                   "fire_reported_again_s": round(time.monotonic() - t_kill, 1) if back else None,
                   "rows_lost": len(before - after)}
            kills.append(rec)
            print(f"kill {k + 1}:", json.dumps(rec), flush=True)
            if k + 1 < args.kills:
                nodes[idx] = LocalNode(specs[idx], log_path=logs / f"node{idx}-{k}.log").start()
                if not wait(balanced, 600):
                    out.setdefault("errors", []).append(f"restart {k}: not rebalanced in 600 s")
                    break
                time.sleep(20)
        out["kills"] = kills
        out["failover_s_median"] = statistics.median(fail_s) if fail_s else None
        with eng.connect() as c:
            out["detections_stored"] = c.execute(sa.text("SELECT count(*) FROM detection")).scalar()
            out["incidents"] = c.execute(sa.text("SELECT count(*) FROM incident")).scalar()
            out["duplicate_detection_rows"] = c.execute(sa.text(
                "SELECT count(*) FROM (SELECT source_id, kind, observed_at, bbox_json, count(*) n FROM detection "
                "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d")).scalar()
            out["detections_from_non_fire_cameras"] = c.execute(sa.text(
                "SELECT count(*) FROM detection WHERE source_id NOT IN :keys").bindparams(
                sa.bindparam("keys", expanding=True)), {"keys": sorted(fire_keys)}).scalar()
        return out
    finally:
        coord.stop_event.set()
        th.join(timeout=180)
        ray.shutdown()
        for n in [*nodes, head]:
            n.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    global FIRE_EVERY, MOVING_EVERY
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--registry", type=int, default=170_000)
    ap.add_argument("--model-runs-per-s", type=float, default=5.0,
                    help="model budget of each camera worker; 0: none (every check due runs at once, as before)")
    ap.add_argument("--fire-every", type=int, default=FIRE_EVERY)
    ap.add_argument("--moving-every", type=int, default=MOVING_EVERY)
    ap.add_argument("--warmup-s", type=float, default=60.0)
    ap.add_argument("--window-s", type=float, default=60.0)
    ap.add_argument("--ray-port-base", type=int, default=18300)
    ap.add_argument("--skip-cluster", action="store_true")
    ap.add_argument("--cluster-only", action="store_true", help="Skip the query and detections/s figures.")
    args = ap.parse_args()
    FIRE_EVERY, MOVING_EVERY = args.fire_every, args.moving_every
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("DISASTER_OPS_TEST_PG_PORTS", "18390-18399")
    from tests.pg import start_server

    res: dict = {"machine": f"{os.cpu_count()} cores", "load_avg_start": load(), "started": datetime.now(UTC)}
    res["baseline"] = baseline_costs()
    print("baseline", res["baseline"], flush=True)
    work = Path(tempfile.mkdtemp(prefix="scale-"))
    os.environ["DISASTER_OPS_DATA_DIR"] = str(work / "var")
    server = start_server()
    try:
        pg_url = server.url(server.create_database("scale"))
        pg_pid = int((server.root / "data" / "postmaster.pid").read_text().split()[0])
        res["postgis"] = server.postgis
        lite_url = f"sqlite:///{work / 'lite.db'}"
        for name, url in (("postgresql", pg_url), ("sqlite", lite_url)):
            eng = make_engine(url)
            upgrade(eng)
            res[f"{name}_registry_insert_s"] = round(seed_registry(eng, args.registry, args.streams), 1)
            print(name, "registry", res[f"{name}_registry_insert_s"], "s", flush=True)
            if args.cluster_only:
                break
            res[f"{name}_query_latency"] = query_latency(eng)
            print(name, res[f"{name}_query_latency"], flush=True)
            res[f"{name}_detections_per_s"] = detections_per_s(url)
            print(name, "detections/s", res[f"{name}_detections_per_s"], flush=True)
            with eng.begin() as c:  # the cluster run starts from no incident
                c.execute(sa.text("DELETE FROM detection"))
                c.execute(sa.text("DELETE FROM audit_event"))
                c.execute(sa.text("DELETE FROM incident"))
            eng.dispose()
        if not args.skip_cluster:
            res["cluster"] = cluster_run(pg_url, work / "var", args, pg_pid)
        res["load_avg_end"] = load()
        print(json.dumps(res, indent=1, default=str))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
