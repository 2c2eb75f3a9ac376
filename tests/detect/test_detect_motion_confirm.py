"""Motion gate and N-of-M temporal confirmation on real frames."""

import cv2
import numpy as np
import pytest

from disaster_ops.detect import ConfirmConfig, Detections, MotionConfig
from disaster_ops.detect.confirm import TemporalConfirmer
from disaster_ops.detect.motion import GateReason, MotionGate
from tests.detect.fixtures_detect import FIXTURES, fixture_images


def _fire(conf=0.9):
    return Detections(np.array([[0, 0, 5, 5]], np.float32), np.array([conf]), np.array(["fire"]))


def test_gate_idles_on_static_noise_and_fires_on_motion_and_schedule():
    frame = cv2.imread(str(fixture_images("normal")[0]))
    rng = np.random.default_rng(0)
    gate = MotionGate(MotionConfig(scheduled_interval_s=10.0))
    assert gate.update(frame, 0.0).reason is GateReason.FIRST
    reasons = []
    for t in range(1, 10):  # same scene with sensor noise: no model run
        noisy = np.clip(frame.astype(np.int16) + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)
        reasons.append(gate.update(noisy, float(t)).reason)
    assert reasons == [GateReason.IDLE] * 9
    assert gate.update(frame, 10.0).reason is GateReason.SCHEDULE  # slow hazards: run anyway
    moved = frame.copy()
    cv2.rectangle(moved, (100, 100), (250, 250), (255, 255, 255), -1)  # an object enters
    d = gate.update(moved, 11.0)
    assert d.run_model and d.reason is GateReason.MOTION and d.changed_share > 0.01


def test_gate_ignores_motion_in_excluded_region():
    frame = cv2.imread(str(fixture_images("normal")[0]))
    h, w = frame.shape[:2]
    gate = MotionGate(MotionConfig(), exclude=[[(0, 0), (w // 2, 0), (w // 2, h), (0, h)]])
    gate.update(frame, 0.0)
    moved = frame.copy()
    cv2.rectangle(moved, (10, 10), (w // 2 - 20, h - 20), (0, 0, 255), -1)  # e.g. a flashing sign
    assert gate.update(moved, 1.0).reason is GateReason.IDLE
    moved2 = moved.copy()
    cv2.rectangle(moved2, (w // 2 + 20, 10), (w - 10, h - 10), (0, 0, 255), -1)
    assert gate.update(moved2, 2.0).reason is GateReason.MOTION


def test_gate_on_real_fire_video_sees_motion():
    cap = cv2.VideoCapture(str(FIXTURES / "house6_clip.mp4"))
    gate = MotionGate(MotionConfig(pixel_threshold=10, min_changed_share=0.001))
    runs = 0
    for i in range(60):
        ok, frame = cap.read()
        assert ok
        runs += gate.update(frame, i / 15.0).reason is GateReason.MOTION
    assert runs >= 5  # flickering flames move


@pytest.mark.parametrize(
    "sequence, raised_at",
    [
        ([1, 0, 1, 0, 1], 4),  # 3 of 5 reached on the 5th frame
        ([1, 1, 1], 2),
        ([1, 0, 0, 1, 0, 0, 1, 0], None),  # never 3 within 5
        ([0, 0, 0, 0, 0], None),
    ],
)
def test_three_of_five(sequence, raised_at):
    conf = TemporalConfirmer(ConfirmConfig(), kinds=("fire", "smoke"))
    raised = None
    for i, hit in enumerate(sequence):
        state = conf.update(_fire() if hit else Detections.empty())
        if "fire" in state.raised:
            raised = i
        assert "smoke" not in state.active
    assert raised == raised_at


def test_confirmed_hazard_clears_after_quiet_window():
    conf = TemporalConfirmer(ConfirmConfig(required=2, window=3), kinds=("fire",))
    states = [conf.update(d) for d in [_fire(), _fire(), Detections.empty(), Detections.empty(), Detections.empty()]]
    assert states[1].raised == {"fire"}
    assert [("fire" in s.active) for s in states] == [False, True, True, True, False]
    assert states[4].cleared == {"fire"}
