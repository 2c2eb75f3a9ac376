"""The planner's internal flight path: metric waypoints and camera on/off markers.

A path is a list of :class:`Waypoint`, :class:`CameraOn` and :class:`CameraOff`
in flight order, in the local metric frame (x east, y north). It is turned into
MAVLink items (``build.py``) and into simulated trigger points (``triggers.py``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Waypoint:
    x_m: float
    y_m: float


@dataclass(frozen=True)
class CameraOn:
    """Start distance triggering (``DO_SET_CAM_TRIGG_DIST``), one photo at once."""

    distance_m: float


@dataclass(frozen=True)
class CameraOff:
    """Stop distance triggering (``DO_SET_CAM_TRIGG_DIST`` 0)."""


Action = Waypoint | CameraOn | CameraOff


def waypoints_of(actions: list[Action]) -> list[Waypoint]:
    return [a for a in actions if isinstance(a, Waypoint)]


def path_length_m(points: list[Waypoint]) -> float:
    return sum(math.hypot(b.x_m - a.x_m, b.y_m - a.y_m) for a, b in itertools.pairwise(points))


def turn_count(points: list[Waypoint], *, min_turn_deg: float = 10.0) -> int:
    """Waypoints where the heading changes by more than ``min_turn_deg``."""
    n = 0
    for a, b, c in zip(points, points[1:], points[2:]):
        h1 = math.atan2(b.y_m - a.y_m, b.x_m - a.x_m)
        h2 = math.atan2(c.y_m - b.y_m, c.x_m - b.x_m)
        d = abs((h2 - h1 + math.pi) % (2 * math.pi) - math.pi)
        if math.degrees(d) > min_turn_deg:
            n += 1
    return n


def dedupe(actions: list[Action], *, tol_m: float = 0.01) -> list[Action]:
    """Drop a waypoint equal to the previous waypoint (joins of routed pieces)."""
    out: list[Action] = []
    last: Waypoint | None = None
    for a in actions:
        if isinstance(a, Waypoint):
            if last is not None and math.hypot(a.x_m - last.x_m, a.y_m - last.y_m) <= tol_m:
                continue
            last = a
        out.append(a)
    return out
