"""Drop-in backend for any ultralytics YOLO detector an agency brings.

``DetectorConfig(type="ultralytics", weights="my_fire.pt", class_map={"Fire": "fire",
"smoke": "smoke"})``. Classes not in ``class_map`` (after lower-casing, names that are
already a known kind map to themselves) are ignored. Runs in PyTorch; it is also the
"plain ultralytics at 640 px" baseline of ``benchmarks/detect.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from disaster_ops.detect.base import Detector, register_detector
from disaster_ops.detect.config import KNOWN_KINDS, CameraDetectConfig, DetectorConfig
from disaster_ops.detect.errors import ModelError
from disaster_ops.detect.masks import filter_by_mask, valid_mask
from disaster_ops.detect.records import Detections

logger = logging.getLogger(__name__)

DEFAULT_CONF = 0.25  # ultralytics' own default confidence


@register_detector("ultralytics")
class UltralyticsDetector(Detector):
    """Wraps ``ultralytics.YOLO``; boxes become ``Detections`` with mapped kinds."""

    def __init__(self, config: DetectorConfig) -> None:
        if not config.weights:
            raise ModelError("the ultralytics detector needs detector.weights (a .pt or .onnx file)")
        path = Path(config.weights)
        if not path.is_file():
            raise ModelError(f"ultralytics weights not found: {path}")
        from ultralytics import YOLO

        try:
            self.model = YOLO(str(path), task="detect")
        except Exception as exc:
            raise ModelError(f"cannot load ultralytics weights {path}: {exc}") from exc
        self.imgsz = config.input_size_px or 640
        names = self.model.names if isinstance(self.model.names, dict) else dict(enumerate(self.model.names))
        mapping = {k.lower(): v for k, v in config.class_map.items()}
        self.class_kind: dict[int, str] = {}
        for cid, name in names.items():
            kind = mapping.get(str(name).lower()) or (str(name).lower() if str(name).lower() in KNOWN_KINDS else None)
            if kind:
                self.class_kind[int(cid)] = kind
        if not self.class_kind:
            raise ModelError(f"no class of {path.name} ({list(names.values())}) maps to a hazard kind; set class_map")
        self.kinds = tuple(sorted(set(self.class_kind.values())))

    def default_thresholds(self) -> dict[str, float]:
        return {k: DEFAULT_CONF for k in self.kinds}

    def detect_batch(
        self, frames: Sequence[np.ndarray], configs: Sequence[CameraDetectConfig] | None = None
    ) -> list[Detections]:
        if not len(frames):
            return []
        frames, configs = self.prepare_batch(frames, configs)
        results = self.model.predict(list(frames), imgsz=self.imgsz, conf=0.05, verbose=False)
        out = []
        for frame, res, cfg in zip(frames, results, configs):
            boxes = res.boxes
            cls = boxes.cls.cpu().numpy().astype(int)
            conf = boxes.conf.cpu().numpy()
            xyxy = boxes.xyxy.cpu().numpy()
            kinds = np.array([self.class_kind.get(c, "") for c in cls], object)
            thr = np.array([cfg.thresholds.get(k, DEFAULT_CONF) for k in kinds], np.float32)
            keep = (kinds != "") & np.isin(kinds, cfg.kinds) & (conf >= thr)
            area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
            keep &= area >= cfg.min_area_px
            dets = Detections(xyxy[keep], conf[keep], kinds[keep])
            h, w = frame.shape[:2]
            m = valid_mask((w, h), roi=cfg.roi, exclude=cfg.exclude)
            out.append(filter_by_mask(dets, m) if m is not None else dets)
        return out
