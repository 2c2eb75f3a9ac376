"""Motion gating (as Frigate does): decide per frame whether the model has to run.

Frames are downscaled to a small grayscale image, blurred, and compared with a
running-average background; the share of pixels that changed by more than a grey-level
threshold is the motion measure. The model runs on motion, on the first frame, and
on a schedule even without motion, because smoke and rising water change slowly
enough to be absorbed into the background.

Scheduled checks are staggered: each camera runs its check at its own fixed phase of the
period (:func:`stagger_phase_s`, from a hash of its key), so a thousand cameras started
together spread their checks over the period instead of all running the model in one
tick.
"""

from __future__ import annotations

import enum
import logging
import math
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from disaster_ops.detect.config import MotionConfig
from disaster_ops.detect.frames import to_bgr
from disaster_ops.detect.masks import valid_mask

logger = logging.getLogger(__name__)


def stagger_phase_s(key: str, interval_s: float) -> float:
    """Where in each ``interval_s`` period camera ``key`` runs its scheduled check, s in
    [0, interval_s): a stable hash of the key, so it is the same on every worker and restart."""
    return zlib.crc32(key.encode()) / 2**32 * interval_s


class GateReason(enum.Enum):
    FIRST = "first"
    MOTION = "motion"
    SCHEDULE = "schedule"
    IDLE = "idle"
    DISABLED = "disabled"  # gating off: always run


@dataclass(frozen=True)
class GateDecision:
    run_model: bool
    reason: GateReason
    changed_share: float


class MotionGate:
    """Frame differencing against a running background, one instance per camera."""

    def __init__(
        self,
        config: MotionConfig | None = None,
        *,
        roi: list | None = None,
        exclude: list | None = None,
        name: str = "camera",
        phase_s: float = 0.0,
    ) -> None:
        self.config = config or MotionConfig()
        self.roi = roi or []
        self.exclude = exclude or []
        self.name = name
        self.phase_s = phase_s  # scheduled checks fall at phase_s + k * scheduled_interval_s
        self._background: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._last_run_s: float | None = None

    def _small_gray(self, frame: np.ndarray) -> np.ndarray:
        frame = to_bgr(frame, source=self.name)
        h, w = frame.shape[:2]
        sw = self.config.frame_width_px
        sh = max(8, round(h * sw / w))
        gray = cv2.cvtColor(cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        if self._mask is None or self._mask.shape != gray.shape:
            m = valid_mask((w, h), roi=self.roi, exclude=self.exclude, grid_wh=(sw, sh))
            self._mask = m if m is not None else np.ones(gray.shape, bool)
        return cv2.GaussianBlur(gray, (5, 5), 0).astype(np.float32)

    def _slot(self, t_s: float) -> int:
        """Which scheduled period ``t_s`` falls in; a new period means a check is due (so
        runs are never further apart than the interval, and fall on this camera's phase)."""
        return math.floor((t_s - self.phase_s) / self.config.scheduled_interval_s)

    def update(self, frame: np.ndarray, now_s: float) -> GateDecision:
        """Feed one frame taken at ``now_s`` (seconds, any monotonic clock)."""
        gray = self._small_gray(frame)
        if self._background is None or self._background.shape != gray.shape:
            self._background = gray
            self._last_run_s = now_s
            return GateDecision(True, GateReason.FIRST, 1.0)
        diff = np.abs(gray - self._background) > self.config.pixel_threshold
        n = int(self._mask.sum())
        share = float(diff[self._mask].sum() / n) if n else 0.0
        cv2.accumulateWeighted(gray, self._background, self.config.background_alpha)
        if not self.config.enabled:
            reason = GateReason.DISABLED
        elif share >= self.config.min_changed_share and share > 0:
            reason = GateReason.MOTION
        elif self._last_run_s is None or self._slot(now_s) > self._slot(self._last_run_s):
            reason = GateReason.SCHEDULE
        else:
            return GateDecision(False, GateReason.IDLE, share)
        self._last_run_s = now_s
        return GateDecision(True, reason, share)
