"""Which worker runs which camera: a pure plan of moves from the current assignment.

Rules: every camera on exactly one live worker; cameras of a worker that is gone go to
the least-loaded live workers; then loads are evened out (at most one camera apart) by
moving as few cameras as possible. Deterministic (sorted keys), so a test or an
operator can predict it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Move:
    camera_key: str
    from_worker: str | None  # None: the camera was not running anywhere (new, or its worker died)
    to_worker: str


def plan_moves(assignment: Mapping[str, str], workers: Sequence[str], cameras: Sequence[str]) -> list[Move]:
    """Moves that bring ``assignment`` (camera -> worker) to a balanced one over ``workers``."""
    if not workers:
        return []
    live = sorted(set(workers))
    load: dict[str, list[str]] = {w: [] for w in live}
    orphans: list[str] = []
    for cam in sorted(set(cameras)):
        w = assignment.get(cam)
        if w in load:
            load[w].append(cam)
        else:
            orphans.append(cam)
    def lightest() -> str:
        return min(live, key=lambda w: (len(load[w]), w))

    def heaviest() -> str:
        return max(live, key=lambda w: (len(load[w]), w))

    for cam in orphans:
        load[lightest()].append(cam)
    while len(load[heaviest()]) - len(load[lightest()]) > 1:
        src, dst = heaviest(), lightest()
        load[dst].append(load[src].pop())
    moves = []
    for w in live:
        for cam in load[w]:
            old = assignment.get(cam)
            if old != w:
                moves.append(Move(cam, old if old in load else None, w))
    return sorted(moves, key=lambda m: m.camera_key)
