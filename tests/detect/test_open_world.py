"""HazardNet on ordinary scenes from sources it never saw, and the cross-source tooling.

Real images only: fixtures copied where the licence allows (MIT webcam frames, CC BY 4.0
Intel clip frames, CC BY 4.0 CCTV frames); the rest is read from ../shared/data and
skipped with a reason where it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from disaster_ops.detect import create_detector
from disaster_ops.detect.evaluation.sources import SOURCE_GROUPS, all_samples, image_split
from disaster_ops.detect.evaluation.stats import bootstrap_f1, poisson_rate_ci, wilson
from disaster_ops.detect.frames import read_image
from tests.conftest import shared_path
from tests.detect.fixtures_detect import FIXTURES, fixture_images

OPEN_WORLD = FIXTURES / "open_world"


@pytest.fixture(scope="module")
def detector():
    return create_detector()


def _quiet(detector, paths: list[Path]) -> None:
    assert paths
    for p in paths:
        d = detector.detect(read_image(p))
        assert len(d) == 0, f"false alarm on {p.name}: {d.to_json()}"


def test_night_street_lights_and_day_webcams_stay_quiet(detector):
    _quiet(detector, sorted((OPEN_WORLD / "webcam").glob("*.jpg")))


def test_indoor_and_traffic_clip_frames_stay_quiet(detector):
    _quiet(detector, sorted((OPEN_WORLD / "intel_clips").glob("*.jpg")))


def test_cctv_normal_frames_stay_quiet_and_hazards_are_still_found(detector):
    _quiet(detector, fixture_images("normal"))
    for kind in ("fire", "smoke"):
        for p in fixture_images(kind):
            assert kind in detector.detect(read_image(p)).kinds(), f"{kind} missed in {p.name}"


def test_grayscale_bgra_and_corrupt_inputs(detector, tmp_path):
    night = read_image(min((OPEN_WORLD / "webcam").glob("night_*.jpg")))
    grey = cv2.cvtColor(night, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(night, cv2.COLOR_BGR2BGRA)
    assert len(detector.detect(grey)) == 0 and len(detector.detect(bgra)) == 0
    fire = read_image(fixture_images("fire")[0])
    assert "fire" in detector.detect(cv2.cvtColor(fire, cv2.COLOR_BGR2BGRA)).kinds()
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    from disaster_ops.detect.errors import FrameError

    with pytest.raises(FrameError):
        read_image(bad)


def test_model_records_its_training_groups_and_val_thresholds(detector):
    meta = detector.meta.raw
    assert set(meta["trained_groups"]) <= set(SOURCE_GROUPS.values()) - {"people"}
    assert meta["selection_splits"] == ["val"] and meta["trained_splits"] == ["train"]
    assert "val" in meta["threshold_selection"]["rule"]
    for kind in ("fire", "smoke", "flood"):
        assert 0.3 <= meta["thresholds"][kind] <= 0.95
        rows = meta["reliability_val"][kind]
        assert sum(r["images"] for r in rows) > 100


def test_split_is_stable_and_test_never_in_val():
    assert image_split("negatives_webcam/night/test_20151101_231132.jpg") == "test"
    keys = [f"x/{i}.jpg" for i in range(2000)]
    shares = {s: sum(image_split(k) == s for k in keys) / len(keys) for s in ("train", "val", "test")}
    assert 0.07 < shares["test"] < 0.13 and 0.07 < shares["val"] < 0.13


def test_intervals_match_known_values():
    w = wilson(5, 100)
    assert abs(w.low - 0.0215) < 1e-3 and abs(w.high - 0.1118) < 1e-3
    assert wilson(0, 50).low < 1e-12 and abs(wilson(0, 50).high - 0.0713) < 1e-3
    p = poisson_rate_ci(3, 1.0)
    assert abs(p.low - 0.619) < 1e-3 and abs(p.high - 8.767) < 1e-3
    assert abs(poisson_rate_ci(0, 2.0).high - 1.844) < 1e-3
    pos = np.array([1, 1, 1, 0, 0, 1] * 20, bool)
    hit = np.array([1, 1, 0, 0, 1, 1] * 20, bool)
    f = bootstrap_f1(pos, hit)
    assert abs(f.value - 0.75) < 1e-9 and f.low < 0.75 < f.high


@pytest.mark.xfail(strict=True, reason="issue #9 target not met: v8 raises smoke on street crowds and flood on "
                   "drone/plaza views it never saw (37 % of people frames, docs/MODELS.md); strict, so a fix shows up")
def test_never_trained_people_scenes_mostly_quiet(detector):
    root = shared_path("people")
    samples = [s for s in all_samples(root.parent, ("people_scenes",))]
    assert len(samples) > 50
    from disaster_ops.detect.evaluation.cross_source import run_detector

    out = run_detector(detector, samples[::3])
    alarms = [o.sample.key for o in out if o.found]
    assert len(alarms) <= 0.05 * len(out) + 1, alarms


def test_flood_street_held_out_photos_found(detector):
    root = shared_path("flood_street")
    test = [s for s in all_samples(root.parent, ("flood_street",)) if s.split == "test"]
    assert len(test) >= 20
    found = sum("flood" in detector.detect(read_image(s.path)).kinds() for s in test)
    assert found >= 0.8 * len(test), f"flood found in {found} of {len(test)}"


def test_eval_cross_source_cli_reports_groups_with_intervals(tmp_path):
    root = shared_path("negatives_webcam")
    from typer.testing import CliRunner

    from disaster_ops.cli import app

    res = CliRunner().invoke(app, ["eval", "--cross-source", str(root.parent), "--group", "webcam", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    (g,) = [g for g in out["groups"] if g["group"] == "webcam"]
    assert g["seen_in_training"] is True and g["scored_on"].startswith("test split")
    assert 20 <= g["images"] <= 80 and g["normal_images"] == g["images"]
    lo, hi = g["any_kind_false_alarm_rate"]["ci95"]
    assert 0.0 <= lo <= g["any_kind_false_alarm_rate"]["value"] <= hi <= 1.0
    bad = CliRunner().invoke(app, ["eval", "--cross-source", str(root.parent), "--group", "nope"])
    assert bad.exit_code == 2 and "unknown source group" in bad.output
