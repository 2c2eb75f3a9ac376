"""N-of-M confirmation per place on the ground, for a moving camera.

The CCTV confirmation (``detect.confirm``) votes per kind: "fire in 3 of the last 5
frames". For a fixed camera that is also per place. For a drone it is not: once a real
fire holds the kind's vote, a one-frame false box elsewhere in the view rides on it and
is reported as a second fire. Here a ground detection counts as confirmed only when the
same kind was seen within ``radius_m`` (or the two detections' own uncertainties) of the
same ground point in at least ``required`` of the last ``window`` sampled frames that
looked at that point (their ground footprint contains it), this frame included. A frame
that did not look there is no evidence either way: a drone flying survey legs sees a
place for a few frames on each pass.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import shapely

from geo.crs import LocalFrame


@dataclass(frozen=True)
class PlacedSighting:
    kind: str
    lat: float
    lon: float
    uncertainty_m: float = 0.0


class PlaceConfirmer:
    """Votes per (kind, ground place) over the last ``window`` sampled frames."""

    def __init__(self, *, required: int = 3, window: int = 5, radius_m: float = 10.0, memory: int = 200) -> None:
        if not 1 <= required <= window:
            raise ValueError(f"need 1 <= required <= window, got {required} of {window}")
        if not radius_m > 0:
            raise ValueError(f"radius_m must be > 0, got {radius_m}")
        self.required, self.window, self.radius_m = required, window, radius_m
        # (sightings, footprint or None = unknown: counts as looking everywhere)
        self._frames: deque[tuple[tuple[PlacedSighting, ...], shapely.Geometry | None]] = deque(maxlen=memory)

    def _near(self, a: PlacedSighting, b: PlacedSighting) -> bool:
        if a.kind != b.kind:
            return False
        e, n = LocalFrame.tangent(float(a.lat), float(a.lon)).to_xy_m(b.lat, b.lon)
        return math.hypot(float(e), float(n)) <= max(self.radius_m, a.uncertainty_m + b.uncertainty_m)

    def update(self, sightings: list[PlacedSighting], footprint: shapely.Geometry | None = None) -> list[bool]:
        """Record one sampled frame (possibly empty) and the ground it showed (WGS84, lon/lat;
        None = unknown); per sighting, whether its place is confirmed."""
        if footprint is not None and not footprint.is_empty:
            footprint = footprint.buffer(1e-4)  # ~10 m: a point on the edge was looked at
            shapely.prepare(footprint)
        else:
            footprint = None
        self._frames.append((tuple(sightings), footprint))
        out = []
        for s in sightings:
            pt = shapely.Point(s.lon, s.lat)
            looked = [frame for frame, fp in reversed(self._frames)
                      if fp is None or fp.contains(pt)][:self.window]
            out.append(sum(any(self._near(s, o) for o in frame) for frame in looked) >= self.required)
        return out
