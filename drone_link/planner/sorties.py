"""Splitting a survey path into sorties that fit the battery, each returning home with reserve.

Greedy along the path: a sortie takes waypoints while climb + flight out +
survey so far + (routed) flight home + descent fits the usable endurance; the
last segment is cut at the furthest point that still fits (bisection), and the
next sortie resumes there with the camera in the same state.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from drone_link.planner.errors import PlanningError
from drone_link.planner.path import Action, CameraOff, CameraOn, Waypoint
from drone_link.planner.spec import FlightModel


def split_sorties(survey: list[Action], *, home_time_s: Callable[[Waypoint], float],
                  model: FlightModel, usable_s: float, alt_m: float,
                  trigger_m: float) -> list[list[Action]]:
    """Cut ``survey`` (starting with a waypoint) into pieces that each fit ``usable_s``.

    ``home_time_s(p)`` is the flight time between ``p`` and home (routed, with
    its turns); it counts once to get there and once to come back.
    """
    v = model.speed_m_s
    fixed = model.vertical_s(alt_m)
    pieces: list[list[Action]] = []
    start = next(a for a in survey if isinstance(a, Waypoint))

    def opening(p: Waypoint) -> float:
        return fixed + home_time_s(p)

    cur: list[Action] = [start]
    used = opening(start)
    if used + home_time_s(start) > usable_s:
        raise PlanningError(
            f"endurance too short: reaching the zone and back takes "
            f"{used + home_time_s(start):.0f} s, usable is {usable_s:.0f} s")
    cam_on = False
    prev = start
    progressed = False
    for a in survey[survey.index(start) + 1:]:
        if isinstance(a, CameraOn):
            cam_on = True
            cur.append(a)
            continue
        if isinstance(a, CameraOff):
            cam_on = False
            cur.append(a)
            continue
        while True:
            seg = math.hypot(a.x_m - prev.x_m, a.y_m - prev.y_m)
            t_full = used + seg / v + model.turn_cost_s
            if t_full + home_time_s(a) <= usable_s:
                cur.append(a)
                used, prev, progressed = t_full, a, True
                break
            lo, hi = 0.0, 1.0
            for _ in range(14):
                mid = (lo + hi) / 2
                p = _lerp(prev, a, mid)
                if used + mid * seg / v + model.turn_cost_s + home_time_s(p) <= usable_s:
                    lo = mid
                else:
                    hi = mid
            if lo * seg < 1.0 and not progressed:
                raise PlanningError(
                    f"endurance too short: from ({prev.x_m:.0f}, {prev.y_m:.0f}) m (local frame) "
                    f"a sortie cannot fly further and return home within {usable_s:.0f} s usable; "
                    "move home closer, split the zone or use a bigger battery")
            cut = _lerp(prev, a, lo) if lo * seg >= 1.0 else prev
            if cut is not prev:
                cur.append(cut)
            if cam_on:
                cur.append(CameraOff())
            pieces.append(cur)
            cur = [cut] + ([CameraOn(trigger_m)] if cam_on else [])
            used, prev, progressed = opening(cut), cut, False
    pieces.append(cur)
    return [p for p in pieces if sum(isinstance(a, Waypoint) for a in p) > 1 or len(pieces) == 1]


def _lerp(a: Waypoint, b: Waypoint, u: float) -> Waypoint:
    return Waypoint(a.x_m + (b.x_m - a.x_m) * u, a.y_m + (b.y_m - a.y_m) * u)
