"""Irreversible blurring of faces and heads in an image (privacy of snapshots that leave
the centre).

What is blurred (``blur_regions``):

- the **head region of every person box** the person detector finds: the top
  ``head_share`` of the box (1/5 by default), widened by ``margin_share`` on each side;
  this covers heads seen from behind, from above and faces too small for a face detector;
- **faces** found by a face detector, when this OpenCV build has one: OpenCV's Haar
  frontal-face cascade (``cv2.CascadeClassifier`` with the XML from ``cv2.data.haarcascades``
  or Debian's ``opencv-data``). OpenCV 5 dropped ``CascadeClassifier`` from the main
  module, so on an OpenCV 5 install this finder reports itself unavailable and only the
  head regions are blurred (docs/MODELS.md "Face blurring").

Each region is pixelated to blocks of ``block_px`` and then Gaussian-blurred: the
original pixels cannot be recovered from the output (a block keeps only its mean colour).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)

HAAR_FILE = "haarcascade_frontalface_default.xml"
HAAR_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades")


@dataclass(frozen=True)
class BlurSettings:
    head_share: float = 0.2  # top share of a person box that is the head
    margin_share: float = 0.15  # widen each head box by this share of its width / height
    min_head_px: int = 8  # a head region is at least this wide and high
    block_px: int = 8  # pixelation block (at least 1/4 of the region's shorter side is used when larger)
    face_scale: float = 1.1


@dataclass(frozen=True)
class BlurReport:
    """What one anonymisation did (for the audit trail and the benchmarks)."""

    heads: int
    faces: int
    face_detector: str  # "haar" or "none"

    @property
    def regions(self) -> int:
        return self.heads + self.faces


def head_boxes(person_xyxy: np.ndarray, shape_hw: tuple[int, int], settings: BlurSettings = BlurSettings()
               ) -> np.ndarray:
    """``(n, 4)`` int pixel boxes of the head region of each person box, clipped to the image."""
    boxes = np.asarray(person_xyxy, np.float32).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, 4), np.int32)
    h, w = shape_hw
    x1, y1, x2, y2 = boxes.T
    bw, bh = x2 - x1, y2 - y1
    head_h = np.maximum(bh * settings.head_share, settings.min_head_px)
    mx, my = bw * settings.margin_share, head_h * settings.margin_share
    out = np.stack([x1 - mx, y1 - my, x2 + mx, y1 + head_h + my], axis=1)
    # fallen people lie sideways: their head may be at either end; a wide box gets both ends
    lying = bw > 1.3 * bh
    if lying.any():
        side_w = np.maximum(bw * settings.head_share, settings.min_head_px)
        left = np.stack([x1 - mx, y1 - my, x1 + side_w + mx, y2 + my], axis=1)[lying]
        right = np.stack([x2 - side_w - mx, y1 - my, x2 + mx, y2 + my], axis=1)[lying]
        out = np.concatenate([out, left, right])
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
    return np.round(out).astype(np.int32)


class FaceFinder:
    """OpenCV's Haar frontal-face cascade, where this OpenCV build has one; else finds nothing."""

    def __init__(self) -> None:
        self._cascade = None
        self.name = "none"
        if not hasattr(cv2, "CascadeClassifier"):
            return
        dirs = [getattr(getattr(cv2, "data", None), "haarcascades", ""), *HAAR_DIRS]
        for d in dirs:
            p = Path(d) / HAAR_FILE if d else None
            if p is not None and p.is_file():
                c = cv2.CascadeClassifier(str(p))
                if not c.empty():
                    self._cascade, self.name = c, "haar"
                    break

    @property
    def available(self) -> bool:
        return self._cascade is not None

    def find(self, image: np.ndarray, settings: BlurSettings = BlurSettings()) -> np.ndarray:
        if self._cascade is None:
            return np.zeros((0, 4), np.int32)
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        found = self._cascade.detectMultiScale(grey, scaleFactor=settings.face_scale, minNeighbors=3,
                                               minSize=(12, 12))
        if len(found) == 0:
            return np.zeros((0, 4), np.int32)
        f = np.asarray(found, np.int32).reshape(-1, 4)
        return np.stack([f[:, 0], f[:, 1], f[:, 0] + f[:, 2], f[:, 1] + f[:, 3]], axis=1)


def blur_regions(image: np.ndarray, boxes: np.ndarray, settings: BlurSettings = BlurSettings()) -> np.ndarray:
    """A copy of ``image`` with every box pixelated then Gaussian-blurred (irreversible)."""
    out = image.copy()
    h, w = out.shape[:2]
    for x1, y1, x2, y2 in np.asarray(boxes, np.int64).reshape(-1, 4):
        x1, x2 = max(0, int(x1)), min(w, int(x2))
        y1, y2 = max(0, int(y1)), min(h, int(y2))
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        roi = out[y1:y2, x1:x2]
        block = max(settings.block_px, min(x2 - x1, y2 - y1) // 4, 1)
        small = cv2.resize(roi, (max(1, (x2 - x1) // block), max(1, (y2 - y1) // block)),
                           interpolation=cv2.INTER_AREA)
        pix = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
        k = max(3, (block * 2) | 1)
        out[y1:y2, x1:x2] = cv2.GaussianBlur(pix, (k, k), 0)
    return out


class Anonymizer:
    """Finds persons (the person detector) and faces (:class:`FaceFinder`) and blurs their
    heads. ``detector``: anything with ``detect_batch([image]) -> [Detections]`` of persons;
    loaded on first use (the shipped person model) when not given."""

    def __init__(self, detector=None, *, settings: BlurSettings = BlurSettings(),
                 person_threshold: float = 0.15) -> None:
        self._detector = detector
        self.settings = settings
        self.person_threshold = person_threshold
        self.faces = FaceFinder()

    @property
    def detector(self):
        if self._detector is None:
            from disaster_ops.detect import DetectorConfig, create_detector

            self._detector = create_detector(DetectorConfig(type="person"))
        return self._detector

    def regions(self, image: np.ndarray) -> tuple[np.ndarray, BlurReport]:
        from disaster_ops.detect import CameraDetectConfig

        cfg = CameraDetectConfig(kinds=["person"], thresholds={"person": self.person_threshold})
        persons = self.detector.detect_batch([image], [cfg])[0]
        heads = head_boxes(persons.xyxy, image.shape[:2], self.settings)
        faces = self.faces.find(image, self.settings)
        boxes = np.concatenate([heads, faces]) if len(faces) else heads
        return boxes, BlurReport(len(persons), len(faces), self.faces.name)

    def anonymize(self, image: np.ndarray) -> tuple[np.ndarray, BlurReport]:
        boxes, report = self.regions(image)
        return blur_regions(image, boxes, self.settings), report
