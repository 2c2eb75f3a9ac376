"""Cost of anonymising a snapshot that leaves the centre (issue #16, privacy).

On real frames (PETS 2009 S2.L1, 480x360, and UR Fall fall-01, 320x240; read in place
from ../shared) it times, in one run, per snapshot:
  * baseline: decoding + re-encoding the JPEG (what serving any snapshot costs),
  * the person detector alone (640 px ONNX; most of the cost),
  * the face finder (OpenCV Haar, where the OpenCV build has it),
  * pixelate + Gaussian of the head regions,
  * the whole blurred copy as served (`services.evidence.blurred_jpeg`, first request),
  * a cached request (the copy already made).
Also the share of ground-truth PETS heads (top fifth, middle 60 % of each GT box) whose
pixels changed by >= 4 grey levels on average (--every: which frames).
CPU time (process) and wall time are printed; on a shared machine trust CPU time.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/privacy_blur.py [--every 40]``
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from disaster_ops.detect import CameraDetectConfig
from disaster_ops.people.anonymize import blur_regions, head_boxes
from disaster_ops.services import evidence

PEOPLE = REPO.parent / "shared" / "data" / "people"


def frames(video: Path, every: int) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    out, i = {}, 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if i % every == 0:
            out[i] = f
        i += 1
    cap.release()
    return out


def timed(fn, *a):
    c0, w0 = time.process_time(), time.perf_counter()
    r = fn(*a)
    return r, (time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=40, help="every Nth PETS frame (default 40: 20 frames)")
    args = ap.parse_args()
    an = evidence.anonymizer()
    cfg = CameraDetectConfig(kinds=["person"], thresholds={"person": an.person_threshold})
    an.detector.detect_batch([np.zeros((64, 64, 3), np.uint8)], [cfg])  # load + warm up
    gt: dict[int, list] = defaultdict(list)
    with (PEOPLE / "pets2009_s2l1" / "gt_boxes.csv").open() as fh:
        for r in csv.DictReader(fh):
            gt[int(r["frame"])].append([float(r[k]) for k in ("x1", "y1", "x2", "y2")])
    sets = {"pets": frames(PEOPLE / "pets2009_s2l1" / "s2l1_view001.mp4", args.every),
            "urfall": frames(PEOPLE / "fall_urfall" / "fall-01-cam0.mp4", 10)}
    result = {"face_detector": an.faces.name}
    heads = hit = 0
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        for name, fs in sets.items():
            t = defaultdict(list)
            for i, img in fs.items():
                raw = root / f"{name}_{i}.jpg"
                cv2.imwrite(str(raw), img)
                _, c, w = timed(lambda p: cv2.imencode(".jpg", cv2.imread(str(p)))[1], raw)
                t["baseline_decode_encode"].append((c, w))
                dets, c, w = timed(lambda im: an.detector.detect_batch([im], [cfg])[0], img)
                t["person_detector"].append((c, w))
                _, c, w = timed(an.faces.find, img)
                t["face_finder"].append((c, w))
                boxes = head_boxes(dets.xyxy, img.shape[:2])
                out, c, w = timed(blur_regions, img, boxes)
                t["blur_regions"].append((c, w))
                _, c, w = timed(lambda p: evidence.blurred_jpeg(p, root=root), raw.resolve())
                t["served_first_request"].append((c, w))
                _, c, w = timed(lambda p: evidence.blurred_jpeg(p, root=root), raw.resolve())
                t["served_cached"].append((c, w))
                if name == "pets":
                    for x1, y1, x2, y2 in gt[i]:
                        bw, bh = x2 - x1, y2 - y1
                        a, b = max(int(x1 + 0.2 * bw), 0), max(int(y1), 0)
                        c2, d2 = min(int(x2 - 0.2 * bw), img.shape[1]), min(int(y1 + 0.2 * bh), img.shape[0])
                        if c2 - a < 2 or d2 - b < 2:
                            continue
                        diff = np.abs(img[b:d2, a:c2].astype(np.int16) - out[b:d2, a:c2].astype(np.int16)).mean()
                        heads += 1
                        hit += int(diff >= 4.0)
            result[name] = {"frames": len(fs), "shape": list(next(iter(fs.values())).shape[:2]),
                            **{k: {"cpu_ms_median": round(statistics.median(c for c, _ in v), 2),
                                   "wall_ms_median": round(statistics.median(w for _, w in v), 2)}
                               for k, v in t.items()}}
    result["pets_gt_heads"] = heads
    result["pets_gt_heads_blurred"] = hit
    result["pets_gt_heads_blurred_share"] = round(hit / heads, 4) if heads else None
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
