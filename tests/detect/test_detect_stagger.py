"""A thousand cameras started together do not run the model in the same tick: each
camera's scheduled check falls at its own phase of the period, and a watcher's model
budget turns the start-up burst into a queue that every camera gets through."""

import itertools
from collections import Counter

import numpy as np

from disaster_ops.detect import CameraDetectConfig, DetectorConfig, MotionConfig, create_detector
from disaster_ops.detect.budget import MIN_RATE_PER_S, ModelBudget
from disaster_ops.detect.motion import GateReason, MotionGate, stagger_phase_s
from disaster_ops.detect.pipeline import MultiCameraRunner

INTERVAL_S = 10.0


def test_scheduled_checks_spread_over_the_period():
    frame = np.full((36, 64, 3), 90, np.uint8)  # a static picture: only the schedule runs the model
    keys = [f"gg:{i:06d}" for i in range(1000)]
    gates = {k: MotionGate(MotionConfig(scheduled_interval_s=INTERVAL_S, frame_width_px=32), name=k,
                           phase_s=stagger_phase_s(k, INTERVAL_S)) for k in keys}
    runs: dict[str, list[float]] = {k: [] for k in keys}
    for t in range(41):  # every camera started at t=0, one frame a second
        for k, g in gates.items():
            d = g.update(frame, float(t))
            if d.run_model:
                runs[k].append(float(t))
                assert d.reason in (GateReason.FIRST, GateReason.SCHEDULE)
    per_second = Counter(t for ts in runs.values() for t in ts if 10 <= t < 20)
    mean = len(keys) / INTERVAL_S
    assert sum(per_second.values()) == len(keys)  # every camera checked once a period
    assert max(per_second.values()) <= 1.4 * mean and min(per_second[t] for t in range(10, 20)) >= 0.6 * mean, \
        per_second  # spread, not one burst of 1000
    for k, ts in runs.items():  # never further apart than the interval; same phase every period
        assert all(b - a <= INTERVAL_S for a, b in itertools.pairwise(ts)), (k, ts)
        assert len({t % INTERVAL_S for t in ts[1:]}) == 1, (k, ts)
    assert stagger_phase_s("gg:000001", INTERVAL_S) == stagger_phase_s("gg:000001", INTERVAL_S)  # any worker


class _Recording:
    """The real detector, recording the batch sizes it was given."""

    def __init__(self, detector) -> None:
        self.detector, self.kinds, self.batches = detector, detector.kinds, []

    def detect_batch(self, frames, configs=None):
        self.batches.append(len(frames))
        return self.detector.detect_batch(frames, configs)


def test_model_budget_queues_the_start_up_burst_and_every_camera_gets_its_run():
    det = _Recording(create_detector(DetectorConfig()))
    cfg = CameraDetectConfig(motion={"scheduled_interval_s": 60.0, "frame_width_px": 32})
    cams = [f"c{i}" for i in range(40)]
    runner = MultiCameraRunner(det, dict.fromkeys(cams, cfg))
    frame = np.full((180, 320, 3), 90, np.uint8)
    ran: dict[str, list[tuple[int, GateReason]]] = {c: [] for c in cams}
    for t in range(12):
        frames = {c: (frame, float(t)) for c in cams}
        if t == 3:
            frames["c39"] = (np.full_like(frame, 250), float(t))  # motion on a camera still queued
        out = runner.process(frames, model_budget=4)
        assert sum(r.detections is not None for r in out) <= 4  # never more than the budget
        for r in out:
            if r.detections is not None:
                ran[r.camera_id].append((t, r.gate.reason))
        if t == 3:
            assert runner.stats.waiting > 0 and runner.stats.deferred > 0
    assert all(ran.values()), [c for c, v in ran.items() if not v]  # the burst was queued, none dropped
    assert max(det.batches) <= 4 and runner.stats.waiting == 0
    assert (3, GateReason.MOTION) in ran["c39"]  # motion jumps the queue of first/scheduled checks


def test_model_budget_adapts_to_the_cpu_the_worker_gets():
    b = ModelBudget(15.0, 1.0)
    assert b.allow() == 15
    b.used(15)
    for _ in range(5):  # ticks overrun their period: the worker gets less CPU than the cap assumed
        b.observe(2.4)
    assert b.rate_per_s < 15.0 * 0.7**4 and b.allow() <= 3
    for _ in range(200):
        b.observe(0.2)  # ticks fit easily again: back to the cap, never above it
    assert b.rate_per_s == 15.0
    for _ in range(100):
        b.observe(9.0)
    assert b.rate_per_s == MIN_RATE_PER_S  # never stops checking
    quiet = ModelBudget(4.0, 1.0)
    for _ in range(10):  # quiet ticks (nothing used) bank at most two ticks' worth
        quiet.allow()
    assert quiet.allow() == 8
