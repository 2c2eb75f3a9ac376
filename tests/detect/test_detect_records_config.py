"""Detections record validation and per-camera config bounds."""

import numpy as np
import pytest
from pydantic import ValidationError

from disaster_ops.detect import CameraDetectConfig, ConfirmConfig, Detections, DetectorConfig
from disaster_ops.detect.masks import filter_by_mask, polygon_mask, valid_mask


def _dets():
    return Detections(
        np.array([[0, 0, 10, 10], [50, 50, 90, 90], [5, 60, 20, 80]], np.float32),
        np.array([0.9, 0.4, 0.7]),
        np.array(["fire", "smoke", "flood"]),
    )


def test_detections_filter_and_json():
    d = _dets()
    assert len(d) == 3
    strong = d[d.confidence > 0.5]
    assert list(strong.kind) == ["fire", "flood"]
    assert strong.kinds() == {"fire", "flood"}
    js = strong.to_json()
    assert js[0] == {"kind": "fire", "confidence": 0.9, "bbox": [0.0, 0.0, 10.0, 10.0]}
    assert Detections.merge([d, Detections.empty()]).xyxy.shape == (3, 4)
    assert d.max_confidence("smoke") == pytest.approx(0.4)
    assert d.max_confidence("nothing") == 0.0


@pytest.mark.parametrize(
    "xyxy, conf, kind, message",
    [
        ([[0, 0, 1, 1]], [0.5, 0.6], ["fire"], "confidence has 2"),
        ([[0, 0, 1, 1]], [1.5], ["fire"], "0..1"),
        ([[0, 0, 1, 1]], [np.nan], ["fire"], "0..1"),
        ([[5, 0, 1, 1]], [0.5], ["fire"], "x2 >= x1"),
        ([[0, 0, 1, 1]], [0.5], ["fire", "smoke"], "kind has 2"),
    ],
)
def test_detections_rejects_bad_arrays(xyxy, conf, kind, message):
    with pytest.raises(ValueError, match=message):
        Detections(np.array(xyxy, np.float32), np.array(conf), np.array(kind))


def test_filter_by_exclusion_mask():
    d = _dets()
    keep = ~polygon_mask([[(40, 40), (100, 40), (100, 100), (40, 100)]], (100, 100))
    out = filter_by_mask(d, keep)
    assert list(out.kind) == ["fire", "flood"]


def test_valid_mask_roi_minus_exclusion_on_grid():
    m = valid_mask((100, 100), roi=[[(0, 0), (100, 0), (100, 50), (0, 50)]], exclude=[[(0, 0), (50, 0), (50, 50), (0, 50)]], grid_wh=(10, 10))
    assert m.shape == (10, 10)
    assert m[:5, 5:].all() and not m[:5, :5].any() and not m[5:].any()
    assert valid_mask((100, 100)) is None


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"kinds": []}, "kinds"),
        ({"kinds": ["fire", "fire"]}, "kinds"),
        ({"thresholds": {"fire": 1.5}}, "thresholds"),
        ({"kinds": ["fire"], "thresholds": {"smoke": 0.5}}, "smoke"),
        ({"roi": [[(0, 0), (1, 1)]]}, "roi"),
        ({"unknown": 1}, "unknown"),
        ({"motion": {"pixel_threshold": 0}}, "pixel_threshold"),
        ({"confirm": {"required": 6, "window": 5}}, "required"),
    ],
)
def test_camera_config_rejects(kwargs, field):
    with pytest.raises(ValidationError, match=field):
        CameraDetectConfig(**kwargs)


def test_detector_config_bounds():
    with pytest.raises(ValidationError, match="multiple of 32"):
        DetectorConfig(input_size_px=300)
    assert ConfirmConfig().required == 3 and ConfirmConfig().window == 5
