"""False alarms under the nuisances CCTV fire/smoke detectors are known for.

The issue names lights, sunsets, red objects, rain and headlights as what the temporal
confirmation must cut. No labelled footage of those is available here, so this stress
test applies each nuisance synthetically to the *held-out normal* CCTV frames (never
trained on) and prints, per nuisance:

  * the image-level false-alarm rate (any kind, and per kind) — one frame at a time;
  * the confirmed-alarm rate: each scene is played as 5 sampled frames in which the
    nuisance changes from frame to frame (headlights sweep, rain falls, lights flicker)
    through the product's 3-of-5 confirmation, counting scenes that raise an alarm.

The unperturbed frames are measured in the same run as the baseline. Synthetic
nuisances are a stress test, not a substitute for real footage: read the figures as
"how the detector reacts to this kind of pixel change", not as field false-alarm rates.

Run: ``.venv/bin/python benchmarks/robustness.py [--weights PATH]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from disaster_ops.detect import DetectorConfig, create_detector
from disaster_ops.detect.confirm import TemporalConfirmer
from disaster_ops.detect.evaluation import load_dataset
from disaster_ops.detect.evaluation.runner import _load

SHARED = Path(os.environ.get("DISASTER_OPS_SHARED_DATA", REPO.parent / "shared" / "data"))
FRAMES_PER_SCENE = 5

Nuisance = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _blend(img: np.ndarray, layer: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    out = img.astype(np.float32) * (1 - alpha) + layer.astype(np.float32) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def sodium_light(img, rng):
    """Orange street lighting: the whole frame cast orange, darker, a little noisier."""
    gain = np.array([0.45, 0.8, 1.25]) * rng.uniform(0.85, 1.05)  # B, G, R
    out = img.astype(np.float32) * gain * rng.uniform(0.6, 0.9)
    out += rng.normal(0, 3, img.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def sunset(img, rng):
    """Low sun: a warm orange-red gradient from the top and a warm cast."""
    h = img.shape[0]
    ramp = np.linspace(1.0, 0.0, h, dtype=np.float32)[:, None, None] ** rng.uniform(1.0, 2.0)
    colour = np.array([40, 120, 255], np.float32)  # orange-red in BGR
    warm = img.astype(np.float32) * np.array([0.8, 0.92, 1.1])
    return _blend(warm.clip(0, 255), np.broadcast_to(colour, img.shape), ramp * rng.uniform(0.45, 0.7))


def headlights(img, rng):
    """One or two car headlights with bloom, somewhere in the lower two thirds."""
    h, w = img.shape[:2]
    out = img.astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(rng.integers(1, 3)):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.35, 0.95) * h
        r = rng.uniform(0.03, 0.07) * w
        glow = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (2.5 * r) ** 2))
        core = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r**2))
        light = np.array([215, 245, 255], np.float32)  # warm white
        out = out * (1 - core[..., None]) + light * core[..., None]
        out += glow[..., None] * 120
    return np.clip(out, 0, 255).astype(np.uint8)


def red_objects(img, rng):
    """Saturated red / orange objects (a car, a sign, clothing): 1-3 shapes, 3-10 % of the frame."""
    h, w = img.shape[:2]
    out = img.copy()
    for _ in range(rng.integers(1, 4)):
        colour = [int(rng.integers(0, 40)), int(rng.integers(0, 110)), int(rng.integers(190, 256))]
        ax = (int(rng.uniform(0.06, 0.16) * w), int(rng.uniform(0.05, 0.14) * h))
        centre = (int(rng.uniform(0.15, 0.85) * w), int(rng.uniform(0.2, 0.9) * h))
        if rng.random() < 0.5:
            cv2.ellipse(out, centre, ax, float(rng.uniform(0, 180)), 0, 360, colour, -1)
        else:
            cv2.rectangle(out, (centre[0] - ax[0], centre[1] - ax[1]), (centre[0] + ax[0], centre[1] + ax[1]), colour, -1)
    # shading so the shapes are not flat paint
    return _blend(out, img, 0.15)


def rain(img, rng):
    """Rain: bright slanted streaks, slight blur and lower contrast."""
    h, w = img.shape[:2]
    streaks = np.zeros((h, w), np.float32)
    n = int(w * h / 900)
    xs, ys = rng.integers(0, w, n), rng.integers(0, h, n)
    streaks[ys, xs] = 1.0
    length = int(rng.integers(9, 17))
    k = np.zeros((length, length), np.float32)
    cv2.line(k, (length // 2 + 2, 0), (length // 2 - 2, length - 1), 1.0, 1)
    streaks = cv2.filter2D(streaks, -1, k / k.sum() * 4)
    out = cv2.GaussianBlur(img, (3, 3), 0).astype(np.float32)
    out = (out - out.mean()) * 0.8 + out.mean()
    out += streaks[..., None] * 160
    return np.clip(out, 0, 255).astype(np.uint8)


def night_ir(img, rng):
    """Night on an IR camera: grey, dark, noisy."""
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32) * rng.uniform(0.35, 0.6)
    g += rng.normal(0, 6, g.shape)
    g = np.clip(g, 0, 255).astype(np.uint8)
    return cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)


NUISANCES: dict[str, Nuisance] = {
    "sodium street light": sodium_light,
    "sunset": sunset,
    "headlights": headlights,
    "red objects": red_objects,
    "rain": rain,
    "night, IR camera": night_ir,
}


def run(detector, scenes: list[np.ndarray], nuisance: Nuisance | None, seed: int) -> dict:
    """Image-level and confirmed false alarms of ``detector`` on ``scenes`` under ``nuisance``."""
    rng = np.random.default_rng(seed)
    kinds = detector.kinds
    frame_hits = {k: 0 for k in kinds}
    frames_any = frames = scenes_confirmed = 0
    for scene in scenes:
        seq = [scene if nuisance is None else nuisance(scene, rng) for _ in range(FRAMES_PER_SCENE)]
        confirmer = TemporalConfirmer(kinds=kinds)
        raised = False
        for d in detector.detect_batch(seq):
            found = d.kinds()
            frames += 1
            frames_any += bool(found)
            for k in found:
                frame_hits[k] += 1
            raised |= bool(confirmer.update(d).raised)
        scenes_confirmed += raised
    return {
        "frames": frames,
        "frame_fa_any": frames_any / frames,
        "frame_fa": {k: v / frames for k, v in frame_hits.items()},
        "scenes": len(scenes),
        "confirmed_fa": scenes_confirmed / len(scenes),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", help="detector weights (default: shipped HazardNet)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    root = SHARED / "fire_smoke_cctv"
    if not root.exists():
        sys.exit(f"shared data missing: {root}")
    detector = create_detector(DetectorConfig(weights=args.weights) if args.weights else DetectorConfig())
    samples = load_dataset(root, holdout=detector.meta.raw["holdout"])
    scenes = [_load(s) for s in samples if s.is_normal]
    t0 = time.monotonic()
    print(f"# robustness benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores")
    print(f"# {len(scenes)} held-out normal CCTV frames (published labels), {FRAMES_PER_SCENE} sampled frames per "
          f"scene, confirmation 3 of 5, seed {args.seed}")
    print("\n| nuisance | frames with a false alarm | fire | smoke | flood | scenes raising a confirmed alarm |")
    print("|---|---|---|---|---|---|")
    for name, fn in {"none (baseline)": None, **NUISANCES}.items():
        r = run(detector, scenes, fn, args.seed)
        per = " | ".join(f"{100 * r['frame_fa'].get(k, 0):.1f} %" for k in ("fire", "smoke", "flood"))
        print(f"| {name} | {100 * r['frame_fa_any']:.1f} % | {per} | {100 * r['confirmed_fa']:.1f} % |")
    print(f"\n{time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
