"""Video-level false alarms and time to incident, through the whole watch path.

Each real clip is replayed as one camera through ``MultiCameraRunner`` (motion gate +
detector + 3-of-5 confirmation) at the watcher's default 1 sample/s, with capture times
taken from the clip's own frame rate. An *incident* is a kind being raised.

* Normal footage (no hazard): ``videos/normal_fixed`` (4 clips) and the people clips of
  ``people/`` (UR Fall rooms, PETS 2009 street, P-DESTRE drone views; never trained on).
  Reported: false incidents per 100 camera-hours with the exact Poisson 95 % interval,
  and the camera-hours behind it (minutes of footage, not hours: the interval is wide).
  Optionally the same clips under synthetic nuisances of ``benchmarks/robustness.py``
  (sodium light, sunset, headlights, red objects, rain, IR night), on top of the real
  footage.
* Hazard clips: ``videos/fire_fixed`` (fire visible from the first frame) and
  ``videos/house6.mp4`` (first visible flame = first frame with a flame box in its XML):
  seconds from the first visible hazard to the confirmed fire or smoke incident.

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/video_alarms.py --data ../shared/data \
        [--weights build/hazard_models/hazardnet_s320_wo_video.onnx] [--nuisances] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect.backends.hazardnet import DEFAULT_WEIGHTS, HazardNetDetector
from disaster_ops.detect.config import CameraDetectConfig, DetectorConfig
from disaster_ops.detect.evaluation.stats import poisson_rate_ci
from disaster_ops.detect.pipeline import MultiCameraRunner

SAMPLE_FPS = 1.0


def replay(detector, clip: Path, *, transform=None, seed: int = 0, first_frame: int = 0, last_frame: int | None = None):
    """Replay one clip as a camera; returns (seconds of footage, [(time_s, kinds raised)], model runs)."""
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    runner = MultiCameraRunner(detector, {"cam": CameraDetectConfig(kinds=list(detector.kinds))})
    step = max(1, round(fps / SAMPLE_FPS))
    rng = np.random.default_rng(seed)
    raised, i, n_used = [], 0, 0
    while True:
        ok, frame = cap.read()
        if not ok or (last_frame is not None and i > last_frame):
            break
        if i >= first_frame and (i - first_frame) % step == 0:
            if transform is not None:
                frame = transform(frame, rng)
            t = (i - first_frame) / fps
            (res,) = runner.process({"cam": (frame, t)})
            if res.confirm is not None and res.confirm.raised:
                raised.append((round(t, 2), sorted(res.confirm.raised)))
            n_used = i - first_frame + 1
        i += 1
    cap.release()
    return n_used / fps, raised, runner.stats.model_runs


def first_flame_frame(xml: Path) -> int:
    import xml.etree.ElementTree as ET

    for fr in ET.parse(xml).getroot().find("frames"):
        ann = fr.find("annotations")
        if ann is not None and len(ann):
            return int(fr.find("frameNumber").text)
    return 0


def normal_clips(data: Path) -> list[tuple[str, Path]]:
    out = [("normal_fixed", p) for p in sorted((data / "videos/normal_fixed").glob("*.mp4"))]
    out += [("people (never trained)", p) for p in sorted((data / "people").glob("*/*.mp4"))]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--nuisances", action="store_true", help="also replay the normal clips under synthetic nuisances")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    t0 = time.monotonic()
    det = HazardNetDetector(DetectorConfig(weights=str(args.weights)))
    result: dict = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "model": det.meta.raw.get("name"),
                    "trained_groups": det.meta.raw.get("trained_groups"), "sample_fps": SAMPLE_FPS,
                    "confirm": "3 of 5 sampled frames", "normal": [], "hazard": []}
    variants: dict[str, object] = {"real": None}
    if args.nuisances:
        sys.path.insert(0, str(Path(__file__).parent))
        from robustness import NUISANCES

        variants.update(NUISANCES)
    totals: dict[str, dict] = {}
    for name, fn in variants.items():
        for set_name, clip in normal_clips(args.data):
            secs, raised, runs = replay(det, clip, transform=fn)
            result["normal"].append({"variant": name, "set": set_name, "clip": str(clip.relative_to(args.data)),
                                     "seconds": round(secs, 1), "model_runs": runs, "false_incidents": raised})
            tot = totals.setdefault(f"{name} / {set_name}", {"seconds": 0.0, "incidents": 0, "clips": 0})
            tot["seconds"] += secs
            tot["incidents"] += len(raised)
            tot["clips"] += 1
            print(f"[{name}] {clip.name}: {secs:.0f} s, {len(raised)} false incidents {raised}", flush=True)
    for key, tot in totals.items():
        hours = tot["seconds"] / 3600
        ci = poisson_rate_ci(tot["incidents"], hours / 100)
        tot["camera_hours"] = round(hours, 4)
        tot["false_incidents_per_100_camera_hours"] = {"value": round(ci.value, 1), "ci95": [round(ci.low, 1), round(ci.high, 1)]}
        print(f"{key}: {tot['incidents']} false incidents in {tot['clips']} clips, {hours * 60:.1f} camera-minutes "
              f"-> {ci.value:.0f} per 100 camera-hours [95 % {ci.low:.0f}-{ci.high:.0f}]")
    result["normal_totals"] = totals
    hazards = [(p, 0) for p in sorted((args.data / "videos/fire_fixed").glob("*.mp4"))]
    if (args.data / "videos/house6.xml").exists():
        hazards.append((args.data / "videos/house6.mp4", first_flame_frame(args.data / "videos/house6.xml")))
    delays = []
    for clip, first in hazards:
        secs, raised, _ = replay(det, clip, first_frame=first)
        hit = [t for t, kinds in raised if {"fire", "smoke"} & set(kinds)]
        delay = hit[0] if hit else None
        if delay is not None:
            delays.append(delay)
        result["hazard"].append({"clip": str(clip.relative_to(args.data)), "first_visible_frame": first,
                                 "seconds_replayed": round(secs, 1), "seconds_to_incident": delay, "raised": raised})
        print(f"{clip.name}: incident after {delay} s (of {secs:.0f} s replayed) {raised}", flush=True)
    missed = sum(1 for h in result["hazard"] if h["seconds_to_incident"] is None)
    all_delays = delays + [float("inf")] * missed
    result["median_seconds_to_incident"] = statistics.median(all_delays) if all_delays else None
    result["hazard_clips_without_incident"] = missed
    result["seconds"] = round(time.monotonic() - t0, 1)
    print(f"median time to incident {result['median_seconds_to_incident']} s over {len(hazards)} clips "
          f"({missed} without an incident); {result['seconds']} s")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
