"""Multi-object tracking of persons, one tracker per camera: ByteTrack from ``supervision``.

:class:`PersonTracker` takes the person ``Detections`` of successive sampled frames and
returns them with ``data["track_id"]`` (an int, stable while ByteTrack follows the person;
-1 for a detection not (yet) on a track). Every detection is kept, tracked or not, so
counts do not depend on the tracker.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from disaster_ops.detect.records import Detections

UNTRACKED = -1
MIN_MAPPING_IOU = 0.1


class PersonTracker:
    """ByteTrack over person detections sampled at ``fps`` frames per second.

    Args:
        fps: sampling rate of the frames given to :meth:`update`, frames/s.
        lost_s: a track unseen this long is ended, s.
        activation_confidence: detections below this never start a track (0..1).
        min_iou: a detection continues a track only when their boxes overlap at least this
            much (intersection over union, 0..1); lower for sparse frames (drones, where a
            walking person moves most of a box width between sampled frames).
    """

    def __init__(self, *, fps: float, lost_s: float = 3.0, activation_confidence: float = 0.3,
                 min_iou: float = 0.2) -> None:
        import supervision as sv

        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        rate = max(1, round(fps))
        # supervision keeps a lost track for frame_rate / 30 * buffer frames
        self._tracker = sv.ByteTrack(
            track_activation_threshold=activation_confidence, lost_track_buffer=max(1, round(lost_s * 30)),
            minimum_matching_threshold=1.0 - min_iou, frame_rate=rate, minimum_consecutive_frames=1)

    def update(self, persons: Detections) -> Detections:
        """``persons`` with ``data["track_id"]`` (int, -1 = untracked)."""
        n = len(persons)
        tensors = np.hstack([persons.xyxy.astype(np.float32).reshape(-1, 4), persons.confidence.reshape(-1, 1)])
        tracks = self._tracker.update_with_tensors(tensors=tensors)
        ids = np.full(n, UNTRACKED, dtype=np.int64)
        if n and tracks:
            # Every returned track was matched to a detection of this frame, but its box is the
            # Kalman estimate, which lags a person who is falling: supervision's own mapping
            # (IoU >= 0.5) then drops them, so match with a looser IoU here.
            boxes = np.array([t.tlbr for t in tracks], np.float32)
            iou = iou_matrix(persons.xyxy, boxes)
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= MIN_MAPPING_IOU:
                    ids[r] = int(tracks[c].external_track_id)
        return persons.with_data(track_id=ids)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (n, 4) with every box of ``b`` (m, 4), xyxy."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
