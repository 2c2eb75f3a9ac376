"""Ordering survey cells (of one or several zones) to keep transit short.

Each block (a cell) can be flown in a few variants with different entry and
exit points. A nearest-neighbour tour from the start point is improved by 2-opt
on the block order; for each order the best variants are found exactly by a
small dynamic programme. Distances are straight lines (routing around no-fly
zones happens afterwards).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

XY = tuple[float, float]


@dataclass(frozen=True)
class Block:
    """A cell as world-frame waypoint lists, one per variant."""

    variants: tuple[tuple[XY, ...], ...]


def _dp(order: list[int], blocks: list[Block], start: XY | None) -> tuple[float, list[int]]:
    """Best variant per block for a fixed order: (transit length, variants)."""
    first = blocks[order[0]]
    cost = [0.0 if start is None else math.dist(start, v[0]) for v in first.variants]
    back: list[list[int]] = []
    for prev_i, cur_i in itertools.pairwise(order):
        pv, cv = blocks[prev_i].variants, blocks[cur_i].variants
        new, arg = [], []
        for c in cv:
            best, bj = math.inf, 0
            for j, p in enumerate(pv):
                d = cost[j] + math.dist(p[-1], c[0])
                if d < best:
                    best, bj = d, j
            new.append(best)
            arg.append(bj)
        back.append(arg)
        cost = new
    k = min(range(len(cost)), key=cost.__getitem__)
    total = cost[k]
    chosen = [k]
    for arg in reversed(back):
        k = arg[k]
        chosen.append(k)
    chosen.reverse()
    return total, chosen


def order_blocks(blocks: list[Block], *, start: XY | None,
                 time_budget_s: float = 0.05) -> list[tuple[int, int]]:
    """(block index, variant) in flight order: nearest neighbour, then 2-opt within a time budget."""
    if not blocks:
        return []
    remaining = set(range(len(blocks)))
    pos = start
    order: list[int] = []
    while remaining:
        if pos is None:
            i = min(remaining)
        else:
            i = min(remaining, key=lambda b: min(math.dist(pos, v[0]) for v in blocks[b].variants))
        remaining.discard(i)
        order.append(i)
        vbest = min(blocks[i].variants, key=lambda v: 0.0 if pos is None else math.dist(pos, v[0]))
        pos = vbest[-1]
    best_cost, best_var = _dp(order, blocks, start)
    deadline = time.perf_counter() + time_budget_s
    improved = len(order) > 2
    while improved and time.perf_counter() < deadline:
        improved = False
        for i in range(len(order) - 1):
            for j in range(i + 1, len(order)):
                cand = order[:i] + order[i:j + 1][::-1] + order[j + 1:]
                c, v = _dp(cand, blocks, start)
                if c < best_cost - 1e-6:
                    order, best_cost, best_var = cand, c, v
                    improved = True
            if time.perf_counter() > deadline:
                break
    return list(zip(order, best_var))
