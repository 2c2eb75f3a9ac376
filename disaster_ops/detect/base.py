"""The detector interface and the plugin registry.

Every backend subclasses :class:`Detector`, declares a ``type`` key and registers
itself with :func:`register_detector`; :func:`create_detector` builds one from a
:class:`DetectorConfig` (as Frigate's detector plugins do).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import numpy as np

from disaster_ops.detect.config import CameraDetectConfig, DetectorConfig
from disaster_ops.detect.errors import ConfigError
from disaster_ops.detect.records import Detections


class Detector(abc.ABC):
    """Takes BGR frames (numpy ``(h, w, 3)`` uint8), returns one ``Detections`` each."""

    type: str = ""
    kinds: tuple[str, ...] = ()

    @abc.abstractmethod
    def detect_batch(
        self, frames: Sequence[np.ndarray], configs: Sequence[CameraDetectConfig] | None = None
    ) -> list[Detections]:
        """Detect in several frames at once (e.g. one from each of many cameras).

        ``configs`` gives each frame's camera settings (kinds, thresholds, ROI,
        exclusions); None uses the defaults.
        """

    def detect(self, frame: np.ndarray, config: CameraDetectConfig | None = None) -> Detections:
        """Detect in one frame."""
        return self.detect_batch([frame], [config] if config is not None else None)[0]

    @staticmethod
    def prepare_batch(frames: Sequence[np.ndarray], configs: Sequence[CameraDetectConfig] | None
                      ) -> tuple[list[np.ndarray], list[CameraDetectConfig]]:
        """Frames as 3-channel BGR uint8 and one config per frame (defaults when None)."""
        from disaster_ops.detect.frames import to_bgr

        bgr = [to_bgr(f) for f in frames]
        return bgr, (list(configs) if configs is not None else [CameraDetectConfig()] * len(bgr))

    def default_thresholds(self) -> dict[str, float]:
        """Per-kind confidence thresholds used when a camera sets none."""
        return {k: 0.5 for k in self.kinds}


_REGISTRY: dict[str, Callable[[DetectorConfig], Detector]] = {}


def register_detector(type_key: str) -> Callable[[type[Detector]], type[Detector]]:
    """Class decorator: make a backend available under ``type_key``."""

    def deco(cls: type[Detector]) -> type[Detector]:
        if type_key in _REGISTRY:
            raise ConfigError(f"detector type {type_key!r} registered twice")
        cls.type = type_key
        _REGISTRY[type_key] = cls  # type: ignore[assignment]
        return cls

    return deco


def registered_types() -> list[str]:
    return sorted(_REGISTRY)


def create_detector(config: DetectorConfig | None = None, *, threads: int | None = None) -> Detector:
    """Build the detector a config names (default: the shipped HazardNet); ``threads``
    caps its inference threads (several camera workers share one node's cores)."""
    from disaster_ops.detect import backends  # noqa: F401  (registers the built-in types)

    config = config or DetectorConfig()
    try:
        factory = _REGISTRY[config.type]
    except KeyError:
        raise ConfigError(f"unknown detector type {config.type!r}; known: {', '.join(registered_types())}") from None
    return factory(config, threads=threads) if threads else factory(config)
