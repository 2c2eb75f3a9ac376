"""Terrain following: AMSL altitudes along a metric path that keep the drone above the ground.

The required altitude along the path (sampled every quarter DEM cell) is the target
height above the ground (``alt_agl_m``) over the bilinear ground, and never less
than ``min_clearance_m`` over the highest DEM cell around the sample. A backward
pass (climb early enough: at most ``max_climb_m_s`` at the flight speed) and a
forward pass (descend no faster than ``max_descent_m_s``) give the lowest
altitude envelope that satisfies both rates. The legal ceiling (``max_alt_agl_m``
over the bilinear ground) then clips it: priorities are clearance, then the ceiling,
then the rates. Where the ceiling makes a leg steeper than the rates allow at
cruise speed the autopilot flies it slower (ArduPilot and PX4 keep to the 3D line
and scale the speed to their vertical limits); those legs are counted in
``Profile.steep_legs``. Waypoints are added where a straight climb or descent
between the kept waypoints would cut below the envelope, above the ceiling, or
float more than ``max_excess_m`` above the envelope.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from drone_link.planner.errors import PlanningError
from drone_link.planner.path import Action, Waypoint
from drone_link.planner.terrain import Terrain
from geo.crs import LocalFrame

PAD_M = 1.0  # planned above the minimum clearance, so rounding and re-sampling never dip below it


@dataclass(frozen=True)
class TerrainFollow:
    """How to fly over terrain: target AGL, hard minimum clearance, vertical rate limits."""

    terrain: Terrain
    alt_agl_m: float
    min_clearance_m: float = 30.0
    max_climb_m_s: float = 2.5
    max_descent_m_s: float = 1.5
    max_excess_m: float = 15.0
    sample_m: float | None = None
    max_alt_agl_m: float = 150.0  # legal ceiling over the ground (Korea: 150 m)

    def __post_init__(self) -> None:
        if self.max_alt_agl_m < self.alt_agl_m:
            raise PlanningError(f"alt_agl_m {self.alt_agl_m} is above the {self.max_alt_agl_m} m ceiling")
        if self.min_clearance_m <= 0 or self.alt_agl_m < self.min_clearance_m:
            raise PlanningError(f"alt_agl_m {self.alt_agl_m} must be >= min_clearance_m "
                                f"{self.min_clearance_m} > 0")
        if self.max_climb_m_s <= 0 or self.max_descent_m_s <= 0:
            raise PlanningError("max_climb_m_s and max_descent_m_s must be positive")


@dataclass
class Profile:
    """The path with terrain waypoints added, one AMSL altitude and ground height per waypoint."""

    actions: list[Action]
    alt_amsl_m: list[float]
    ground_amsl_m: list[float]
    min_clearance_m: float  # lowest height over the highest DEM cell, over the whole sampled path
    max_alt_agl_m: float  # highest height over the ground at any sample
    steep_legs: int = 0  # legs steeper than the rate limits at cruise speed (flown slower)

    @property
    def alt_agl_m(self) -> list[float]:
        return [a - g for a, g in zip(self.alt_amsl_m, self.ground_amsl_m)]


def follow_terrain(actions: list[Action], *, frame: LocalFrame, spec: TerrainFollow,
                   speed_m_s: float) -> Profile:
    """AMSL altitudes for every waypoint of ``actions`` (home first and last), adding waypoints."""
    wps = [a for a in actions if isinstance(a, Waypoint)]
    if len(wps) < 2:
        raise PlanningError("terrain following needs a path of at least two waypoints")
    step = spec.sample_m or max(2.0, spec.terrain.cell_m / 4)
    xs, ys, seg_of, s_m = _densify(wps, step)
    lat, lon = frame.to_latlon(xs, ys)
    t = spec.terrain
    ground = t.require(t.ground_amsl_m(lat, lon), lat, lon, "path sample")
    ground_max = t.require(t.ground_max_amsl_m(lat, lon), lat, lon, "path sample")
    # between two samples the DEM cells under the path can change: take the neighbours' extremes
    ground_max = _neighbours(ground_max, np.maximum)
    req = np.maximum(ground + spec.alt_agl_m, ground_max + spec.min_clearance_m + PAD_M)
    climb, descent = spec.max_climb_m_s / speed_m_s, spec.max_descent_m_s / speed_m_s
    # the legal ceiling is over the ground below (bilinear); clearance wins where they conflict
    ceil = np.maximum(ground + spec.max_alt_agl_m - PAD_M, req)
    env = np.minimum(_envelope(req, s_m, climb=climb, descent=descent), ceil)
    # indices of the samples that are original waypoints
    vertex_idx = [int(np.flatnonzero(seg_of == k)[0]) for k in range(len(wps))]
    keep = set(vertex_idx)
    stack = list(itertools.pairwise(vertex_idx))
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        u = (s_m[i + 1:j] - s_m[i]) / (s_m[j] - s_m[i])
        lerp = env[i] + (env[j] - env[i]) * u
        low = env[i + 1:j] - lerp
        high = lerp - np.minimum(env[i + 1:j] + spec.max_excess_m, ceil[i + 1:j])
        worst = np.maximum(low, high)
        k = int(np.argmax(worst))
        if worst[k] > 0.05:
            m = i + 1 + k
            keep.add(m)
            stack.extend([(i, m), (m, j)])
    out_actions, alts, grounds = _rebuild(actions, wps, xs, ys, seg_of, sorted(keep), vertex_idx,
                                          env, ground)
    kept = sorted(keep)
    lerp_all = np.interp(s_m, s_m[kept], env[kept])
    slope = np.diff(env[kept]) / np.maximum(np.diff(s_m[kept]), 1e-9)
    steep = int(np.sum((slope > climb * 1.001) | (slope < -descent * 1.001)))
    return Profile(out_actions, alts, grounds,
                   min_clearance_m=float(np.min(lerp_all - ground_max)),
                   max_alt_agl_m=float(np.max(lerp_all - ground)), steep_legs=steep)


def _neighbours(a: np.ndarray, op) -> np.ndarray:
    """``op`` of each sample and its two neighbours along the path."""
    out = a.copy()
    out[1:] = op(out[1:], a[:-1])
    out[:-1] = op(out[:-1], a[1:])
    return out


def _densify(wps: list[Waypoint], step: float):
    xs, ys, seg, s = [wps[0].x_m], [wps[0].y_m], [0], [0.0]
    for k in range(1, len(wps)):
        a, b = wps[k - 1], wps[k]
        d = math.hypot(b.x_m - a.x_m, b.y_m - a.y_m)
        n = max(1, math.ceil(d / step))
        for i in range(1, n + 1):
            u = i / n
            xs.append(a.x_m + (b.x_m - a.x_m) * u)
            ys.append(a.y_m + (b.y_m - a.y_m) * u)
            seg.append(k if i == n else -1)  # -1: intermediate sample, k: original waypoint k
            s.append(s[-1] + d / n)
    return np.array(xs), np.array(ys), np.array(seg), np.array(s)


def _envelope(req: np.ndarray, s_m: np.ndarray, *, climb: float, descent: float) -> np.ndarray:
    """Lowest altitude >= req with slope <= climb going forward and >= -descent."""
    z = req.astype(float).copy()
    ds = np.diff(s_m)
    for i in range(len(z) - 2, -1, -1):  # must already be high enough to climb to what is ahead
        z[i] = max(z[i], z[i + 1] - climb * ds[i])
    for i in range(1, len(z)):  # cannot drop faster than the descent rate
        z[i] = max(z[i], z[i - 1] - descent * ds[i - 1])
    return z


def _rebuild(actions, wps, xs, ys, seg_of, keep, vertex_idx, env, ground):
    """Actions with the added waypoints in place, and per-waypoint altitude and ground."""
    added: dict[int, list[int]] = {}  # original waypoint k -> added sample indices before it
    vi = vertex_idx
    for m in keep:
        if seg_of[m] >= 0:
            continue
        k = int(np.searchsorted(vi, m))  # next original waypoint
        added.setdefault(k, []).append(m)
    out: list[Action] = []
    alts: list[float] = []
    grounds: list[float] = []
    k = 0
    for a in actions:
        if isinstance(a, Waypoint):
            for m in sorted(added.get(k, [])):
                out.append(Waypoint(float(xs[m]), float(ys[m])))
                alts.append(float(env[m]))
                grounds.append(float(ground[m]))
            out.append(a)
            alts.append(float(env[vi[k]]))
            grounds.append(float(ground[vi[k]]))
            k += 1
        else:
            out.append(a)
    return out, alts, grounds
