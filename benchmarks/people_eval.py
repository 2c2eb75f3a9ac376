"""People analytics on the real footage of ``../shared/data`` (issue #16 figures).

Prints one JSON report:
  1. ``falls``: every UR Fall clip (30, each holds one fall) through person detection,
     ByteTrack and the collapse rule; the number of collapse events per clip (target: 1);
  2. ``normal``: ordinary walking (PETS 2009 S2.L1, the Intel ``one-by-one-person``
     clip) with collapse, crowding (density over the whole view) and loitering (a zone):
     every event raised (target: none);
  3. ``pets_counts``: per sampled frame, people counted vs the ground-truth boxes of
     PETS 2009 S2.L1: mean absolute error, error relative to the mean count, share of
     frames within 10 % (and within one person);
  4. ``pets_dwell``: dwell times in a loitering zone of PETS from our tracks vs from the
     ground-truth tracks run through the same stay rule;
  5. ``shanghaitech``: count MAE on the ShanghaiTech Part B subset (dense street crowds).

Detections of each video are cached as JSON (``--cache DIR``) so that the rules can be
re-run without the model. Run:
``PYTHONPATH=. .venv/bin/python benchmarks/people_eval.py [--fps 5] [--imgsz 640] [--cache /tmp/pc]``
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from disaster_ops.detect import CameraDetectConfig, DetectorConfig, create_detector
from disaster_ops.detect.frames import iter_video, read_image
from disaster_ops.detect.records import Detections
from disaster_ops.people.analyzer import PeopleAnalyzer
from disaster_ops.people.config import CollapseConfig, CrowdingConfig, LoiterZone, PeopleConfig
from disaster_ops.people.loitering import LoiteringMonitor

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PEOPLE = DATA / "people"
# PETS S2.L1 view 1 (480x360): the path and lawn in front of the building; the area is a
# rough estimate from the scene (pavement ~20 x 30 m seen), used for density only.
PETS_VIEW_AREA_M2 = 900.0
PETS_ZONE = LoiterZone(name="crossing", polygon=[(180, 150), (430, 150), (470, 300), (140, 300)],
                       max_dwell_s=60.0, leave_grace_s=2.0)


def _dets_to_json(d: Detections) -> dict:
    return {"xyxy": d.xyxy.round(2).tolist(), "conf": d.confidence.round(4).tolist(),
            "posture": [str(p) for p in d.data["posture"]], "fall": d.data["fall_score"].round(4).tolist()}


def _dets_from_json(o: dict) -> Detections:
    n = len(o["conf"])
    return Detections(np.array(o["xyxy"], np.float32).reshape(-1, 4), np.array(o["conf"], np.float32),
                      np.full(n, "person", object),
                      data={"posture": np.array(o["posture"], object), "fall_score": np.array(o["fall"], np.float32)})


class Frames:
    """Person detections of every sampled frame of a video, computed once and cached."""

    def __init__(self, detector, cache: Path | None, fps: float, imgsz: int) -> None:
        self.detector, self.cache, self.fps, self.imgsz = detector, cache, fps, imgsz
        self.model_s = 0.0
        self.model_frames = 0

    def of(self, video: Path) -> list[tuple[int, float, tuple[int, int], Detections, np.ndarray | None]]:
        key = self.cache / f"{video.stem}-{self.fps:g}fps-{self.imgsz}.json" if self.cache else None
        if key is not None and key.exists():
            rows = json.loads(key.read_text())
            return [(r["i"], r["t"], tuple(r["wh"]), _dets_from_json(r["d"]), None) for r in rows]
        out = []
        for sf in iter_video(video, fps=self.fps):
            t0 = time.perf_counter()
            d = self.detector.detect(sf.image)
            self.model_s += time.perf_counter() - t0
            self.model_frames += 1
            h, w = sf.image.shape[:2]
            out.append((sf.frame_index, sf.time_s, (w, h), d, None))
        if key is not None:
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_text(json.dumps([{"i": i, "t": t, "wh": wh, "d": _dets_to_json(d)} for i, t, wh, d, _ in out]))
        return out


def analyse(name: str, frames, cfg: CameraDetectConfig, fps: float):
    an = PeopleAnalyzer(name, cfg, fps=fps)
    results = []
    for i, t, (w, h), d, _ in frames:
        results.append((i, an.update(d, np.zeros((h, w, 3), np.uint8), t)))
    return an, results


def falls(frames_of: Frames, fps: float, still_s: float) -> dict:
    """UR Fall clips end 0.6-2 s after the fall: N (``still_s``) must be below that."""
    cfg = CameraDetectConfig(kinds=["person", "collapse"], people=PeopleConfig(collapse=CollapseConfig(still_s=still_s)))
    per_clip = {}
    for clip in sorted((PEOPLE / "fall_urfall").glob("fall-*-cam0.mp4")):
        _, res = analyse(clip.name, frames_of.of(clip), cfg, fps)
        evs = [e for _, pf in res for e in pf.events]
        per_clip[clip.name] = {"collapses": len(evs), "confirmed_s": [round(e.confirmed_s, 2) for e in evs]}
    tally = Counter(min(v["collapses"], 2) for v in per_clip.values())
    return {"still_s": still_s, "clips": len(per_clip), "exactly_one": tally[1], "none": tally[0], "more_than_one": tally[2],
            "per_clip": per_clip}


def _normal_cfg(area_m2: float | None) -> CameraDetectConfig:
    # collapse as sensitive as on the UR Fall clips (N = 0.5 s)
    people = PeopleConfig(collapse=CollapseConfig(still_s=0.5), crowding=CrowdingConfig(zone_area_m2=area_m2),
                          loitering=[PETS_ZONE])
    return CameraDetectConfig(kinds=["person", "collapse", "crowding", "loitering"], people=people)


def normal(frames_of: Frames, fps: float) -> dict:
    # (ground area of the view for density, sampling rate): the 139 s Intel clip at 2 frames/s
    clips = {PEOPLE / "pets2009_s2l1" / "s2l1_view001.mp4": (PETS_VIEW_AREA_M2, fps),
             DATA / "videos" / "normal_fixed" / "one-by-one-person-detection.mp4": (60.0, min(fps, 2.0))}
    out = {}
    for clip, (area, rate) in clips.items():
        if not clip.exists():
            continue
        frames = Frames(frames_of.detector, frames_of.cache, rate, frames_of.imgsz).of(clip)
        _, res = analyse(clip.name, frames, _normal_cfg(area), rate)
        evs = [e.to_json() for _, pf in res for e in pf.events]
        out[clip.name] = {"frames": len(frames), "fps": rate, "events": evs,
                          "max_density_per_m2": round(max((pf.density_per_m2 or 0) for _, pf in res), 4)}
    return out


def _gt_boxes() -> dict[int, list[tuple[int, np.ndarray]]]:
    gt = defaultdict(list)
    with open(PEOPLE / "pets2009_s2l1" / "gt_boxes.csv") as f:
        for r in csv.DictReader(f):
            gt[int(r["frame"])].append((int(r["track_id"]), np.array([float(r[k]) for k in ("x1", "y1", "x2", "y2")])))
    return gt


def pets_counts(frames_of: Frames, fps: float) -> dict:
    gt = _gt_boxes()
    frames = frames_of.of(PEOPLE / "pets2009_s2l1" / "s2l1_view001.mp4")
    _, res = analyse("pets", frames, _normal_cfg(PETS_VIEW_AREA_M2), fps)
    pred = np.array([pf.count for _, pf in res], float)
    # ground truth: every annotated person whose box centre is in the picture (the annotation
    # also keeps people fully hidden behind the lamp post or another person)
    truth = []
    for i, _pf in res:
        n = 0
        for _tid, b in gt.get(i, []):
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            n += 0 <= cx < 480 and 0 <= cy < 360
        truth.append(n)
    truth = np.array(truth, float)
    err = pred - truth
    return {
        "frames": len(pred), "mean_truth": round(float(truth.mean()), 3), "mae": round(float(np.abs(err).mean()), 3),
        "mean_signed_error": round(float(err.mean()), 3),
        "relative_error": round(float(np.abs(err).sum() / truth.sum()), 4),
        "share_within_10pct": round(float(np.mean(np.abs(err) <= 0.1 * truth)), 4),
        "share_within_1_person": round(float(np.mean(np.abs(err) <= 1)), 4),
        "total_count_error": round(float(abs(pred.sum() - truth.sum()) / truth.sum()), 4),
    }


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def pets_dwell(frames_of: Frames, fps: float) -> dict:
    """Dwell times in PETS_ZONE: our tracks vs the ground-truth tracks, same stay rule."""
    gt = _gt_boxes()
    frames = frames_of.of(PEOPLE / "pets2009_s2l1" / "s2l1_view001.mp4")
    an, res = analyse("pets", frames, _normal_cfg(PETS_VIEW_AREA_M2), fps)
    gt_mon = LoiteringMonitor([PETS_ZONE], camera_id="gt")
    votes: dict[int, Counter] = defaultdict(Counter)  # gt id -> our track ids matched to it
    for (i, t, _wh, _d, _), (_, pf) in zip(frames, res):
        rows = gt.get(i, [])
        g = Detections(np.array([b for _, b in rows], np.float32).reshape(-1, 4), np.ones(len(rows), np.float32),
                       np.full(len(rows), "person", object), data={"track_id": np.array([k for k, _ in rows], int)})
        gt_mon.update(g, t)
        for k, b in rows:
            best = max(((_iou(b, p), int(tid)) for p, tid in zip(pf.persons.xyxy, pf.persons.data["track_id"])),
                       default=(0.0, -1))
            if best[0] >= 0.3 and best[1] >= 0:
                votes[k][best[1]] += 1
    ours = defaultdict(list)
    for s in an.loitering.stays():
        ours[s.track_id].append(s)
    pairs = []
    for s in gt_mon.stays():
        if s.dwell_s < 2.0:
            continue
        cands = [o for tid in votes.get(s.track_id, {}) for o in ours.get(tid, [])
                 if o.entered_s <= s.last_inside_s and o.last_inside_s >= s.entered_s]
        # a person whose track broke has several stays of ours: their union is what we measured
        dwell = (max(o.last_inside_s for o in cands) - min(o.entered_s for o in cands)) if cands else 0.0
        pairs.append((s.track_id, round(s.dwell_s, 1), round(dwell, 1), len({o.track_id for o in cands})))
    errs = np.array([abs(a - b) for _, a, b, _ in pairs])
    return {"zone": PETS_ZONE.name, "gt_stays": len(pairs),
            "mean_abs_dwell_error_s": round(float(errs.mean()), 2) if len(errs) else None,
            "median_abs_dwell_error_s": round(float(np.median(errs)), 2) if len(errs) else None,
            "max_gt_dwell_s": max((a for _, a, _, _ in pairs), default=0),
            "stays_split_over_tracks": sum(n > 1 for *_, n in pairs),
            "pairs_gt_id_gt_dwell_our_dwell_tracks": pairs}


def shanghaitech(detector) -> dict:
    root = PEOPLE / "crowd_shanghaitech_b_subset"
    with open(root / "counts.csv") as f:
        counts = {r["image"]: int(r["count"]) for r in csv.DictReader(f)}
    an = PeopleAnalyzer("st", CameraDetectConfig(kinds=["person"]), fps=None)
    rows = []
    for name, n in sorted(counts.items()):
        img = read_image(root / name)
        rows.append((n, an.update(detector.detect(img), img, 0.0).count))
    truth, pred = np.array(rows, float).T
    return {"images": len(rows), "mean_truth": round(float(truth.mean()), 2),
            "mae": round(float(np.abs(pred - truth).mean()), 2),
            "relative_mae": round(float(np.abs(pred - truth).sum() / truth.sum()), 4),
            "mean_signed_error": round(float((pred - truth).mean()), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fps", type=float, default=5.0, help="video sampling rate, frames/s")
    ap.add_argument("--imgsz", type=int, default=640, help="person model input, px")
    ap.add_argument("--cache", type=Path, default=None, help="folder caching per-video detections (JSON)")
    ap.add_argument("--still-s", type=float, nargs="*", default=[0.5, 1.0], help="collapse N values tried, s")
    ap.add_argument("--only", nargs="*", default=["falls", "normal", "pets_counts", "pets_dwell", "shanghaitech"])
    args = ap.parse_args()
    detector = create_detector(DetectorConfig(type="person", input_size_px=args.imgsz))
    frames_of = Frames(detector, args.cache, args.fps, args.imgsz)
    report: dict = {"fps": args.fps, "imgsz": args.imgsz}
    for part in args.only:
        t0 = time.perf_counter()
        if part == "shanghaitech":
            report[part] = shanghaitech(detector)
        elif part == "falls":
            report[part] = [falls(frames_of, args.fps, n) for n in args.still_s]
        else:
            report[part] = globals()[part](frames_of, args.fps)
        report[part + "_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps({part: report[part]}), file=sys.stderr, flush=True)
    if frames_of.model_frames:
        report["model_s_per_frame"] = round(frames_of.model_s / frames_of.model_frames, 4)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
