"""N-of-M confirmation per place on the ground, for a moving camera.

The CCTV confirmation (``detect.confirm``) votes per kind: "fire in 3 of the last 5
frames". For a fixed camera that is also per place. For a drone it is not: once a real
fire holds the kind's vote, a one-frame false box elsewhere in the view rides on it and
is reported as a second fire. Here a ground detection counts as confirmed only when the
same kind was seen within ``radius_m`` (or the two detections' own uncertainties) of the
same ground point in at least ``required`` of the last ``window`` sampled frames, this
frame included.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from geo.crs import LocalFrame


@dataclass(frozen=True)
class PlacedSighting:
    kind: str
    lat: float
    lon: float
    uncertainty_m: float = 0.0


class PlaceConfirmer:
    """Votes per (kind, ground place) over the last ``window`` sampled frames."""

    def __init__(self, *, required: int = 3, window: int = 5, radius_m: float = 10.0) -> None:
        if not 1 <= required <= window:
            raise ValueError(f"need 1 <= required <= window, got {required} of {window}")
        if not radius_m > 0:
            raise ValueError(f"radius_m must be > 0, got {radius_m}")
        self.required, self.radius_m = required, radius_m
        self._frames: deque[tuple[PlacedSighting, ...]] = deque(maxlen=window)

    def _near(self, a: PlacedSighting, b: PlacedSighting) -> bool:
        if a.kind != b.kind:
            return False
        e, n = LocalFrame.tangent(float(a.lat), float(a.lon)).to_xy_m(b.lat, b.lon)
        return math.hypot(float(e), float(n)) <= max(self.radius_m, a.uncertainty_m + b.uncertainty_m)

    def update(self, sightings: list[PlacedSighting]) -> list[bool]:
        """Record one sampled frame (possibly empty); per sighting, whether its place is confirmed."""
        self._frames.append(tuple(sightings))
        return [sum(any(self._near(s, o) for o in frame) for frame in self._frames) >= self.required
                for s in sightings]
