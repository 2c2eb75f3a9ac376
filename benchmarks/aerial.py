"""Aerial path: ground error against altitude and gimbal angle, and frames per second.

Ground error: the synthetic aerial camera (``drone_link.sim.aerial_camera``) renders the
view of a camera at each altitude and gimbal pitch over fires planted at known ground
points (six real CC BY 4.0 flame patches, 30 m, at four positions in the view, four
headings; each fire is an upright flame column standing on its point); the shipped
detector, sliced as the aerial path runs it, finds them; parts of one column are merged
and each column's foot (``geo.box_ground``, from its scored cells as the aerial path
does) is projected to
the ground with the same pose and compared with the planted point (the box centre's
error is reported next to it, for comparison; flood boxes are counted: this ground has no
water, so each is a false alarm). The foot with the column's near end at its last cell's outer
edge (the aerial3 rule, ``geo.box_ground.END_AT_CELL_CENTRE = False``) is computed from the
same detections, for comparison. Poses are exact here, so the figure is detection + projection error; telemetry
timing adds to it on a moving drone (see the tests and the headless demo).

Frames/s: the same rendered frames through (a) the detector on the whole frame (the
CCTV path's cost, the baseline of this run), (b) the sliced detector, (c) the whole
aerial path per frame (pose lookup, sliced detection, N-of-M confirmation, projection,
snapshot and incident fusion into SQLite).

    PYTHONPATH=. python benchmarks/aerial.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _edge_feet(pose, fires):
    """The feet with the near end at the last cell's outer edge (the aerial3 rule)."""
    from geo import box_ground

    old = box_ground.END_AT_CELL_CENTRE
    box_ground.END_AT_CELL_CENTRE = False
    try:
        return box_ground.box_ground_feet(pose, fires.xyxy, cells=fires.data.get("cells"))
    finally:
        box_ground.END_AT_CELL_CENTRE = old


def ground_errors(det, *, alt_m: float, pitch_deg: float, headings=(0.0, 90.0, 200.0, 315.0)
                  ) -> tuple[list, list, int, int, list]:
    from disaster_ops.services.demo import parse_hazard
    from drone_link.sim.aerial_camera import CameraSpec, GroundScene, build_scene, render
    from geo.aerial import aerial_pose
    from geo.crs import LocalFrame

    center = (35.0950, 129.0250)
    f = LocalFrame.tangent(*center)
    base = build_scene(*center, size_m=1400.0)
    spec = CameraSpec(gimbal_pitch_deg=pitch_deg)
    # the ground point at the image centre lies this far ahead of the drone
    ahead = alt_m / math.tan(math.radians(-pitch_deg)) if pitch_deg > -89.9 else 0.0
    half_w = alt_m / math.sin(math.radians(-pitch_deg)) * math.tan(math.radians(spec.hfov_deg / 2)) * 0.5
    offsets = [(-half_w, 0.0), (half_w, 0.0), (0.0, -0.25 * alt_m), (0.0, 0.25 * alt_m)]
    from disaster_ops.detect.stacking import merge_columns
    from geo.box_ground import box_ground_feet

    errs, centre_errs, missed, floods, edge_errs = [], [], 0, 0, []
    for k, yaw in enumerate(headings):
        yr = math.radians(yaw)
        for j, (dx, dy) in enumerate(offsets):  # offsets in the camera's right/forward axes
            fe = dx * math.cos(yr) + dy * math.sin(yr)
            fn = -dx * math.sin(yr) + dy * math.cos(yr)
            lat_h, lon_h = (float(v) for v in f.to_latlon(fe, fn))
            hz = parse_hazard(f"fire,{lat_h},{lon_h}", k * 4 + j)
            de, dn = -ahead * math.sin(yr), -ahead * math.cos(yr)
            lat_d, lon_d = (float(v) for v in f.to_latlon(de, dn))
            pose = aerial_pose(lat=lat_d, lon=lon_d, alt_agl_m=alt_m, yaw_deg=yaw, gimbal_pitch_deg=pitch_deg,
                               intrinsics=spec.intrinsics)
            img = render(GroundScene(base.texture, center_lat=center[0], center_lon=center[1], m_per_px=0.25,
                                     hazards=(hz,)), pose)
            [d] = det.detect_batch([img])
            floods += int((d.kind == "flood").sum())
            fires = merge_columns(d[d.kind == "fire"], pose)
            best = best_c = best_e = None
            if len(fires):
                feet = box_ground_feet(pose, fires.xyxy, cells=fires.data.get("cells"))
                b = fires.xyxy
                cen = pose.pixel_to_ground((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
                for g, out in ((feet.ground, "foot"), (cen, "centre"), (_edge_feet(pose, fires).ground, "edge")):
                    for i in range(len(fires)):
                        if not g.ok[i]:
                            continue
                        e = math.hypot(*map(float, LocalFrame.tangent(float(g.lat[i]), float(g.lon[i])).to_xy_m(
                            hz.lat, hz.lon)))
                        if out == "foot":
                            best = e if best is None else min(best, e)
                        elif out == "edge":
                            best_e = e if best_e is None else min(best_e, e)
                        else:
                            best_c = e if best_c is None else min(best_c, e)
            if best is None:
                missed += 1
            else:
                errs.append(best)
                centre_errs.append(best_c)
            if best_e is not None:
                edge_errs.append(best_e)
    return errs, centre_errs, missed, floods, edge_errs


def fps_figures(n_frames: int) -> dict:
    from datetime import UTC, datetime, timedelta

    from disaster_ops.detect import create_detector
    from disaster_ops.detect.tiling import SlicedDetector
    from disaster_ops.services.aerial import TILE_KINDS, AerialDetector, AerialFrame
    from disaster_ops.services.demo import parse_hazard
    from disaster_ops.storage.db import make_engine
    from disaster_ops.storage.migrate import upgrade
    from drone_link.sim.aerial_camera import CameraSpec, build_scene, render
    from drone_link.telemetry.pose import DronePose
    from geo.aerial import aerial_pose
    from geo.crs import LocalFrame

    center = (35.0950, 129.0250)
    f = LocalFrame.tangent(*center)
    fires = [parse_hazard(f"fire,{float(f.to_latlon(e, n)[0])},{float(f.to_latlon(e, n)[1])}", i)
             for i, (e, n) in enumerate(((0, 30), (20, 90), (-25, 150)))]
    scene = build_scene(*center, size_m=600.0, hazards=tuple(fires))
    spec = CameraSpec()
    frames, poses = [], []
    for i in range(n_frames):  # flying north at 10 m/s, 5 frames/s
        lat, lon = (float(v) for v in f.to_latlon(0.0, 2.0 * i))
        poses.append(DronePose(lat, lon, 80.0, 0.0))
        frames.append(render(scene, aerial_pose(lat=lat, lon=lon, alt_agl_m=80.0, yaw_deg=0.0,
                                                intrinsics=spec.intrinsics)))
    base = create_detector()
    base.detect_batch(frames[:1])  # warm-up (model load)
    out = {}
    t = time.perf_counter()
    for img in frames:
        base.detect_batch([img])
    out["whole_frame_fps"] = n_frames / (time.perf_counter() - t)
    sliced = SlicedDetector(base, tile_kinds=TILE_KINDS)
    t = time.perf_counter()
    for img in frames:
        sliced.detect_batch([img])
    out["sliced_fps"] = n_frames / (time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        ad = AerialDetector("bench", detector=base, engine=engine, snapshot_dir=Path(tmp), report_interval_s=0.0)
        t0 = datetime.now(UTC)
        t = time.perf_counter()
        reports = 0
        for i, (img, p) in enumerate(zip(frames, poses)):
            reports += len(ad.process(AerialFrame(img, t0 + timedelta(seconds=i * 0.2), p, i)))
        out["aerial_path_fps"] = n_frames / (time.perf_counter() - t)
        out["aerial_path_reports"] = reports
        engine.dispose()
    out["frames"] = n_frames
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer cases (smoke run)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    os.environ.setdefault("DISASTER_OPS_DATA_DIR", tempfile.mkdtemp(prefix="bench-aerial-"))
    from disaster_ops.detect import create_detector
    from disaster_ops.detect.tiling import SlicedDetector
    from disaster_ops.services.aerial import TILE_KINDS

    det = SlicedDetector(create_detector(), tile_kinds=TILE_KINDS)
    alts = (80.0,) if args.quick else (40.0, 80.0, 120.0)
    pitches = (-90.0, -45.0) if args.quick else (-90.0, -60.0, -45.0)
    rows = []
    for alt in alts:
        for pitch in pitches:
            errs, centre_errs, missed, floods, edge_errs = ground_errors(det, alt_m=alt, pitch_deg=pitch)
            centre_errs = [e for e in centre_errs if e is not None]
            row = {"alt_m": alt, "gimbal_pitch_deg": pitch, "n": len(errs), "missed": missed, "flood_boxes": floods,
                   "median_m": round(statistics.median(errs), 2) if errs else None,
                   "p95_m": round(float(np.percentile(errs, 95)), 2) if errs else None,
                   "centre_median_m": round(statistics.median(centre_errs), 2) if centre_errs else None,
                   "edge_median_m": round(statistics.median(edge_errs), 2) if edge_errs else None}
            rows.append(row)
            print(json.dumps(row), flush=True)
    fps = fps_figures(10 if args.quick else 30)
    print(json.dumps(fps), flush=True)
    print("\n| altitude | gimbal pitch | detected | median error (foot) | p95 error (foot) | median (box centre) "
          "| median (foot, cell edge) | flood boxes (all false) |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['alt_m']:.0f} m | {r['gimbal_pitch_deg']:.0f}° | {r['n']}/{r['n'] + r['missed']} | "
              f"{r['median_m']} m | {r['p95_m']} m | {r['centre_median_m']} m | {r['edge_median_m']} m | "
              f"{r['flood_boxes']} |")
    if args.json:
        args.json.write_text(json.dumps({"ground_error": rows, "fps": fps}, indent=2))


if __name__ == "__main__":
    main()
