"""Cross-source evaluation: figures per source group, split by whether the model saw it.

For each source group of the shared data (``sources.SOURCE_GROUPS``):

* a group the model was **never trained on** (not in its ``trained_groups``; e.g. the
  left-out group of a leave-one-group-out model, or the evaluation-only ``people``
  scenes) is scored on *all* its images: a source the model never saw;
* a group it was trained on is scored on its ``test`` split only (never trained on, never
  used for a choice), and labelled *in-source* (same cameras / photographers as training:
  optimistic for a new camera).

Per group and pooled: precision, recall (Wilson 95 % intervals), F1 (bootstrap 95 %),
false-alarm rate on normal scenes, per kind and any kind (Wilson 95 %). A kind whose
label is unknown for an image (smoke in the fire clips) is left out of that kind's counts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect.base import Detector
from disaster_ops.detect.config import CameraDetectConfig
from disaster_ops.detect.evaluation.sources import KINDS, SOURCE_GROUPS, SourceSample, all_samples
from disaster_ops.detect.evaluation.stats import Interval, bootstrap_f1, wilson
from disaster_ops.detect.frames import read_image

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What the detector said about one sample."""

    sample: SourceSample
    found: frozenset[str]
    scores: tuple[float, float, float]  # image-level score per kind (top-3 cells)


@dataclass
class GroupFigures:
    group: str
    seen_in_training: bool
    images: int
    normals: int
    any_false_alarms: int
    kinds: dict[str, dict] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    @property
    def any_false_alarm_rate(self) -> Interval:
        return wilson(self.any_false_alarms, self.normals)

    def as_dict(self) -> dict:
        return {
            "group": self.group,
            "seen_in_training": self.seen_in_training,
            "scored_on": "test split only (in-source)" if self.seen_in_training else "all images (never trained on)",
            "sources": list(self.sources),
            "images": self.images,
            "normal_images": self.normals,
            "any_kind_false_alarms": self.any_false_alarms,
            "any_kind_false_alarm_rate": self.any_false_alarm_rate.as_dict(),
            "kinds": self.kinds,
        }


def figures(group: str, outcomes: Sequence[Outcome], seen: bool) -> GroupFigures:
    """Per-kind and any-kind figures (with 95 % intervals) of a list of outcomes."""
    normals = [o for o in outcomes if o.sample.is_normal]
    out = GroupFigures(group, seen, len(outcomes), len(normals), sum(bool(o.found) for o in normals),
                       sources=tuple(sorted({o.sample.source for o in outcomes})))
    for k in KINDS:
        rel = [o for o in outcomes if k not in o.sample.unknown]
        pos = np.array([k in o.sample.kinds for o in rel], bool)
        hit = np.array([k in o.found for o in rel], bool)
        tp, fp, fn = int((pos & hit).sum()), int((~pos & hit).sum()), int((pos & ~hit).sum())
        fa = sum(k in o.found for o in normals)
        d = {"positives": int(pos.sum()), "negatives": int((~pos).sum()), "tp": tp, "fp": fp, "fn": fn,
             "false_alarms_on_normal": fa, "false_alarm_rate": wilson(fa, len(normals)).as_dict()}
        if pos.any():
            d["precision"] = wilson(tp, tp + fp).as_dict()
            d["recall"] = wilson(tp, tp + fn).as_dict()
            d["f1"] = bootstrap_f1(pos, hit).as_dict()
        out.kinds[k] = d
    return out


def _frames(samples: Sequence[SourceSample]) -> dict[str, np.ndarray]:
    """Video frames of the samples, each video read once in order."""
    want: dict[Path, set[int]] = defaultdict(set)
    for s in samples:
        if s.frame_index is not None:
            want[s.path].add(s.frame_index)
    out = {}
    for path, idx in want.items():
        cap = cv2.VideoCapture(str(path))
        i, last = 0, max(idx)
        while i <= last:
            ok, frame = cap.read()
            if not ok:
                break
            if i in idx:
                out[f"{path}#{i}"] = frame
            i += 1
        cap.release()
    return out


def _image(s: SourceSample, frames: dict[str, np.ndarray]) -> np.ndarray:
    img = frames[f"{s.path}#{s.frame_index}"] if s.frame_index is not None else read_image(s.path)
    if s.crop_xyxy is not None:
        x1, y1, x2, y2 = s.crop_xyxy
        img = np.ascontiguousarray(img[y1:y2, x1:x2])
    return img


def run_detector(detector: Detector, samples: Sequence[SourceSample], *, batch_size: int = 8) -> list[Outcome]:
    """Detections with the model's default thresholds (what ``detect`` prints) plus image scores."""
    cfg = CameraDetectConfig(kinds=list(detector.kinds))
    frames = _frames(samples)
    out: list[Outcome] = []
    for i in range(0, len(samples), batch_size):
        chunk = list(samples[i : i + batch_size])
        imgs = []
        for s in chunk:
            imgs.append(_image(s, frames))
        if hasattr(detector, "detections_from_maps"):  # one model run for maps and detections
            frames_, cfgs = detector.prepare_batch(imgs, [cfg] * len(imgs))
            prob = detector.probability_maps(frames_)
            dets = detector.detections_from_maps(frames_, prob, cfgs)
            flat = np.sort(prob.reshape(prob.shape[0], prob.shape[1], -1), axis=2)[:, :, -3:].mean(axis=2)
        else:
            dets = detector.detect_batch(imgs, [cfg] * len(imgs))
            flat = np.full((len(imgs), 3), np.nan)
        for s, d, sc in zip(chunk, dets, flat):
            out.append(Outcome(s, frozenset(d.kinds()), tuple(float(x) for x in sc[:3])))
    return out


def plan_samples(data_root: Path, trained_groups: Iterable[str], *, groups: Iterable[str] | None = None,
                 max_per_group: int | None = None) -> list[SourceSample]:
    """What cross-source evaluation scores: all of never-trained groups, the test split of trained ones.

    ``max_per_group``: a larger group is thinned to every k-th sample (deterministic, in key order).
    """
    trained = set(trained_groups)
    wanted = set(groups) if groups else set(SOURCE_GROUPS.values())
    sources = tuple(s for s, g in SOURCE_GROUPS.items() if g in wanted)
    picked = [s for s in all_samples(data_root, sources) if s.group not in trained or s.split == "test"]
    if not max_per_group:
        return picked
    by_group: dict[str, list[SourceSample]] = defaultdict(list)
    for s in picked:
        by_group[s.group].append(s)
    out = []
    for members in by_group.values():
        k = -(-len(members) // max_per_group)
        out += sorted(members, key=lambda s: s.key)[::k]
    return out


def evaluate_cross_source(detector: Detector, data_root: Path, trained_groups: Iterable[str], *,
                          groups: Iterable[str] | None = None,
                          max_per_group: int | None = None) -> tuple[list[GroupFigures], list[Outcome]]:
    trained = set(trained_groups)
    samples = plan_samples(data_root, trained, groups=groups, max_per_group=max_per_group)
    outcomes = run_detector(detector, samples)
    by_group: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_group[o.sample.group].append(o)
    figs = [figures(g, os_, g in trained) for g, os_ in by_group.items()]
    unseen = [o for o in outcomes if o.sample.group not in trained]
    if unseen:
        figs.append(figures("ALL never-trained groups", unseen, False))
    return figs, outcomes
