"""Per-camera detection pipeline: motion gate -> batched detector -> N-of-M confirmation.

``MultiCameraRunner.process`` takes the latest frame of any number of cameras, runs
the motion gate of each, sends the frames that need it to the detector in one batch
and updates each camera's confirmer. It is what a watcher calls once per sampling
tick (e.g. every second).

With a ``model_budget`` (model runs this tick; a worker's rate limit), frames that need
the model beyond the budget wait in a queue and run on a later tick with that camera's
newest frame: bursts (cameras started together, many scheduled checks due at once)
become a steady load. Motion frames (something moves: the likeliest fire) take up to half
of each tick's budget, oldest first; first and scheduled checks take the rest in the order
they fell due, and either side takes what the other leaves, so neither starves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from disaster_ops.detect.base import Detector
from disaster_ops.detect.config import CameraDetectConfig
from disaster_ops.detect.confirm import ConfirmState, TemporalConfirmer
from disaster_ops.detect.errors import ConfigError, FrameError
from disaster_ops.detect.motion import GateDecision, GateReason, MotionGate, stagger_phase_s
from disaster_ops.detect.records import Detections

logger = logging.getLogger(__name__)



@dataclass
class CameraResult:
    """What one camera's frame gave: gate decision, raw detections (None when the
    model did not run) and the confirmed state (None when nothing was sampled)."""

    camera_id: str
    gate: GateDecision | None
    detections: Detections | None
    confirm: ConfirmState | None
    error: str | None = None


@dataclass
class RunnerStats:
    frames: int = 0
    model_runs: int = 0
    errors: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    deferred: int = 0  # model runs put off to a later tick by the budget
    waiting: int = 0  # cameras queued for a model run now
    oldest_wait_s: float = 0.0  # how long the longest-queued of them has waited


class CameraState:
    """Gate, confirmer and (flood reference mode) dry-reference monitor of one camera.

    A flood reference that cannot be used (missing or unreadable image, ROI outside the
    frame, a detector without water maps) disables flood for this camera only, with the
    reason in ``flood_error``; its other kinds keep running.
    """

    def __init__(self, camera_id: str, config: CameraDetectConfig, detector: Detector) -> None:
        self.camera_id = camera_id
        self.config = config
        self.gate = MotionGate(config.motion, roi=config.roi, exclude=config.exclude, name=camera_id,
                               phase_s=stagger_phase_s(camera_id, config.motion.scheduled_interval_s))
        kinds = [k for k in config.kinds if k in detector.kinds]
        self.flood_monitor = None
        self.flood_error: str | None = None
        if "flood" in kinds and config.flood.mode == "reference":
            try:
                self.flood_monitor = _flood_monitor(detector, config)
            except (ConfigError, FrameError) as exc:
                self.flood_error = str(exc)
                kinds.remove("flood")
                logger.error("%s: flood disabled, its dry reference is unusable: %s", camera_id, exc)
        self.kinds = tuple(kinds)
        self.confirmer = TemporalConfirmer(config.confirm, kinds=self.kinds)

    def finish(self, frame: np.ndarray, dets: Detections) -> Detections:
        """The camera's detections of ``frame``: flood from the dry-reference comparison when
        that mode is on (the model's own flood regions are replaced), nothing of a disabled kind."""
        if self.flood_monitor is not None:
            dets = Detections.merge([dets[dets.kind != "flood"], self.flood_monitor.assess(frame).detections])
        elif "flood" not in self.kinds and len(dets):
            dets = dets[dets.kind != "flood"]
        return dets


def _flood_monitor(detector: Detector, config: CameraDetectConfig):
    from disaster_ops.detect.flood_reference import FloodReferenceMonitor
    from disaster_ops.detect.frames import read_image

    if not hasattr(detector, "probability_maps"):
        raise ConfigError(f"the {type(detector).__name__} detector has no water maps for a flood reference")
    reference = read_image(config.flood.reference_image)
    return FloodReferenceMonitor(
        detector, reference, ground_roi=config.flood.ground_roi or None, min_roi_share=config.flood.min_roi_share
    )


class MultiCameraRunner:
    """Gated, batched detection for many cameras sharing one detector."""

    def __init__(self, detector: Detector, cameras: Mapping[str, CameraDetectConfig], *, max_batch: int = 16) -> None:
        self.detector = detector
        self.max_batch = max_batch
        self.cameras = {cid: CameraState(cid, cfg, detector) for cid, cfg in cameras.items()}
        self.stats = RunnerStats()
        # camera -> (due since s, decision): model runs due but not yet done
        self._waiting: dict[str, tuple[float, GateDecision]] = {}

    def add_camera(self, camera_id: str, config: CameraDetectConfig) -> None:
        """Start keeping state for one more camera (a fresh gate and confirmer)."""
        self.cameras[camera_id] = CameraState(camera_id, config, self.detector)

    def remove_camera(self, camera_id: str) -> None:
        self.cameras.pop(camera_id, None)
        self._waiting.pop(camera_id, None)

    def process(self, frames: Mapping[str, tuple[np.ndarray, float]], *,
                model_budget: int | None = None) -> list[CameraResult]:
        """One tick: ``frames`` maps camera id -> (BGR frame, capture time in s).
        ``model_budget``: at most this many model runs now (None: every one due)."""
        results: dict[str, CameraResult] = {}
        for cid, (frame, now_s) in frames.items():
            state = self.cameras.get(cid)
            if state is None:
                raise KeyError(f"unknown camera {cid!r}")
            self.stats.frames += 1
            try:
                decision = state.gate.update(frame, now_s)
            except FrameError as exc:
                self.stats.errors += 1
                logger.warning("%s: bad frame: %s", cid, exc.reason)
                results[cid] = CameraResult(cid, None, None, None, error=exc.reason)
                continue
            self.stats.by_reason[decision.reason.value] = self.stats.by_reason.get(decision.reason.value, 0) + 1
            if decision.run_model:
                old = self._waiting.get(cid)
                if old is None or (decision.reason is GateReason.MOTION and old[1].reason is not GateReason.MOTION):
                    self._waiting[cid] = (old[0] if old else now_s, decision)
            else:
                results[cid] = CameraResult(cid, decision, None, None)
        ready = self._pick(frames, results, model_budget)
        todo = [(cid, frames[cid][0], self._waiting.pop(cid)[1]) for cid in ready]
        for i in range(0, len(todo), self.max_batch):
            chunk = todo[i : i + self.max_batch]
            dets = self.detector.detect_batch([f for _, f, _ in chunk], [self.cameras[c].config for c, _, _ in chunk])
            self.stats.model_runs += len(chunk)
            for (cid, frame, decision), d in zip(chunk, dets):
                cam = self.cameras[cid]
                d = cam.finish(frame, d)
                state = cam.confirmer.update(d)
                if state.raised:
                    logger.info("%s: hazard raised: %s", cid, ", ".join(sorted(state.raised)))
                results[cid] = CameraResult(cid, decision, d, state)
        self.stats.waiting = len(self._waiting)
        latest = max((t for _f, t in frames.values()), default=0.0)
        self.stats.oldest_wait_s = max((latest - v[0] for v in self._waiting.values()), default=0.0)
        return [results[cid] for cid in frames if cid in results]

    def _pick(self, frames, results, budget: int | None) -> list[str]:
        """Queued cameras to run now: those with a usable frame this tick (one whose gate
        idles now still runs: it was due), motion first up to half the budget."""
        ready = sorted((v[0], cid, v[1].reason is GateReason.MOTION) for cid, v in self._waiting.items()
                       if cid in frames and (cid not in results or results[cid].error is None))
        if budget is None or len(ready) <= budget:
            return [cid for _t, cid, _m in ready]
        budget = max(0, budget)
        motion = [cid for _t, cid, m in ready if m]
        rest = [cid for _t, cid, m in ready if not m]
        take_m = min(len(motion), max(budget - len(rest), -(-budget // 2)))
        picked = motion[:take_m] + rest[: budget - take_m]
        self.stats.deferred += len(ready) - len(picked)
        return picked
