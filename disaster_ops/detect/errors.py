"""Errors of the detection package: one clear line for users, detail in logs."""

from __future__ import annotations


class DetectError(Exception):
    """Base class of detection errors."""


class FrameError(DetectError):
    """A frame or file that cannot be used as detector input.

    Carries the ``source`` (file name or camera id) and the ``reason`` so the CLI can
    print one JSON error object per bad file and go on with the others.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ModelError(DetectError):
    """Weights missing, unreadable or of an unexpected shape."""


class ConfigError(DetectError):
    """Detector configuration that is well-typed but cannot be used (unknown type...)."""


class DatasetError(DetectError):
    """An evaluation folder whose layout is not one of the supported ones."""
