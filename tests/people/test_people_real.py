"""People detectors on real footage of ../shared/data (never copied into the repo): UR Fall
clips raise one collapse each, ordinary walking (PETS 2009, Intel sample clip) raises
nothing, PETS counts follow the ground-truth boxes, and ``detect --kinds`` prints persons
with track ids. Frames are subsampled to keep this quick; the full figures come from
``benchmarks/people_eval.py`` (docs/BENCHMARKS.md)."""

import csv
import json
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from disaster_ops.cli import app
from tests.conftest import shared_path

runner = CliRunner()
# Three of the 30 UR Fall clips, the person lying for only 0.4-1.1 s before the clip ends (21
# and 24 raised nothing with N = 0.5 s at 5 frames/s); all 30 are scored by
# benchmarks/people_eval.py, and docs/BENCHMARKS.md gives that figure, misses included.
FALL_CLIPS = ("fall-16-cam0.mp4", "fall-21-cam0.mp4", "fall-24-cam0.mp4")
# the fall rule as the benchmark chose it on clips 01-10: lying still 0.2 s on 3 frames after
# a fast upright-to-lying change (the product default is 2 s: live cameras keep recording)
FALL_RULE = {"fall_still_s": 0.2, "fall_still_frames": 3}


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def person_detector():
    from disaster_ops.detect import DetectorConfig, create_detector

    return create_detector(DetectorConfig(type="person"))


def test_each_fall_clip_raises_one_collapse(tmp_path, data_dir):
    clips = [str(shared_path("people", "fall_urfall", c)) for c in FALL_CLIPS]
    cfg = tmp_path / "people.json"
    cfg.write_text(json.dumps({"collapse": FALL_RULE}))
    res = runner.invoke(app, ["detect", *clips, "--kinds", "person,collapse", "--fps", "10", "--json",
                              "--people-config", str(cfg), "--snapshots", str(tmp_path / "snaps")])
    assert res.exit_code == 0, res.output
    objs = _lines(res.stdout)
    events = Counter()
    for o in objs:
        assert {"source", "frame", "time_s", "detections", "count", "events"} <= set(o)
        for d in o["detections"]:
            assert d["kind"] == "person" and d["posture"] in ("upright", "fallen") and isinstance(d["track_id"], int)
        for e in o["events"]:
            assert e["kind"] == "collapse" and e["track_id"] >= 0 and e["confirmed_s"] - e["started_s"] >= 0.2 - 0.01
            assert (tmp_path / "snaps").joinpath(e["snapshot_path"].rsplit("/", 1)[-1]).is_file()
            events[o["source"]] += 1
    assert events == Counter({c: 1 for c in clips})


def test_ordinary_walking_raises_nothing(tmp_path, data_dir):
    pets = shared_path("people", "pets2009_s2l1", "s2l1_view001.mp4")
    walk = shared_path("videos", "normal_fixed", "one-by-one-person-detection.mp4")
    cfg = tmp_path / "people.json"
    cfg.write_text(json.dumps({  # collapse as sensitive as on the UR Fall clips
        "collapse": {"still_s": 0.5, **FALL_RULE}, "crowding": {"zone_area_m2": 900, "hold_s": 5},
        "loitering": [{"name": "crossing", "polygon": [[180, 150], [430, 150], [470, 300], [140, 300]],
                       "max_dwell_s": 60}]}))
    res = runner.invoke(app, ["detect", str(pets), str(walk), "--kinds", "person,collapse,crowding,loitering",
                              "--fps", "2", "--max-frames", "40", "--people-config", str(cfg), "--json"])
    assert res.exit_code == 0, res.output
    objs = _lines(res.stdout)
    assert len(objs) == 80
    assert [e for o in objs for e in o["events"]] == []
    pets_objs = [o for o in objs if o["source"] == str(pets)]
    assert max(o["count"] for o in pets_objs) >= 4  # people were there, and tracked
    assert len({d["track_id"] for o in pets_objs for d in o["detections"]} - {-1}) >= 4
    assert all(0 <= o["density_per_m2"] < 0.02 for o in pets_objs)
    # count = persons detected + tracked people hidden for a moment ("hidden")
    assert all(o["count"] == len(o["detections"]) + o["hidden"] for o in pets_objs)


def test_pets_counts_follow_ground_truth(person_detector):
    from disaster_ops.detect import CameraDetectConfig
    from disaster_ops.detect.frames import iter_video
    from disaster_ops.people.analyzer import PeopleAnalyzer

    video = shared_path("people", "pets2009_s2l1", "s2l1_view001.mp4")
    truth = Counter()
    with open(shared_path("people", "pets2009_s2l1", "gt_boxes.csv")) as f:
        for r in csv.DictReader(f):
            cx, cy = (float(r["x1"]) + float(r["x2"])) / 2, (float(r["y1"]) + float(r["y2"])) / 2
            truth[int(r["frame"])] += 0 <= cx < 480 and 0 <= cy < 360
    an = PeopleAnalyzer("pets", CameraDetectConfig(kinds=["person"]), fps=None)
    pred, gt = [], []
    for sf in iter_video(video, fps=0.25):  # every 40th frame: 20 frames over the 79.5 s
        pred.append(an.update(person_detector.detect(sf.image), sf.image, sf.time_s).count)
        gt.append(truth[sf.frame_index])
    pred, gt = np.array(pred), np.array(gt)
    assert len(gt) == 20 and gt.sum() > 80
    # 0.078 and 0.95 on these 20 frames; all 398 frames at 5 frames/s: 0.0975 and 0.925
    # (docs/BENCHMARKS.md); the annotation keeps people hidden behind others, whom no one sees
    assert np.abs(pred - gt).sum() / gt.sum() <= 0.12
    assert np.mean(np.abs(pred - gt) <= 1) >= 0.85


def test_still_images_list_persons_without_tracks(data_dir):
    img = shared_path("people", "crowd_shanghaitech_b_subset", "test", "IMG_1.jpg")
    res = runner.invoke(app, ["detect", str(img), "--kinds", "person", "--json"])
    assert res.exit_code == 0, res.output
    (obj,) = _lines(res.stdout)
    assert obj["frame"] == 0 and obj["count"] == len(obj["detections"]) > 0
    assert all("track_id" not in d for d in obj["detections"]) and obj["events"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kinds", "person,violence"], "unknown kind(s) violence"),
        (["--kinds", "person", "--people-config", "missing.json"], "--people-config missing.json"),
    ],
)
def test_detect_people_bad_options_exit_2(args, message, data_dir):
    img = shared_path("people", "crowd_shanghaitech_b_subset", "test", "IMG_1.jpg")
    res = runner.invoke(app, ["detect", str(img), *args])
    assert res.exit_code == 2 and message in res.output
