"""People analytics on the real footage of ``../shared/data`` (issue #16 figures).

Prints one JSON report:
  1. ``falls``: every UR Fall clip (30, each holds one fall) through person detection,
     ByteTrack and the collapse rule; collapse events per clip (target: 1), for the
     validation clips 01-10 (where the fall rule's settings were chosen) and the held-out
     11-30 apart, with how much of each clip follows the first frame the person lies;
     the rule before the fall path (N = 0.5 s at 5 frames/s) beside it;
  2. ``normal``: ordinary walking (PETS 2009 S2.L1 every frame, the Intel
     ``one-by-one-person`` clip at 2 frames/s) with collapse (as sensitive as on UR Fall),
     crowding (density over the whole view) and loitering (a zone): every event (target: none);
  3. ``pets_counts``: per sampled frame, people counted vs the ground-truth boxes of
     PETS 2009 S2.L1, first half (settings chosen there) and second half (reported): share
     of frames within 10 %, within max(10 %, 1 person), mean per-frame relative error;
     counting detections only, the 0.6 s hold of hidden tracks only, and the default
     (with the occlusion-aware hold); ``--far-zoom-share`` scores the far-field zoom;
  4. ``pets_dwell``: dwell times in a loitering zone of PETS from our tracks vs from the
     ground-truth tracks run through the same stay rule;
  5. ``shanghaitech``: count MAE on the ShanghaiTech Part B subset (dense street crowds);
  6. ``zoom_cost`` (only when asked): process CPU per PETS frame without and with the
     far-field zoom, in the same run, and the persons and counted ``Fall`` boxes found.

Detections of each video are cached as JSON (``--cache DIR``, every detection scoring
>= 0.05) so that rules and thresholds can be re-run without the model. Run:
``PYTHONPATH=. .venv/bin/python benchmarks/people_eval.py [--fall-fps 10] [--cache /tmp/pc]``
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


CACHE_THRESHOLD = 0.05  # detections are cached down to this score; --person-threshold filters them
VALIDATION_FALLS = tuple(f"fall-{k:02d}-cam0.mp4" for k in range(1, 11))  # rules chosen on these


def _dets_to_json(d: Detections) -> dict:
    return {"xyxy": d.xyxy.round(2).tolist(), "conf": d.confidence.round(4).tolist(),
            "posture": [str(p) for p in d.data["posture"]], "fall": d.data["fall_score"].round(4).tolist()}


def _dets_from_json(o: dict, threshold: float = 0.0) -> Detections:
    n = len(o["conf"])
    d = Detections(np.array(o["xyxy"], np.float32).reshape(-1, 4), np.array(o["conf"], np.float32),
                   np.full(n, "person", object),
                   data={"posture": np.array(o["posture"], object), "fall_score": np.array(o["fall"], np.float32)})
    return d[d.confidence >= threshold]


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """95 % Wilson score interval of a rate k/n."""
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(float(c - h), 3), round(float(c + h), 3)]


def _subsample(rows: list[dict], fps: float) -> list[dict]:
    """The rows :func:`iter_video` would yield at ``fps`` from rows cached at a multiple of it."""
    out, next_s, step = [], 0.0, 1.0 / fps
    for r in rows:
        if r["t"] + 1e-9 < next_s:
            continue
        next_s += step
        out.append(r)
    return out


class Frames:
    """Person detections of the sampled frames of a video, computed once and cached.

    The cache (``--cache DIR``) keeps every detection scoring >= CACHE_THRESHOLD as
    ``<stem>-<fps>.json`` (fps 0 = every frame; a sampled rate is taken from the
    every-frame file, or one at a multiple of the rate); ``threshold`` is applied when reading."""

    def __init__(self, detector, cache: Path | None, threshold: float, far_zoom_share: float = 0.0) -> None:
        self.detector, self.cache, self.threshold = detector, cache, threshold
        self.far_zoom_share = far_zoom_share
        self.model_s = 0.0
        self.model_cpu_s = 0.0
        self.model_frames = 0

    def of(self, video: Path, fps: float | None) -> list[tuple[int, float, tuple[int, int], Detections, None]]:
        return [(r["i"], r["t"], tuple(r["wh"]), _dets_from_json(r["d"], self.threshold), None)
                for r in self._rows(video, fps)]

    def _rows(self, video: Path, fps: float | None) -> list[dict]:
        # the zoom adds its boxes where no whole-frame box holds them, so its detections are
        # cached at the threshold used (a box scoring under it must not hide a zoomed one)
        zoom = f"-zoom{self.far_zoom_share:g}-t{self.threshold:g}" if self.far_zoom_share else ""
        key = self.cache / f"{video.stem}-{fps or 0:g}{zoom}.json" if self.cache else None
        if key is not None and key.exists():
            return json.loads(key.read_text())
        for other in sorted(self.cache.glob(f"{video.stem}-*{zoom}.json")) if self.cache and fps else []:
            try:  # a cache at a multiple of fps (0 = every frame)
                rate = float(other.stem[len(video.stem) + 1:len(other.stem) - len(zoom)])
            except ValueError:
                continue
            if rate == 0 or (rate > fps and abs(rate / fps - round(rate / fps)) < 1e-6):
                return _subsample(json.loads(other.read_text()), fps)
        cfg = CameraDetectConfig(kinds=["person"], thresholds={"person": self.threshold if zoom else CACHE_THRESHOLD},
                                 people=PeopleConfig(far_zoom_share=self.far_zoom_share))
        rows = []
        for sf in iter_video(video, fps=fps):
            t0, c0 = time.perf_counter(), time.process_time()
            d = self.detector.detect_batch([sf.image], [cfg])[0]
            self.model_s += time.perf_counter() - t0
            self.model_cpu_s += time.process_time() - c0
            self.model_frames += 1
            h, w = sf.image.shape[:2]
            rows.append({"i": sf.frame_index, "t": sf.time_s, "wh": [w, h], "d": _dets_to_json(d)})
        if key is not None:
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_text(json.dumps(rows))
        return rows


def analyse(name: str, frames, cfg: CameraDetectConfig, fps: float):
    an = PeopleAnalyzer(name, cfg, fps=fps)
    results = []
    for i, t, (w, h), d, _ in frames:
        results.append((i, an.update(d, np.zeros((h, w, 3), np.uint8), t)))
    return an, results


def _tally(per_clip: dict, names) -> dict:
    n = [per_clip[c]["collapses"] for c in names if c in per_clip]
    one = sum(k == 1 for k in n)
    return {"clips": len(n), "exactly_one": one, "none": sum(k == 0 for k in n), "more_than_one": sum(k > 1 for k in n),
            "rate": round(one / len(n), 3) if n else None, "ci95": wilson(one, len(n))}


def falls(frames_of: Frames, fps: float, collapse: CollapseConfig, label: str) -> dict:
    """Every UR Fall clip (each holds one fall) through detection, tracking and the collapse
    rule at ``fps``; collapses per clip, and how much of each clip follows the first frame
    the person is seen lying (fall score >= fall_score_min): the time the rule had."""
    cfg = CameraDetectConfig(kinds=["person", "collapse"], people=PeopleConfig(collapse=collapse))
    per_clip = {}
    for clip in sorted((PEOPLE / "fall_urfall").glob("fall-*-cam0.mp4")):
        frames = frames_of.of(clip, fps)
        _, res = analyse(clip.name, frames, cfg, fps)
        evs = [e for _, pf in res for e in pf.events]
        end_s = frames[-1][1]
        lying = [t for (_, t, _, d, _) in frames
                 if ((d.data["posture"] == "fallen") & (d.data["fall_score"] >= collapse.fall_score_min)).any()]
        per_clip[clip.name] = {
            "collapses": len(evs), "confirmed_s": [round(e.confirmed_s, 2) for e in evs],
            "end_s": round(end_s, 2), "first_lying_s": round(lying[0], 2) if lying else None,
            "lying_frames": len(lying), "to_end_after_confirm_s": round(end_s - evs[0].confirmed_s, 2) if evs else None}
    held_out = [c for c in per_clip if c not in VALIDATION_FALLS]
    return {"rule": label, "fps": fps, "collapse": collapse.model_dump(include={
                "still_s", "fall_window_s", "fall_still_s", "fall_still_frames", "still_box_share"}),
            "all": _tally(per_clip, list(per_clip)), "validation_01_10": _tally(per_clip, VALIDATION_FALLS),
            "held_out_11_30": _tally(per_clip, held_out),
            "missed": [c for c, v in per_clip.items() if v["collapses"] != 1], "per_clip": per_clip}


def _normal_cfg(area_m2: float | None, collapse: CollapseConfig) -> CameraDetectConfig:
    people = PeopleConfig(collapse=collapse, crowding=CrowdingConfig(zone_area_m2=area_m2), loitering=[PETS_ZONE])
    return CameraDetectConfig(kinds=["person", "collapse", "crowding", "loitering"], people=people)


def normal(frames_of: Frames, collapse: CollapseConfig, pets_fps: float | None) -> dict:
    """Ordinary walking with every people rule on (collapse as sensitive as on UR Fall):
    every event raised, for PETS (its first half is the rules' validation negative) and the
    Intel clip (2 frames/s)."""
    clips = {PEOPLE / "pets2009_s2l1" / "s2l1_view001.mp4": (PETS_VIEW_AREA_M2, pets_fps),
             DATA / "videos" / "normal_fixed" / "one-by-one-person-detection.mp4": (60.0, 2.0)}
    out = {}
    for clip, (area, rate) in clips.items():
        if not clip.exists():
            continue
        frames = frames_of.of(clip, rate)
        _, res = analyse(clip.name, frames, _normal_cfg(area, collapse), rate or 10.0)
        evs = [e.to_json() for _, pf in res for e in pf.events]
        half_s = frames[-1][1] / 2
        out[clip.name] = {"frames": len(frames), "fps": rate or "every frame", "events": evs,
                          "events_first_half": sum(e["confirmed_s"] < half_s for e in evs),
                          "max_density_per_m2": round(max((pf.density_per_m2 or 0) for _, pf in res), 4)}
    return out


def _gt_boxes() -> dict[int, list[tuple[int, np.ndarray]]]:
    gt = defaultdict(list)
    with open(PEOPLE / "pets2009_s2l1" / "gt_boxes.csv") as f:
        for r in csv.DictReader(f):
            gt[int(r["frame"])].append((int(r["track_id"]), np.array([float(r[k]) for k in ("x1", "y1", "x2", "y2")])))
    return gt


def _pets_truth(frame_indices) -> np.ndarray:
    """Annotated people whose box centre is in the picture (the annotation also keeps people
    fully hidden behind the lamp post or another person)."""
    gt = _gt_boxes()
    return np.array([sum(0 <= (b[0] + b[2]) / 2 < 480 and 0 <= (b[1] + b[3]) / 2 < 360 for _, b in gt.get(i, []))
                     for i in frame_indices], float)


def count_scores(pred: np.ndarray, truth: np.ndarray) -> dict:
    """Per-frame count measures. ``within_10pct``: share of frames with |count - truth| <=
    10 % of truth (with 2-8 people that means exact); ``within_10pct_or_1``: <= max(10 %
    of truth, 1 person); ``mean_frame_relative_error``: mean over frames (truth > 0) of
    |count - truth| / truth; ``relative_error``: sum |error| / sum truth (the whole clip)."""
    err = pred - truth
    pos = truth > 0
    n = len(err)
    k10 = int(np.sum(np.abs(err) <= 0.1 * truth))
    return {"frames": n, "mean_truth": round(float(truth.mean()), 3), "mae": round(float(np.abs(err).mean()), 3),
            "mean_signed_error": round(float(err.mean()), 3),
            "within_10pct": round(k10 / n, 4), "within_10pct_ci95": wilson(k10, n),
            "within_10pct_or_1": round(float(np.mean(np.abs(err) <= np.maximum(0.1 * truth, 1))), 4),
            "mean_frame_relative_error": round(float(np.mean(np.abs(err[pos]) / truth[pos])), 4),
            "relative_error": round(float(np.abs(err).sum() / truth.sum()), 4)}


def pets_counts(frames_of: Frames, fps: float, people: dict[str, PeopleConfig]) -> dict:
    """Counts of each people setting vs the ground truth, on the first half of the clip (where
    settings are chosen) and the second half (reported), at ``fps``."""
    video = PEOPLE / "pets2009_s2l1" / "s2l1_view001.mp4"
    frames = frames_of.of(video, fps)
    truth = _pets_truth([f[0] for f in frames])
    half = np.array([f[1] < frames[-1][1] / 2 for f in frames])
    out = {"fps": fps, "first_half_frames": int(half.sum()), "second_half_frames": int((~half).sum())}
    for name, pc in people.items():
        _, res = analyse("pets", frames, CameraDetectConfig(kinds=["person"], people=pc), fps)
        pred = np.array([pf.count for _, pf in res], float)
        out[name] = {"first_half": count_scores(pred[half], truth[half]),
                     "second_half": count_scores(pred[~half], truth[~half]), "whole": count_scores(pred, truth)}
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def pets_dwell(frames_of: Frames, fps: float) -> dict:
    """Dwell times in PETS_ZONE: our tracks vs the ground-truth tracks, same stay rule."""
    gt = _gt_boxes()
    frames = frames_of.of(PEOPLE / "pets2009_s2l1" / "s2l1_view001.mp4", fps)
    an, res = analyse("pets", frames, _normal_cfg(PETS_VIEW_AREA_M2, CollapseConfig()), fps)
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


def zoom_cost(detector, share: float, frames: int = 40) -> dict:
    """Process CPU time per PETS frame of the person detector without and with the far-field
    zoom (``people.far_zoom_share`` = ``share``), alternating on the same frames in one run;
    and the zoom's effect on the persons found."""
    video = PEOPLE / "pets2009_s2l1" / "s2l1_view001.mp4"
    cfgs = {"whole frame 640 px": CameraDetectConfig(kinds=["person"]),
            f"+ far zoom {share:g}": CameraDetectConfig(kinds=["person"], people=PeopleConfig(far_zoom_share=share))}
    cpu = dict.fromkeys(cfgs, 0.0)
    found = dict.fromkeys(cfgs, 0)
    falls = dict.fromkeys(cfgs, 0)  # 'Fall' persons scoring >= fall_score_min: they would count
    fall_min = CollapseConfig().fall_score_min
    images = [sf.image for _, sf in zip(range(frames), iter_video(video, fps=frames / 79.0))]
    for cfg in cfgs.values():  # warm-up
        detector.detect_batch([images[0]], [cfg])
    for img in images:
        for name, cfg in cfgs.items():
            c0 = time.process_time()
            d = detector.detect_batch([img], [cfg])[0]
            cpu[name] += time.process_time() - c0
            found[name] += len(d)
            falls[name] += int(((d.data["posture"] == "fallen") & (d.data["fall_score"] >= fall_min)).sum())
    base = cpu["whole frame 640 px"]
    return {"frames": len(images), **{name: {"cpu_s_per_frame": round(cpu[name] / len(images), 4),
                                             "vs_whole_frame": round(cpu[name] / base, 2),
                                             "persons_per_frame": round(found[name] / len(images), 2),
                                             "counted_fall_persons": falls[name]}
                                      for name in cfgs}}


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
    ap.add_argument("--fps", type=float, default=5.0, help="PETS sampling rate (counts, dwell), frames/s")
    ap.add_argument("--fall-fps", type=float, default=10.0, help="UR Fall sampling rate for the fall rule, frames/s")
    ap.add_argument("--fall-still-s", type=float, default=0.2, help="collapse.fall_still_s on UR Fall, s")
    ap.add_argument("--fall-still-frames", type=int, default=3, help="collapse.fall_still_frames on UR Fall")
    ap.add_argument("--pets-normal-fps", type=float, default=0.0, help="PETS rate for 'normal', frames/s (0 = every frame)")
    ap.add_argument("--person-threshold", type=float, default=0.25, help="person score threshold (0..1)")
    ap.add_argument("--imgsz", type=int, default=640, help="person model input, px")
    ap.add_argument("--far-zoom-share", type=float, default=0.0,
                    help="people.far_zoom_share of the detections (0..0.6 of the height; 0 = off)")
    ap.add_argument("--cache", type=Path, default=None, help="folder caching per-video detections (JSON)")
    ap.add_argument("--only", nargs="*", default=["falls", "normal", "pets_counts", "pets_dwell", "shanghaitech"])
    args = ap.parse_args()
    detector = create_detector(DetectorConfig(type="person", input_size_px=args.imgsz))
    frames_of = Frames(detector, args.cache, args.person_threshold, args.far_zoom_share)
    fall_rule = CollapseConfig(fall_still_s=args.fall_still_s, fall_still_frames=args.fall_still_frames)
    report: dict = {"fps": args.fps, "imgsz": args.imgsz, "person_threshold": args.person_threshold,
                    "far_zoom_share": args.far_zoom_share}
    for part in args.only:
        t0 = time.perf_counter()
        if part == "shanghaitech":
            report[part] = shanghaitech(detector)
        elif part == "zoom_cost":
            report[part] = zoom_cost(detector, args.far_zoom_share or 0.4)
        elif part == "falls":
            report[part] = [  # the rule before the fall path (N = 0.5 s at 5 frames/s), then the fall rule
                falls(frames_of, 5.0, CollapseConfig(still_s=0.5), "still_s 0.5 s only (before)"),
                falls(frames_of, args.fall_fps, fall_rule, "fall rule")]
        elif part == "normal":  # collapse at its most sensitive: the fall rule and N = 0.5 s
            report[part] = normal(frames_of, fall_rule.model_copy(update={"still_s": 0.5}), args.pets_normal_fps or None)
        elif part == "pets_counts":
            report[part] = [pets_counts(frames_of, rate, {
                "detections only": PeopleConfig(count_hold_s=0.0, count_occluded_hold_s=0.0),
                "hidden tracks, 0.6 s hold only (before)": PeopleConfig(count_occluded_hold_s=0.0),
                "+ occlusion-aware hold (default)": PeopleConfig()})
                for rate in (args.fps, 1.0)]
        else:
            report[part] = globals()[part](frames_of, args.fps)
        report[part + "_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps({part: report[part]}), file=sys.stderr, flush=True)
    if frames_of.model_frames:
        report["model_s_per_frame"] = round(frames_of.model_s / frames_of.model_frames, 4)
        report["model_cpu_s_per_frame"] = round(frames_of.model_cpu_s / frames_of.model_frames, 4)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
