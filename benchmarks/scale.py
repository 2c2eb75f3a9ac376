"""Province scale on one 2-core box: camera workers on a local Ray cluster, PostgreSQL.

Measures, in one run:

* **cameras per core at 1 frame/s**: ``--streams`` simulated streams (replayed real clips
  decoded once at 1 frame/s: 5 % the FURG house6 fire, moving; 95 % street clips from
  ``../shared/data/videos/normal_fixed``, static) on a cluster of a head (no worker slot)
  and two worker nodes (one camera worker each); frames processed per second over a
  30 s window against the frames due (streams x 1/s), and each worker's lag;
* **failover time**: ``--kills`` times, SIGKILL every process of the worker node that
  holds more cameras; time until all its cameras are leased to and started on the
  survivor; the node is then restarted and the cameras rebalanced before the next kill;
* **detections/s into PostgreSQL** through the product's ingest path (fusion included),
  two writer processes, against SQLite in the same run;
* **dashboard spatial query latency** with a 170,000-camera registry (the synthetic
  Gyeonggi registry of ``_synthetic_registry.py``): the map overview of a city (grid
  counts in the database) and the individual markers of a street-level view, PostgreSQL
  against SQLite in the same run.

Ports: PostgreSQL 18410, Ray 19000-19299 (127.0.0.1). Run:
``PYTHONPATH=. python benchmarks/scale.py [--streams 1000] [--kills 3]``.
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
from tests.disaster_ops._pgserver import pg_server

VIDEOS = ROOT.parent / "shared" / "data" / "videos"
FIRE = ROOT / "sample_data" / "videos" / "house6.mp4"
PG_PORT, RAY_PORT = 18410, 19000


def stream_url(i: int) -> str:
    if i % 20 == 0:
        return f"sim:{FIRE}?fps=1&offset={i % 60}"
    clips = sorted((VIDEOS / "normal_fixed").glob("*.mp4"))
    return f"sim:{clips[i % len(clips)]}?fps=1&static=1&offset={i % 30}"


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


def cluster_run(url: str, data_dir: Path, n_streams: int, kills: int) -> dict:
    import ray

    from disaster_ops.cluster.coordinator import Coordinator, CoordinatorConfig
    from disaster_ops.cluster.nodes import LocalNode, NodeSpec
    from disaster_ops.cluster.shard import ShardConfig

    tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    logs = data_dir / "ray-logs"
    logs.mkdir(parents=True, exist_ok=True)
    addr = f"127.0.0.1:{RAY_PORT}"
    head = LocalNode(NodeSpec(RAY_PORT, slots=0, num_cpus=0, temp_dir=tmp), log_path=logs / "head.log").start()
    specs = [NodeSpec(RAY_PORT + 20 * (k + 1), head_address=addr, num_cpus=1, slots=1) for k in range(2)]
    nodes = [LocalNode(s, log_path=logs / f"node{k}.log").start() for k, s in enumerate(specs)]
    ray.init(address=addr, log_to_driver=False, logging_level="WARNING")
    eng = make_engine(url)
    keys = [f"gg:{i:06d}" for i in range(n_streams)]
    shard = ShardConfig(database_url=url, data_dir=str(data_dir), sample_fps=1.0, report_interval_s=15.0,
                        lease_ttl_s=30.0, renew_interval_s=5.0)
    coord = Coordinator(keys, shard, eng, CoordinatorConfig(step_interval_s=0.5, ping_timeout_s=3.0,
                                                            misses_allowed=1, call_timeout_s=120.0))
    th = threading.Thread(target=coord.run, daemon=True)
    th.start()
    out: dict = {"streams": n_streams}

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

    try:
        t0 = time.monotonic()
        if not wait(balanced, 600):
            out["error"] = f"not balanced in 600 s: {len(coord.assignment)} assigned, {len(coord.workers)} workers"
            return out
        out["assign_all_s"] = round(time.monotonic() - t0, 1)
        time.sleep(10)  # warm-up: first detector runs, gates learn their backgrounds
        s0 = coord.statuses()
        lags = []
        for _ in range(15):
            time.sleep(2)
            lags += [st.lag_s for st in coord.statuses()]
        s1 = coord.statuses()
        window = 30.0 + 0.0
        frames = sum(b.frames for b in s1) - sum(a.frames for a in s0)
        out["frames_per_s"] = round(frames / window, 1)
        out["frames_due_per_s"] = float(n_streams)
        out["held_share"] = round(frames / window / n_streams, 3)
        out["worker_lag_s_median"] = round(statistics.median(lags), 2) if lags else None
        out["worker_lag_s_max"] = round(max(lags), 2) if lags else None
        out["tick_s"] = [st.tick_s for st in s1]
        print("cluster", json.dumps(out), flush=True)
        fail_s = []
        for k in range(kills):
            by = {}
            for cam, w in coord.assignment.items():
                by.setdefault(w, []).append(cam)
            victim_w = max(by, key=lambda w: len(by[w]))
            node_id = next(st.node for st in coord.statuses() if st.worker_id == victim_w).split("/")[-1]
            port = next(int(n["NodeManagerPort"]) for n in ray.nodes() if n["NodeID"].startswith(node_id))
            idx = next(i for i, n in enumerate(nodes) if n.spec.port_base + 1 == port)
            moved = by[victim_w]
            t_kill = time.monotonic()
            nodes[idx].kill()
            ok = wait(lambda v=victim_w, m=moved: v not in coord.workers and all(
                coord.assignment.get(c) not in (None, v) for c in m), 300)
            if not ok:
                out.setdefault("errors", []).append(f"kill {k}: cameras not moved in 300 s")
                break
            fail_s.append(round(time.monotonic() - t_kill, 1))
            print(f"kill {k + 1}: {len(moved)} cameras running again after {fail_s[-1]} s", flush=True)
            if k + 1 < kills:
                nodes[idx] = LocalNode(specs[idx], log_path=logs / f"node{idx}-{k}.log").start()
                if not wait(balanced, 600):
                    out.setdefault("errors", []).append(f"restart {k}: not rebalanced in 600 s")
                    break
        out["failover_s"] = fail_s
        out["failover_s_median"] = statistics.median(fail_s) if fail_s else None
        with eng.connect() as c:
            out["detections_stored"] = c.execute(sa.text("SELECT count(*) FROM detection")).scalar()
            out["incidents"] = c.execute(sa.text("SELECT count(*) FROM incident")).scalar()
            out["duplicate_detection_rows"] = c.execute(sa.text(
                "SELECT count(*) FROM (SELECT source_id, kind, observed_at, bbox_json, count(*) n FROM detection "
                "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d")).scalar()
        return out
    finally:
        coord.stop_event.set()
        th.join(timeout=180)
        ray.shutdown()
        for n in [*nodes, head]:
            n.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--registry", type=int, default=170_000)
    ap.add_argument("--skip-cluster", action="store_true")
    ap.add_argument("--cluster-only", action="store_true", help="Skip the query and detections/s figures.")
    args = ap.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    res: dict = {"machine": f"{os.cpu_count()} cores", "load_avg_start": os.getloadavg()}
    work = Path(tempfile.mkdtemp(prefix="scale-"))
    os.environ["DISASTER_OPS_DATA_DIR"] = str(work / "var")
    try:
        with pg_server(PG_PORT, settings=()) as pg_url:  # durable defaults (fsync on)
            lite_url = f"sqlite:///{work / 'lite.db'}"
            for name, url in (("postgresql", pg_url), ("sqlite", lite_url)):
                eng = make_engine(url)
                upgrade(eng)
                res[f"{name}_registry_insert_s"] = round(seed_registry(eng, args.registry, args.streams), 1)
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
                res["cluster"] = cluster_run(pg_url, work / "var", args.streams, args.kills)
        res["load_avg_end"] = os.getloadavg()
        print(json.dumps(res, indent=1, default=str))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
