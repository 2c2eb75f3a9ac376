"""Benchmark: camera coverage at Gyeonggi scale (170,000 cameras).

(a) uncovered zones in a 2 km radius around a point in a dense city, median of repeated
    queries against a prebuilt :class:`geo.coverage.CoverageIndex`, compared with the
    one-off path (build sectors near the AOI, union, difference) in the same run;
(b) province-wide union of all sectors: the coverage-aware tiled union
    (:class:`geo.coverage.TiledCoverage`) against plain ``shapely.union_all`` of the same
    polygons, same run, areas compared.

Run:  nice -n 10 .venv/bin/python benchmarks/coverage.py [--quick]
Wall and CPU (process) seconds are both printed: on a shared machine CPU time is the
steadier figure. The synthetic registry is described in ``benchmarks/_synthetic_registry.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _synthetic_registry import GYEONGGI_CITIES, synthetic_registry

from geo.aoi import PointRadius
from geo.coverage import DEFAULT_TILE_M, CoverageIndex, TiledCoverage, uncovered_zones
from geo.crs import LocalFrame
from geo.sectors import view_sectors


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall_s = time.perf_counter() - self.w0
        self.cpu_s = time.process_time() - self.c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 cameras, fewer repeats (a smoke run).")
    ap.add_argument("--cameras", type=int, default=None, help="Number of cameras (default 170,000).")
    ap.add_argument("--repeats", type=int, default=None, help="Repeats of query (a).")
    ap.add_argument("--tile-m", type=float, default=DEFAULT_TILE_M, help="Tile size of the tiled union, metres.")
    ap.add_argument("--workers", type=int, default=2, help="Threads for the tiled union (tiles are independent).")
    ap.add_argument("--skip-baseline", action="store_true", help="Skip plain union_all (b) (takes ~30-60 s).")
    args = ap.parse_args()
    n = args.cameras or (20_000 if args.quick else 170_000)
    repeats = args.repeats or (7 if args.quick else 21)

    print(f"coverage benchmark: {n:,} synthetic cameras clustered like the real registries, "
          f"{'quick' if args.quick else 'full'} run")
    with Clock() as c:
        cams = synthetic_registry(n)
    print(f"  registry generated in {c.wall_s:.2f} s ({np.mean(cams.fov_deg >= 360) * 100:.0f} % 360° cameras)")

    frame = LocalFrame.around(37.45, 127.1)  # one UTM zone (52N) for the whole province
    with Clock() as c:
        sectors = view_sectors(cams, frame=frame)
    polys = sectors.polygons_m[sectors.valid]
    is_disc = sectors.cameras.fov_deg[sectors.valid] >= 360.0
    n_vert = int(shapely.get_num_coordinates(polys).sum())
    print(f"  view_sectors: {polys.size:,} polygons ({n_vert:,} vertices) in {c.wall_s:.2f} s wall")

    # ---------------- (a) 2 km radius around a point
    name, lat, lon, _ = GYEONGGI_CITIES[0]
    aoi = PointRadius(lat, lon, 2000.0)
    with Clock() as c:
        index = CoverageIndex.build(cams, frame=frame, tile_m=args.tile_m, workers=args.workers)
    print(f"\n(a) uncovered zones within 2 km of {name} centre ({lat}, {lon})")
    print(f"  CoverageIndex.build (sectors + tiled union, once): {c.wall_s:.2f} s wall, {c.cpu_s:.2f} s CPU")
    fast_ms, plain_ms = [], []
    res = uncovered_zones(aoi, index)  # warm-up
    for _ in range(repeats):
        with Clock() as c:
            res = uncovered_zones(aoi, index)
        fast_ms.append(c.wall_s * 1000)
    for _ in range(max(3, repeats // 3)):
        with Clock() as c:
            ref = uncovered_zones(aoi, cams)
        plain_ms.append(c.wall_s * 1000)
    fast_med, plain_med = statistics.median(fast_ms), statistics.median(plain_ms)
    same = abs(res.covered_area_m2 - ref.covered_area_m2) / max(ref.covered_area_m2, 1.0)
    print(f"  cameras touching the AOI: {res.cameras_used:,}; covered {res.covered_fraction * 100:.1f} %; "
          f"{len(res.zones)} zones >= 25 m²")
    print(f"  indexed query: median {fast_med:.1f} ms (min {min(fast_ms):.1f}, max {max(fast_ms):.1f}, "
          f"n={len(fast_ms)})  target <= 50 ms")
    print(f"  one-off query without index (baseline): median {plain_med:.1f} ms  -> {plain_med / fast_med:.1f}x")
    print(f"  covered area indexed vs one-off: {same * 100:.5f} % apart")

    # ---------------- (b) province-wide union
    print(f"\n(b) union of all {polys.size:,} sectors")
    results = {}
    for workers in sorted({1, args.workers}):
        times = []
        for _ in range(2 if not args.quick else 3):
            with Clock() as c:
                tiled = TiledCoverage.build(polys, tile_m=args.tile_m, is_disc=is_disc, workers=workers)
            times.append((c.wall_s, c.cpu_s))
        results[workers] = (min(t[0] for t in times), min(t[1] for t in times))
        print(f"  coverage-aware tiled union (tile {args.tile_m:g} m, {workers} thread{'s' if workers > 1 else ''}): "
              f"best of {len(times)}: {results[workers][0]:.2f} s wall, {results[workers][1]:.2f} s CPU; "
              f"{tiled.pieces.size:,} pieces, {tiled.area_m2 / 1e6:.3f} km²")
    with Clock() as c:
        merged = tiled.merged()
    merge_wall, merge_cpu = c.wall_s, c.cpu_s
    n_parts = len(shapely.get_parts(merged))
    print(f"  dissolving the tile seams (merged(), coverage union): {merge_wall:.2f} s wall, {merge_cpu:.2f} s CPU; "
          f"one {merged.geom_type} of {n_parts:,} polygons, {merged.area / 1e6:.3f} km², valid={merged.is_valid}")
    if args.skip_baseline:
        return
    with Clock() as c:
        base = shapely.union_all(polys)
    diff = abs(tiled.area_m2 - base.area) / base.area
    print(f"  plain shapely.union_all (baseline): {c.wall_s:.2f} s wall, {c.cpu_s:.2f} s CPU, "
          f"{base.area / 1e6:.3f} km²")
    print(f"  area difference {diff * 100:.6f} % (limit 0.1 %)")
    sym = merged.symmetric_difference(base).area / base.area
    print(f"  merged geometry vs baseline geometry: symmetric difference {sym * 100:.6f} % of the area")
    for workers, (wall_s, cpu_s) in results.items():
        print(f"  speed-up with {workers} thread(s): tiled {c.wall_s / wall_s:.1f}x wall, {c.cpu_s / cpu_s:.1f}x CPU; "
              f"tiled + merged into one geometry {c.wall_s / (wall_s + merge_wall):.1f}x wall, "
              f"{c.cpu_s / (cpu_s + merge_cpu):.1f}x CPU  (target >= 5x)")


if __name__ == "__main__":
    main()
