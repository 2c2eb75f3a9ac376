"""Benchmark: the dashboard's spatial queries at province scale on SQLite, PostgreSQL and PostGIS.

170,000 cameras (the synthetic Gyeonggi registry of ``_synthetic_registry.py``, clustered
like the real Busan registry) and 300 incidents are loaded through the product's own
import and ingest into three databases:

- SQLite (the embedded default; the baseline, measured in the same run),
- PostgreSQL without PostGIS (the same bbox columns and B-tree indexes),
- PostgreSQL + PostGIS (geometry columns with GiST indexes, migration ``0004_pg``),

the two servers being one throwaway PostgreSQL 15 started by ``tests/pg.py`` (or
``--database-url`` for a PostGIS database you run; it is wiped). Measured per query, the
median and 95th percentile over boxes/points drawn around real camera positions:

- cameras in view at street zoom (``list_cameras(bbox)``, about 1 km x 1 km),
- the map's camera layer (``cop.camera_overview``) at city zoom 13 and province zoom 9,
- cameras within 300 m of a point (``cameras_within``),
- open incidents within 1 km of a point (``incidents_near``).

Every engine answers the same rows (checked here too: a mismatch stops the run).

Run:  nice -n 10 .venv/bin/python benchmarks/spatial_db.py [--quick]
(``--quick``: 20,000 cameras, 60 incidents, fewer repetitions.)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from _synthetic_registry import synthetic_registry


def _write_registry(path: Path, n: int) -> None:
    cams = synthetic_registry(n)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "lat", "lon", "heading_deg", "fov_deg", "range_m"])
        for i in range(len(cams.lat)):
            w.writerow([f"cam {i}", f"{cams.lat[i]:.7f}", f"{cams.lon[i]:.7f}", f"{cams.heading_deg[i]:.1f}",
                        f"{cams.fov_deg[i]:.1f}", f"{cams.range_m[i]:.1f}"])


def _seed(eng, registry: Path, n_incidents: int) -> dict:
    from datetime import UTC, datetime, timedelta

    from disaster_ops.incidents.fusion import GroundDetection
    from disaster_ops.services import incidents
    from disaster_ops.services.cameras import import_registry, list_cameras
    from disaster_ops.storage.migrate import upgrade
    from disaster_ops.storage.models import SourceKind

    upgrade(eng)
    t0 = time.perf_counter()
    rep = import_registry(registry, engine=eng)
    t_import = time.perf_counter() - t0
    cams = list_cameras(engine=eng)
    rng = np.random.default_rng(5)
    t_now = datetime.now(UTC)
    dets = []
    for k, i in enumerate(rng.choice(len(cams), n_incidents, replace=False)):
        c = cams[int(i)]
        dets.append(GroundDetection(source_kind=SourceKind.CCTV, source_id=c.source_key, kind="fire",
                                    confidence=0.9, observed_at=t_now - timedelta(seconds=n_incidents - k),
                                    bbox_px=(0, 0, 9, 9), ground_lat=c.lat + 0.0003, ground_lon=c.lon))
    t0 = time.perf_counter()
    incidents.ingest(dets, engine=eng)
    t_ingest = time.perf_counter() - t0
    with eng.begin() as c:
        c.exec_driver_sql("ANALYZE")
    return {"imported": rep.imported, "import_s": t_import, "ingest_per_s": n_incidents / t_ingest}


def _time(fn, reps: int) -> tuple[float, float, object]:
    out = None
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))], out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--database-url", help="a PostGIS database to use (it is wiped) instead of a throwaway server")
    args = ap.parse_args()
    n_cams, n_inc, n_probe = (20_000, 60, 15) if args.quick else (170_000, 300, 40)

    import shapely

    from disaster_ops.services import cop, incidents
    from disaster_ops.services.cameras import BBox, cameras_within, list_cameras
    from disaster_ops.storage import spatial
    from disaster_ops.storage.db import make_engine

    tmp = Path(tempfile.mkdtemp(prefix="bench-spatial-"))
    registry = tmp / "gyeonggi_like.csv"
    _write_registry(registry, n_cams)
    server = None
    engines = {"sqlite": make_engine(f"sqlite:///{tmp / 'bench.db'}")}
    if args.database_url:
        engines["postgis"] = make_engine(args.database_url)
    else:
        from tests.pg import PgUnavailable, start_server

        try:
            server = start_server()
        except PgUnavailable as exc:
            print(f"no PostgreSQL server: {exc}; SQLite only")
        if server is not None:
            engines["postgresql"] = make_engine(server.url(server.create_database(template="template1")))
            if server.postgis:
                engines["postgis"] = make_engine(server.url(server.create_database()))
    try:
        seeds = {}
        for name, eng in engines.items():
            seeds[name] = _seed(eng, registry, n_inc)
            print(f"{name}: {seeds[name]['imported']} cameras in {seeds[name]['import_s']:.1f} s, "
                  f"{seeds[name]['ingest_per_s']:.0f} detections/s ingested; "
                  f"postgis={spatial.uses_postgis(eng)}", flush=True)
        cams = list_cameras(engine=engines["sqlite"])
        rng = np.random.default_rng(11)
        probes = [cams[int(i)] for i in rng.choice(len(cams), n_probe, replace=False)]
        queries = {
            "cameras in view, street (~1 km box)": lambda c, e: [x.id for x in list_cameras(
                bbox=BBox(c.lon - 0.0055, c.lat - 0.0045, c.lon + 0.0055, c.lat + 0.0045), engine=e)],
            "map camera layer, city zoom 13": lambda c, e: cop.camera_overview(
                cop.bbox_around((c.lat, c.lon), 13), 13, engine=e).total_in_view,
            "map camera layer, province zoom 9": lambda c, e: cop.camera_overview(
                cop.bbox_around((c.lat, c.lon), 9), 9, engine=e).total_in_view,
            "cameras within 300 m of a point": lambda c, e: [x.camera.id for x in cameras_within(
                shapely.Point(c.lon + 0.001, c.lat), 300.0, engine=e)],
            "open incidents within 1 km": lambda c, e: [x.incident.id for x in incidents.incidents_near(
                c.lat, c.lon, 1000.0, engine=e)],
        }
        results: dict[str, dict[str, tuple[float, float]]] = {}
        for qname, q in queries.items():
            results[qname] = {}
            answers: dict[str, list] = {}
            for name, eng in engines.items():
                q(probes[0], eng)  # warm caches (page cache, plan cache, the PostGIS check)
                meds, p95s, outs = [], [], []
                for c in probes:
                    med, p95, out = _time(lambda c=c, eng=eng, q=q: q(c, eng), 3)
                    meds.append(med)
                    p95s.append(p95)
                    outs.append(out)
                answers[name] = outs
                meds.sort()
                results[qname][name] = (statistics.median(meds), meds[min(len(meds) - 1, int(0.95 * len(meds)))])
            base = answers["sqlite"]
            for name, outs in answers.items():
                # ids are per database but every engine got the same inserts in the same
                # order; counts and id lists must agree
                if outs != base:
                    raise SystemExit(f"{qname}: {name} answered differently from SQLite")
        print(f"\n{platform.node()} {platform.machine()}, {dt.date.today()}, {n_cams} cameras, "
              f"{n_inc} incidents, {n_probe} probes (median of 3 runs each)")
        names = list(engines)
        print("| query | " + " | ".join(f"{n} median / p95 (ms)" for n in names) + " |")
        print("|---|" + "---|" * len(names))
        for qname, r in results.items():
            print(f"| {qname} | " + " | ".join(f"{r[n][0]:.1f} / {r[n][1]:.1f}" for n in names) + " |")
    finally:
        for eng in engines.values():
            eng.dispose()
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
