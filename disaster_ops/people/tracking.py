"""Multi-object tracking of persons, one tracker per camera: ByteTrack from ``supervision``.

:class:`PersonTracker` takes the person ``Detections`` of successive sampled frames and
returns them with ``data["track_id"]`` (an int, stable while ByteTrack follows the person;
-1 for a detection not (yet) on a track). Every detection is kept, tracked or not, so
counts do not depend on the tracker.
"""

from __future__ import annotations

import numpy as np

from disaster_ops.detect.records import Detections

UNTRACKED = -1


class PersonTracker:
    """ByteTrack over person detections sampled at ``fps`` frames per second.

    Args:
        fps: sampling rate of the frames given to :meth:`update`, frames/s.
        lost_s: a track unseen this long is ended, s.
        activation_confidence: detections below this never start a track (0..1).
    """

    def __init__(self, *, fps: float, lost_s: float = 3.0, activation_confidence: float = 0.3) -> None:
        import supervision as sv

        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        rate = max(1, round(fps))
        # supervision keeps a lost track for frame_rate / 30 * buffer frames
        self._tracker = sv.ByteTrack(
            track_activation_threshold=activation_confidence, lost_track_buffer=max(1, round(lost_s * 30)),
            minimum_matching_threshold=0.8, frame_rate=rate, minimum_consecutive_frames=1)
        self._sv = sv

    def update(self, persons: Detections) -> Detections:
        """``persons`` with ``data["track_id"]`` (int, -1 = untracked)."""
        n = len(persons)
        sv_dets = self._sv.Detections(
            xyxy=persons.xyxy.astype(np.float32).reshape(-1, 4), confidence=persons.confidence,
            class_id=np.zeros(n, int), data={"index": np.arange(n)})
        tracked = self._tracker.update_with_detections(sv_dets)
        ids = np.full(n, UNTRACKED, dtype=np.int64)
        if len(tracked):
            ids[np.asarray(tracked.data["index"], int)] = np.asarray(tracked.tracker_id, int)
        return persons.with_data(track_id=ids)
