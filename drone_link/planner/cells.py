"""Boustrophedon cells: group the legs of consecutive sweep lines into monotone cells.

A cell continues from one line to the next while exactly one leg on each line
overlaps exactly one leg on the other; any split or merge (a concavity, a hole,
a no-fly zone) closes the cells involved and opens new ones. Each cell is then
flown as a lawnmower, in one of four ways (start at the first or last line,
on the left or the right end), chosen later when the cells are ordered.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

# (x_in, x_out, ext_lo, ext_hi) as made by sweep.clip_intervals
Leg = tuple[float, float, float, float]


@dataclass(frozen=True)
class Cell:
    """Legs of one monotone cell in the rotated frame, one per consecutive line: (y, leg)."""

    legs: tuple[tuple[float, Leg], ...]

    def variant(self, k: int) -> list[tuple[float, float]]:
        """Rotated-frame waypoints for variant k (bit 0: reverse line order, bit 1: start right)."""
        legs = list(self.legs[::-1] if k & 1 else self.legs)
        right = bool(k & 2)
        pts: list[tuple[float, float]] = []
        for y, (_, _, lo, hi) in legs:
            if right:
                pts += [(hi, y), (lo, y)]
            else:
                pts += [(lo, y), (hi, y)]
            right = not right
        return pts

    def length_m(self, k: int) -> float:
        pts = self.variant(k)
        return sum(math.dist(a, b) for a, b in itertools.pairwise(pts))


def _overlaps(a: Leg, b: Leg) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def decompose(lines_legs: list[tuple[float, list[Leg]]], *,
              joinable: Callable[[float, Leg, float, Leg], bool] | None = None) -> list[Cell]:
    """Group legs of consecutive lines (given as (y, legs) in sweep order) into cells.

    ``joinable(y_a, leg_a, y_b, leg_b)`` may veto joining two overlapping legs
    (e.g. when the turn between their ends would leave the zone).
    """
    cells: list[list[tuple[float, Leg]]] = []
    open_cells: dict[int, int] = {}  # index of leg on previous line -> cell index
    prev: list[Leg] = []
    prev_y = 0.0
    for y, legs in lines_legs:
        new_open: dict[int, int] = {}
        if not legs:
            open_cells, prev = {}, []
            continue
        down = [[j for j, b in enumerate(legs) if _overlaps(a, b)] for a in prev]
        up = [[i for i, a in enumerate(prev) if _overlaps(a, b)] for b in legs]
        for j, leg in enumerate(legs):
            src = up[j]
            if (len(src) == 1 and len(down[src[0]]) == 1 and src[0] in open_cells
                    and (joinable is None or joinable(prev_y, prev[src[0]], y, leg))):
                ci = open_cells[src[0]]
                cells[ci].append((y, leg))
            else:
                cells.append([(y, leg)])
                ci = len(cells) - 1
            new_open[j] = ci
        open_cells, prev, prev_y = new_open, legs, y
    return [Cell(tuple(c)) for c in cells]
