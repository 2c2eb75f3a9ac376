"""Benchmark: missing-person search over 1,000,000 stored sightings (target <= 2 s).

Synthetic sightings (7 days, 2,000 cameras over about 30 km x 30 km of Seoul, random
appearance vectors of the product's packed layout) are inserted into the product's own
store: a SQLite file migrated to head (and, with ``--pg``, a throwaway PostgreSQL from
``tests/pg.py``). Then ``services.person_search.search`` (SQL prefilter by time and
ground box on the indexes, numpy scoring, one per track, audit) runs per query shape,
twice: with every sighting still a row (read row by row), and after ``sightings.pack``
put them into column packs of 4,096 (what the watcher does every minute):

- description, 6 h window, whole area;  - description, 24 h, 2 km around a place;
- photo (a stored sighting), 24 h, whole area;
- description and photo with no window and no area (every row scored: the worst case).

Baselines measured in the same run: the 6 h prefilter read as ORM objects, and
``SELECT count(*)`` with the same filter, both with the index left to the planner (what a
naive service does before it has scored anything).

Run:  nice -n 10 /work/main/.venv/bin/python benchmarks/person_search.py [--rows N] [--pg]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T0 = datetime(2026, 11, 20, tzinfo=UTC)
DAYS = 7
N_CAMERAS = 2000


def seed(eng, n: int, *, chunk: int = 50_000, seed_: int = 7) -> None:
    import sqlalchemy as sa

    from disaster_ops.people.appearance import BLOCK, N_NAMED, VECTOR_BYTES
    from disaster_ops.storage.models import PersonSighting

    rng = np.random.default_rng(seed_)
    cam_lat = 37.45 + rng.random(N_CAMERAS) * 0.27
    cam_lon = 126.85 + rng.random(N_CAMERAS) * 0.34
    table = PersonSighting.__table__
    builds = np.array(["slim", "medium", "broad"])
    from disaster_ops.people.appearance import COLOUR_NAMES
    names = np.array(COLOUR_NAMES)
    all_secs = np.sort(rng.random(n) * DAYS * 86400)  # inserted in time order, as a watcher does
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        cam = rng.integers(0, N_CAMERAS, m)
        secs = all_secs[start:start + m]
        vec = np.zeros((m, VECTOR_BYTES), np.float32)
        for b in (0, BLOCK):
            vec[:, b:b + N_NAMED] = rng.dirichlet(np.full(N_NAMED, 0.3), m)
            vec[:, b + N_NAMED:b + BLOCK] = rng.dirichlet(np.full(BLOCK - N_NAMED, 0.3), m)
        q = np.round(vec * 255).astype(np.uint8)
        up = vec[:, :N_NAMED].argmax(1)
        lo = vec[:, BLOCK:BLOCK + N_NAMED].argmax(1)
        rows = [{
            "source_kind": "cctv", "camera_key": f"SYN-{int(cam[i]):05d}",
            "captured_at": T0 + timedelta(seconds=float(secs[i])), "track_id": int(start + i) // 5,
            "x1": 10.0, "y1": 20.0, "x2": 40.0, "y2": 110.0,
            "lat": float(cam_lat[cam[i]] + rng.normal(0, 2e-4)), "lon": float(cam_lon[cam[i]] + rng.normal(0, 2e-4)),
            "uncertainty_m": None, "confidence": 0.8, "upper_colour": str(names[up[i]]),
            "lower_colour": str(names[lo[i]]), "build": str(builds[i % 3]), "feature_version": 1,
            "attrs": q[i].tobytes(), "crop_path": None, "status": "unreviewed"} for i in range(m)]
        with eng.begin() as conn:
            conn.execute(sa.insert(table), rows)


def timed(fn, reps: int) -> tuple[float, float, object]:
    out, times = None, []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), max(times), out


def run(eng, label: str, reps: int) -> list[str]:
    import sqlalchemy as sa
    from sqlmodel import Session, select

    from disaster_ops.services import person_search as ps
    from disaster_ops.services.roles import Principal, Role
    from disaster_ops.storage.models import PersonSighting

    me = Principal("bench.manager", Role.MANAGER)
    with Session(eng) as s:
        some_id = s.exec(select(PersonSighting.id).limit(1)).one()
    day = T0 + timedelta(days=3)
    desc = ps.Description(upper=("red",), lower=("blue",))
    seoul = ps.SearchArea(37.45, 126.85, 37.72, 127.19)
    shapes = {
        "description, 6 h, whole area": ps.SearchRequest("bench: 6 h window", description=desc, since=day,
                                                          until=day + timedelta(hours=6), area=seoul),
        "description, 24 h, 2 km radius": ps.SearchRequest(
            "bench: last seen place", description=desc, since=day, until=day + timedelta(hours=24),
            area=ps.SearchArea.around(37.56, 127.0, 2000)),
        "photo, 24 h, whole area": ps.SearchRequest("bench: photo", photo=ps.Photo(sighting_id=some_id),
                                                    since=day, until=day + timedelta(hours=24), area=seoul),
        "description, everything (worst case)": ps.SearchRequest("bench: worst case", description=desc),
        "photo, everything (worst case)": ps.SearchRequest("bench: worst case photo",
                                                           photo=ps.Photo(sighting_id=some_id)),
    }
    lines = []
    for name, req in shapes.items():
        med, worst, res = timed(lambda r=req: ps.search(r, principal=me, engine=eng), reps)
        lines.append(f"| {label} | {name} | {res.scanned:,} | {med:.2f} | {worst:.2f} |")
        print(lines[-1], flush=True)
    req = shapes["description, 6 h, whole area"]
    conds = ps._prefilter(req)
    med, worst, n = timed(lambda: len(Session(eng).exec(select(PersonSighting).where(*conds)).all()), 1)
    lines.append(f"| {label} | baseline: ORM read of the 6 h rows (no scoring) | {n:,} | {med:.2f} | {worst:.2f} |")
    print(lines[-1], flush=True)
    with eng.connect() as c:
        med, worst, n = timed(lambda: c.execute(sa.select(sa.func.count()).select_from(
            PersonSighting.__table__).where(*conds)).scalar(), reps)
    lines.append(f"| {label} | baseline: count(*) of the 6 h rows, index left to the planner | {n:,} | "
                 f"{med:.2f} | {worst:.2f} |")
    print(lines[-1], flush=True)
    return lines


def seed_pack_run(eng, label: str, args) -> None:
    """Migrate, seed, search as rows, pack, search as packs."""
    from disaster_ops.services.sightings import pack
    from disaster_ops.storage.migrate import upgrade

    upgrade(eng)
    t = time.perf_counter()
    seed(eng, args.rows)
    print(f"({label} seeded in {time.perf_counter() - t:.0f} s)", flush=True)
    if eng.dialect.name == "postgresql":
        with eng.begin() as c:
            c.exec_driver_sql("ANALYZE person_sighting")
    run(eng, f"{label}, rows (nothing packed)", args.reps)
    t = time.perf_counter()
    n = pack(engine=eng)
    print(f"({label}: packed into {n} packs in {time.perf_counter() - t:.0f} s)", flush=True)
    run(eng, f"{label}, packed", args.reps)
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--pg", action="store_true", help="also on a throwaway PostgreSQL (tests/pg.py)")
    ap.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run (with --pg)")
    args = ap.parse_args()
    from disaster_ops.storage.db import make_engine

    print(f"# {args.rows:,} sightings, {platform.node()} {platform.processor() or platform.machine()}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print("| store | query | rows scored | median s | max s |\n|---|---|---:|---:|---:|")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            seed_pack_run(make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}"), "SQLite", args)
    if args.pg:
        from tests.pg import start_server

        server = start_server(with_postgis=False)
        try:
            seed_pack_run(make_engine(server.url(server.create_database())), "PostgreSQL", args)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
