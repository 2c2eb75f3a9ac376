"""Incident status transitions: new → confirmed → responding → resolved, or dismissed."""

from __future__ import annotations

from disaster_ops.errors import DisasterOpsError
from disaster_ops.storage.models import IncidentStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.CONFIRMED, S.DISMISSED, S.RESPONDING}),
    S.CONFIRMED: frozenset({S.RESPONDING, S.RESOLVED, S.DISMISSED}),
    S.RESPONDING: frozenset({S.RESOLVED}),
    S.RESOLVED: frozenset({S.CONFIRMED}),  # re-opened when the hazard flares up again
    S.DISMISSED: frozenset({S.CONFIRMED}),
}
OPEN = frozenset({S.NEW, S.CONFIRMED, S.RESPONDING})


class IncidentTransitionError(DisasterOpsError):
    pass


def check_transition(current: S | str, new: S | str) -> None:
    cur, nxt = S(current), S(new)
    if nxt not in ALLOWED[cur]:
        raise IncidentTransitionError(f"incident cannot go from {cur.value} to {nxt.value}")
