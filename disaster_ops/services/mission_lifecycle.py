"""Mission status transitions: one table, checked on every write (compare-and-set).

::

    draft/planned → assigned → uploading → uploaded → active → completed
                                   │           │        ↕
                                   │           │      paused
                                   └───────────┴────────┴──→ aborted (RTL) / failed

A status written by one process can never be overwritten by another that read an
older one: :func:`disaster_ops.services.drones.set_mission_status` updates with
``WHERE status = <the status it checked>``, so an RTL requested (``aborted``) while
a drone worker is uploading makes the worker's later ``uploaded`` fail with
:class:`MissionStatusConflict` instead of erasing the request.
"""

from __future__ import annotations

from disaster_ops.errors import InputError
from disaster_ops.storage.models import MissionStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.PLANNED, S.ASSIGNED, S.ABORTED}),
    S.PLANNED: frozenset({S.ASSIGNED, S.UPLOADING, S.ABORTED}),
    S.ASSIGNED: frozenset({S.ASSIGNED, S.PLANNED, S.UPLOADING, S.ABORTED}),
    S.UPLOADING: frozenset({S.UPLOADED, S.PAUSED, S.ABORTED, S.FAILED}),
    S.UPLOADED: frozenset({S.ACTIVE, S.PAUSED, S.ABORTED, S.FAILED, S.UPLOADING}),
    S.ACTIVE: frozenset({S.PAUSED, S.COMPLETED, S.ABORTED, S.FAILED}),
    S.PAUSED: frozenset({S.ACTIVE, S.ABORTED, S.FAILED, S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.ABORTED: frozenset(),
    S.FAILED: frozenset(),
}
TERMINAL = frozenset(s for s, nxt in ALLOWED.items() if not nxt)
FLYING = frozenset({S.UPLOADING, S.UPLOADED, S.ACTIVE, S.PAUSED})  # a vehicle is involved


class MissionTransitionError(InputError):
    """The table does not allow this change (e.g. a completed mission cannot be paused)."""

    def __init__(self, mission_id: int | None, current: S, new: S) -> None:
        self.mission_id, self.current, self.new = mission_id, current, new
        what = f"mission {mission_id}" if mission_id is not None else "mission"
        super().__init__(f"{what} cannot go from {current.value} to {new.value}")


class MissionStatusConflict(InputError):
    """Someone else changed the status first (compare-and-set lost); re-read and decide."""

    def __init__(self, mission_id: int, expected: frozenset[S] | S, found: S | None) -> None:
        self.mission_id, self.expected, self.found = mission_id, expected, found
        exp = expected.value if isinstance(expected, S) else "/".join(sorted(s.value for s in expected))
        super().__init__(f"mission {mission_id} is {found.value if found else 'gone'}, "
                         f"expected {exp}")


def check_transition(current: S | str, new: S | str, *, mission_id: int | None = None) -> None:
    """Raise :class:`MissionTransitionError` unless ``current → new`` is allowed.
    Writing the same status again (e.g. a progress update) is always allowed."""
    cur, nxt = S(current), S(new)
    if cur is nxt and cur not in TERMINAL:
        return
    if nxt not in ALLOWED[cur]:
        raise MissionTransitionError(mission_id, cur, nxt)
