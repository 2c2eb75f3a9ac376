"""Incident status transitions and the deadlines that move quiet incidents on.

new → confirmed → responding → resolved, or dismissed; any open incident except a
responding one turns ``stale`` when no detection arrives for ``stale_after_s`` and is
resolved automatically after ``resolve_after_s`` of quiet (measured from its last
detection). New evidence brings a stale incident back to the status it had. Responding
incidents wait for a person: responders on site decide when it is over.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from disaster_ops.errors import InputError
from disaster_ops.storage.models import IncidentStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.CONFIRMED, S.DISMISSED, S.RESPONDING, S.RESOLVED, S.STALE}),
    S.CONFIRMED: frozenset({S.RESPONDING, S.RESOLVED, S.DISMISSED, S.STALE}),
    S.RESPONDING: frozenset({S.RESOLVED}),
    S.STALE: frozenset({S.NEW, S.CONFIRMED, S.RESPONDING, S.RESOLVED, S.DISMISSED}),
    S.RESOLVED: frozenset({S.CONFIRMED}),  # re-opened when the hazard flares up again
    S.DISMISSED: frozenset({S.CONFIRMED}),
}
OPEN = frozenset({S.NEW, S.CONFIRMED, S.RESPONDING, S.STALE})
# Deadlines: (from status, rule attribute holding the quiet time, to status).
DEADLINES: tuple[tuple[S, str, S], ...] = (
    (S.NEW, "stale_after_s", S.STALE),
    (S.CONFIRMED, "stale_after_s", S.STALE),
    (S.STALE, "resolve_after_s", S.RESOLVED),
)


class IncidentTransitionError(InputError):
    """A status change the life cycle does not allow (like a mission's: a request that does
    not fit the current state; the CLI exits 2 and nothing changes)."""


def check_transition(current: S | str, new: S | str) -> None:
    cur, nxt = S(current), S(new)
    if nxt not in ALLOWED[cur]:
        raise IncidentTransitionError(f"incident cannot go from {cur.value} to {nxt.value}")


def due_transition(status: S | str, last_seen: datetime, now: datetime, rules) -> S | None:
    """The status a quiet incident should have moved to by ``now`` (None: stays)."""
    cur = S(status)
    for frm, attr, to in DEADLINES:
        if cur is frm and now - last_seen >= timedelta(seconds=float(getattr(rules, attr))):
            return to
    return None
