"""Camera registry import speed on a Gyeonggi-scale (170,000-row) registry.

The registry is generated from the real Busan 2024 and Daejeon 2026 files: rows are
resampled with their real text fields (purpose, camera count, 촬영방면정보) and positions
jittered by up to ~300 m around real cameras, in the current 18-column layout with a
unique 관리번호. Baseline, measured in the same run: a naive ORM upsert (one SELECT and one
``session.add`` per row) on a 10,000-row slice.

Usage: python benchmarks/import_registry.py [--rows 170000] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data" / "cctv_registry"


def generate(path: Path, n_rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    pools = []
    for f in ("busan_cctv_standard_2024.csv", "daejeon_cctv_standard_2026.csv"):
        p = SHARED / f
        if p.exists():
            with open(p, encoding="utf-8", newline="") as fh:
                pools.extend(csv.DictReader(fh))
    if not pools:
        sys.exit(f"real registries not found under {SHARED}")
    header = ["개방자치단체코드", "관리번호", "관리기관명", "소재지도로명주소", "소재지지번주소", "설치목적구분",
              "카메라대수", "카메라화소수", "촬영방면정보", "보관일수", "설치연월", "관리기관전화번호",
              "WGS84위도", "WGS84경도", "데이터기준일자", "데이터갱신구분", "데이터갱신시점", "최종수정시점"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(n_rows):
            src = rnd.choice(pools)
            try:
                lat = float(src["WGS84위도"]) + rnd.uniform(-0.003, 0.003)
                lon = float(src["WGS84경도"]) + rnd.uniform(-0.003, 0.003)
            except ValueError:
                lat, lon = 0.0, 0.0  # keeps the real share of bad rows
            w.writerow(["4100000", f"2026{i:012d}", src["관리기관명"], f"{src['소재지도로명주소']} {i}",
                        src["소재지지번주소"], src["설치목적구분"], src["카메라대수"], src["카메라화소수"],
                        src["촬영방면정보"], src["보관일수"], src["설치연월"], src["관리기관전화번호"],
                        f"{lat:.7f}", f"{lon:.7f}", "2026-05-20", "", "", ""])


def naive_orm_import(path: Path, engine, limit: int) -> float:
    """Baseline: per-row SELECT + ORM add, as a first implementation would do."""
    from sqlmodel import Session, select

    from disaster_ops.registry import CameraRecord, read_registry
    from disaster_ops.storage.models import Camera

    _, _, rows = read_registry(path)
    t0 = time.perf_counter()
    n = 0
    with Session(engine) as s:
        for item in rows:
            if not isinstance(item, CameraRecord):
                continue
            cam = s.exec(select(Camera).where(Camera.source_key == item.source_key)).first()
            if cam is None:
                cam = Camera(source_key=item.source_key, lat=item.lat, lon=item.lon)
            cam.lat, cam.lon, cam.heading_deg = item.lat, item.lon, item.heading_deg
            cam.fov_deg, cam.range_m, cam.name = item.fov_deg, item.range_m, item.name
            s.add(cam)
            n += 1
            if n >= limit:
                break
        s.commit()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=170_000)
    ap.add_argument("--quick", action="store_true", help="20,000 rows")
    args = ap.parse_args()
    n_rows = 20_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["DISASTER_OPS_DATA_DIR"] = str(tmp / "var")
        from disaster_ops.services.cameras import count_cameras, import_registry
        from disaster_ops.storage.db import make_engine
        from disaster_ops.storage.migrate import upgrade

        reg = tmp / "gyeonggi_like.csv"
        t0 = time.perf_counter()
        generate(reg, n_rows)
        print(f"generated {n_rows} rows in {time.perf_counter() - t0:.1f} s ({reg.stat().st_size / 1e6:.1f} MB)")

        eng = make_engine(f"sqlite:///{tmp / 'bench.db'}")
        upgrade(eng)
        first = import_registry(reg, engine=eng)
        rate_first = first.rows_read / first.seconds
        again = import_registry(reg, engine=eng)
        rate_again = again.rows_read / again.seconds
        assert count_cameras(engine=eng) == first.imported

        base_eng = make_engine(f"sqlite:///{tmp / 'baseline.db'}")
        upgrade(base_eng)
        rate_naive = naive_orm_import(reg, base_eng, limit=min(10_000, n_rows))

    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, {dt.date.today()}")
    print(f"first import : {first.rows_read} rows in {first.seconds:.2f} s = {rate_first:,.0f} rows/s "
          f"({first.imported} imported, {first.skipped_count} skipped)")
    print(f"re-import    : {again.rows_read} rows in {again.seconds:.2f} s = {rate_again:,.0f} rows/s "
          f"({again.unchanged} unchanged)")
    print(f"baseline naive ORM upsert: {rate_naive:,.0f} rows/s")
    print(f"speed-up vs baseline: first {rate_first / rate_naive:.1f}x, re-import {rate_again / rate_naive:.1f}x")
    print(f"target >= 20,000 rows/s: {'met' if rate_first >= 20_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
