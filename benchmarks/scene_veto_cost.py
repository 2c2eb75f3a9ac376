"""Extra CPU cost of the broad scene veto (issue #9, helper veto9) against HazardNet itself.

The veto would run only on frames where HazardNet already has a candidate: its cost is the
fall model's backbone + neck at 640 px (``training/scene_veto_features_broad.py``), the
pooling and a per-kind linear model (2,822 x 3 multiply-adds, negligible). Timed in the same
process, in interleaved rounds on the same real frames, against the shipped HazardNet
(ONNX Runtime, 320 px, ``detect``), both with the same ONNX Runtime thread count.

    PYTHONPATH=. nice -n 15 .venv/bin/python benchmarks/scene_veto_cost.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from disaster_ops.detect import DetectorConfig
from disaster_ops.detect.backends.hazardnet import HazardNetDetector
from disaster_ops.detect.frames import read_image
from training.scene_veto_features_broad import BroadPool, fall_model_onnx, resize640, tapped_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads, both models")
    ap.add_argument("--tapped", type=Path, default=Path("/tmp/veto9_fall_yolov8s_taps.onnx"))
    args = ap.parse_args()
    paths = sorted((args.data / "fire_smoke_cctv").rglob("*.jpg"))[:: 17][: args.frames]
    if not paths:
        sys.exit(f"no images under {args.data / 'fire_smoke_cctv'}")
    frames = [read_image(p) for p in paths]
    hazardnet = HazardNetDetector(DetectorConfig(), threads=args.threads)
    veto = BroadPool(tapped_model(fall_model_onnx(), args.tapped), args.threads)
    w = np.random.default_rng(0).normal(size=(2822, 3)).astype(np.float32)  # stands in for the 3 linear models
    hazardnet.detect(frames[0])
    veto(resize640(frames[0]))
    t_h, t_v = [], []
    for _ in range(args.rounds):
        for f in frames:
            t0 = time.perf_counter()
            hazardnet.detect(f)
            t_h.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            x = veto(resize640(f))
            _ = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30.0, 30.0)))
            t_v.append(time.perf_counter() - t0)
    mh, mv = 1000 * statistics.median(t_h), 1000 * statistics.median(t_v)
    load = os.getloadavg()[0]
    print(f"# scene veto cost, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load {load:.1f}, {len(frames)} frames x {args.rounds} rounds, ONNX Runtime threads {args.threads} (both)")
    print(f"HazardNet 320 px detect (shipped): median {mh:.0f} ms/frame")
    print(f"broad veto (fall YOLOv8s neck 640 px + pooling + linear): median {mv:.0f} ms/frame = {mv / mh:.1f}x HazardNet")


if __name__ == "__main__":
    main()
