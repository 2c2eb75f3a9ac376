"""Hazard detection: fire, smoke and flood on CCTV and aerial frames.

Stages, in the order a frame meets them: ``frames`` (decode / normalise input),
``motion`` (gate: does the model need to run?), a ``Detector`` backend from the
registry (``base``; ``backends/hazardnet`` is the shipped model), ``postprocess``
(probability maps -> ``Detections``), ``confirm`` (N of M frames), wired together by
``pipeline.MultiCameraRunner``. ``flood_reference`` adds the fixed-camera flood measure
against a dry reference (used by the pipeline for cameras with ``flood.mode='reference'``); ``evaluation`` computes precision / recall / F1 / mAP50.
"""

from disaster_ops.detect.base import Detector, create_detector, register_detector, registered_types
from disaster_ops.detect.config import (
    CameraDetectConfig,
    ConfirmConfig,
    DetectorConfig,
    FloodConfig,
    MotionConfig,
)
from disaster_ops.detect.errors import (
    ConfigError,
    DatasetError,
    DetectError,
    FrameError,
    ModelError,
)
from disaster_ops.detect.records import Detections

__all__ = [
    "CameraDetectConfig",
    "ConfigError",
    "ConfirmConfig",
    "DatasetError",
    "DetectError",
    "Detections",
    "Detector",
    "DetectorConfig",
    "FloodConfig",
    "FrameError",
    "ModelError",
    "MotionConfig",
    "create_detector",
    "register_detector",
    "registered_types",
]
