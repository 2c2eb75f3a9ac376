"""Loitering dwell times on PETS 2009 S2.L1 (real footage, read in place): the stays our
tracks make in a crossing zone match the stays the ground-truth tracks make through the
same rule (issue #16 "Done when": dwell times for loitering). The first 30 s at 5
frames/s (150 person-model frames, about 75 CPU-s: marked slow, out of ``make test``);
benchmarks/people_eval.py measures the whole clip (docs/BENCHMARKS.md "People": median
error 0.8 s). At 2.5 frames/s ByteTrack breaks tracks under occlusion far more often
(median error 4 s on the same window), so the rate is part of what is tested."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict

import numpy as np
import pytest

from disaster_ops.detect import CameraDetectConfig, DetectorConfig, create_detector
from disaster_ops.detect.frames import iter_video
from disaster_ops.detect.records import Detections
from disaster_ops.people.analyzer import PeopleAnalyzer
from disaster_ops.people.config import LoiterZone, PeopleConfig
from disaster_ops.people.loitering import LoiteringMonitor
from tests.conftest import shared_path

ZONE = LoiterZone(name="crossing", polygon=[(180, 150), (430, 150), (470, 300), (140, 300)],
                  max_dwell_s=60.0, leave_grace_s=2.0)
WINDOW_S = 30.0
FPS = 5.0


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_pets_dwell_times_follow_ground_truth():
    pets = shared_path("people", "pets2009_s2l1")
    gt: dict[int, list] = defaultdict(list)
    with (pets / "gt_boxes.csv").open() as fh:
        for r in csv.DictReader(fh):
            gt[int(r["frame"])].append((int(r["track_id"]), [float(r[k]) for k in ("x1", "y1", "x2", "y2")]))
    cfg = CameraDetectConfig(kinds=["person", "loitering"], people=PeopleConfig(loitering=[ZONE]))
    ours = PeopleAnalyzer("pets", cfg, fps=FPS)
    truth = LoiteringMonitor([ZONE], camera_id="gt")
    detector = create_detector(DetectorConfig(type="person"))
    votes: dict[int, Counter] = defaultdict(Counter)  # gt id -> our track ids seen on it
    for sf in iter_video(pets / "s2l1_view001.mp4", fps=FPS):
        if sf.time_s >= WINDOW_S:
            break
        pf = ours.update(detector.detect(sf.image, cfg), sf.image, sf.time_s)
        rows = gt.get(sf.frame_index, [])
        truth.update(Detections(np.array([b for _, b in rows], np.float32).reshape(-1, 4),
                                np.ones(len(rows), np.float32), np.full(len(rows), "person", object),
                                data={"track_id": np.array([k for k, _ in rows], int)}), sf.time_s)
        for k, b in rows:
            best = max(((_iou(b, p), int(t)) for p, t in zip(pf.persons.xyxy, pf.persons.data["track_id"])),
                       default=(0.0, -1))
            if best[0] >= 0.3 and best[1] >= 0:
                votes[k][best[1]] += 1
    by_track = defaultdict(list)
    for s in ours.loitering.stays():
        by_track[s.track_id].append(s)
    errors = []
    for s in truth.stays():
        if s.dwell_s < 2.0:
            continue
        mine = [o for t in votes.get(s.track_id, {}) for o in by_track.get(t, [])
                if o.entered_s <= s.last_inside_s and o.last_inside_s >= s.entered_s]
        # a person whose track broke under occlusion has several stays: their span is what we measured
        dwell = max(o.last_inside_s for o in mine) - min(o.entered_s for o in mine) if mine else 0.0
        errors.append(abs(dwell - s.dwell_s))
    errors = np.array(errors)
    assert len(errors) >= 8, "the first 30 s of PETS have at least 8 ground-truth stays of 2 s or more"
    # measured 2026-11-29: 11 stays, |errors| 0 0 0.2 0.4 0.6 0.6 4 4.4 8 12 12 s (median 0.6 s);
    # the large ones are people whose track broke under occlusion into ids that matched
    # another ground-truth person better. A regression guard, set from that run:
    assert np.median(errors) <= 1.5, errors.round(1).tolist()
    assert np.mean(errors <= 4.0) >= 0.6, errors.round(1).tolist()
