"""Exceptions of the ``geo`` package.

Users see one clear line (the message names the input and the reason); callers can
catch :class:`GeoError` for everything raised here.
"""

from __future__ import annotations


class GeoError(ValueError):
    """Base class: bad geometric input or an impossible geometric request."""


class InvalidGeometryError(GeoError):
    """A geometry that cannot be used (empty, wrong type, unrepairable)."""


class CalibrationError(GeoError):
    """Control points or camera parameters that do not define a usable projection."""
