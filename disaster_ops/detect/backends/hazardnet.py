"""The shipped fire / smoke / flood detector: HazardNet run with ONNX Runtime.

Shipped weights: ``disaster_ops/models/hazardnet_s320.onnx`` (fp32, dynamic batch and
size) with its metadata ``hazardnet_s320.json`` (kinds, thresholds, input size,
training hold-out lists). A HazardNet PyTorch checkpoint (``.pt``, as written by
``training/train_hazardnet.py``) also works: it is exported to ONNX on first use and
cached under ``<data_dir>/models/`` keyed by its hash, so later runs need no torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.config import get_settings
from disaster_ops.detect.backends.onnx_cpu import cpu_session
from disaster_ops.detect.base import Detector, register_detector
from disaster_ops.detect.config import CameraDetectConfig, DetectorConfig
from disaster_ops.detect.errors import ModelError
from disaster_ops.detect.frames import to_bgr
from disaster_ops.detect.masks import valid_mask
from disaster_ops.detect.postprocess import maps_to_detections
from disaster_ops.detect.records import Detections

logger = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_WEIGHTS = MODELS_DIR / "hazardnet_s320.onnx"


def cache_dir() -> Path:
    """Where exported models are cached: ``<data_dir>/models``."""
    return Path(get_settings().data_dir) / "models"


def resolve_weights(weights: str | Path | None) -> Path:
    """Configured path, else settings ``models.fire_smoke``, else the shipped default."""
    if weights is None:
        weights = get_settings().models.fire_smoke
    path = Path(weights) if weights else DEFAULT_WEIGHTS
    if not path.is_absolute() and not path.exists() and (MODELS_DIR / path).exists():
        path = MODELS_DIR / path
    if not path.is_file():
        raise ModelError(f"hazardnet weights not found: {path}")
    return path


@dataclass(frozen=True)
class HazardNetMeta:
    kinds: tuple[str, ...]
    input_size_px: int
    stride_px: int
    thresholds: dict[str, float]
    raw: dict


def read_meta(weights: Path) -> dict:
    """Metadata of ``x.onnx`` (from ``x.json`` beside it) or of a ``.pt`` checkpoint."""
    try:
        if weights.suffix == ".pt":
            import torch

            return torch.load(weights, map_location="cpu", weights_only=False)["meta"]
        return json.loads(weights.with_suffix(".json").read_text())
    except Exception as exc:
        raise ModelError(f"cannot read hazardnet metadata of {weights}: {exc}") from exc


def onnx_for(weights: Path) -> Path:
    """The ONNX file to run: ``weights`` itself, or the cached export of a ``.pt``."""
    if weights.suffix == ".onnx":
        return weights
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    out = cache_dir() / f"{weights.stem}-{digest}.onnx"
    if not out.exists():
        import torch

        from disaster_ops.detect.hazard_net import export_onnx, load_hazard_net

        try:
            net = load_hazard_net(torch.load(weights, map_location="cpu", weights_only=False))
        except Exception as exc:
            raise ModelError(f"cannot load hazardnet checkpoint {weights}: {exc}") from exc
        export_onnx(net, out)
        logger.info("exported %s to %s", weights.name, out)
    return out


@register_detector("hazardnet")
class HazardNetDetector(Detector):
    """Fire, smoke and flood from one small network, batched, via ONNX Runtime."""

    def __init__(self, config: DetectorConfig | None = None, *, threads: int | None = None) -> None:

        config = config or DetectorConfig()
        self.weights = resolve_weights(config.weights)
        raw = read_meta(self.weights)
        size = config.input_size_px or int(raw["input_size_px"])
        onnx_path = onnx_for(self.weights)
        self.meta = HazardNetMeta(tuple(raw["kinds"]), size, int(raw["stride_px"]), dict(raw["thresholds"]), raw)
        self.kinds = self.meta.kinds
        self.session = cpu_session(onnx_path, threads=threads)
        self.onnx_path = onnx_path

    def default_thresholds(self) -> dict[str, float]:
        return dict(self.meta.thresholds)

    def probability_maps(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Per-cell probabilities ``(n, kinds, S/8, S/8)`` for BGR frames of any size."""
        s = self.meta.input_size_px
        batch = np.stack([cv2.resize(to_bgr(f), (s, s), interpolation=cv2.INTER_AREA) for f in frames])
        return self.session.run(None, {"bgr": batch})[0]

    def detect_batch(
        self, frames: Sequence[np.ndarray], configs: Sequence[CameraDetectConfig] | None = None
    ) -> list[Detections]:
        if not len(frames):
            return []
        frames, configs = self.prepare_batch(frames, configs)
        return self.detections_from_maps(frames, self.probability_maps(frames), configs)

    def detections_from_maps(
        self, frames: Sequence[np.ndarray], prob: np.ndarray, configs: Sequence[CameraDetectConfig]
    ) -> list[Detections]:
        """Detections of prepared ``frames`` from their probability maps (one model run serves
        both the maps and the detections, e.g. in evaluation)."""
        out = []
        for f, p, cfg in zip(frames, prob, configs):
            h, w = f.shape[:2]
            thr = {k: cfg.thresholds.get(k, self.meta.thresholds.get(k, 0.5)) for k in cfg.kinds if k in self.kinds}
            cells = valid_mask((w, h), roi=cfg.roi, exclude=cfg.exclude, grid_wh=(p.shape[2], p.shape[1]))
            out.append(
                maps_to_detections(
                    p, self.kinds, thresholds=thr, frame_wh=(w, h), valid_cells=cells, min_area_px=cfg.min_area_px
                )
            )
        return out


@register_detector("hazardnet-torch")
class HazardNetTorchDetector(HazardNetDetector):
    """The same network run in plain PyTorch (ultralytics modules), no export.

    Slower; kept as the same-model baseline of ``benchmarks/detect.py`` and for
    checking an exported ONNX against its checkpoint. Needs a ``.pt`` checkpoint.
    """

    def __init__(self, config: DetectorConfig | None = None, *, threads: int | None = None) -> None:
        import torch

        from disaster_ops.detect.hazard_net import load_hazard_net

        config = config or DetectorConfig()
        weights = resolve_weights(config.weights or DEFAULT_WEIGHTS.with_suffix(".pt"))
        if weights.suffix != ".pt":
            weights = weights.with_suffix(".pt")
        self.weights = weights
        try:
            ckpt = torch.load(weights, map_location="cpu", weights_only=False)
            self.net = load_hazard_net(ckpt)
        except Exception as exc:
            raise ModelError(f"cannot load hazardnet checkpoint {weights}: {exc}") from exc
        raw = ckpt["meta"]
        size = config.input_size_px or int(raw["input_size_px"])
        self.meta = HazardNetMeta(tuple(raw["kinds"]), size, int(raw["stride_px"]), dict(raw["thresholds"]), raw)
        self.kinds = self.meta.kinds
        self._torch = torch
        if threads:
            torch.set_num_threads(threads)

    def probability_maps(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        s = self.meta.input_size_px
        batch = np.stack([cv2.resize(to_bgr(f), (s, s), interpolation=cv2.INTER_AREA) for f in frames])
        with self._torch.inference_mode():
            return self.net(self._torch.from_numpy(batch)).numpy()
