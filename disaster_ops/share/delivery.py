"""What each sink has told each agency: new / update / end changes with before and after.

The book of one (sink, agency) is loaded from ``share_delivery`` once, kept in memory, and
the rows of changed objects are written back after a successful push, so a restarted
publisher goes on with ``update``/``end`` (and the right ``before``) instead of ``new``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.share.views import fingerprint
from disaster_ops.storage.db import session_scope
from disaster_ops.storage.models import ShareDelivery, utcnow


class ChangeType(str, Enum):
    NEW = "new"
    UPDATE = "update"
    END = "end"


@dataclass(frozen=True)
class Change:
    key: str
    type: ChangeType
    before: dict | None
    after: dict
    obj: Any = None


@dataclass
class _Entry:
    fingerprint: str
    state: dict
    ended: bool


class DeliveryBook:
    def __init__(self, engine: Engine, sink: str, agency: str):
        self.engine, self.sink, self.agency = engine, sink, agency
        self._book: dict[str, _Entry] = {}
        with Session(engine) as s:
            for r in s.exec(select(ShareDelivery).where(ShareDelivery.sink == sink,
                                                        ShareDelivery.agency == agency)):
                self._book[r.object_key] = _Entry(r.fingerprint, json.loads(r.state_json), r.ended)

    def live_keys(self, prefix: str) -> list[str]:
        return [k for k, e in self._book.items() if k.startswith(prefix) and not e.ended]

    def diff(self, current: dict[str, tuple], *, prefix: str) -> list[Change]:
        """``current``: key -> (state, is_live, obj[, fingerprint]) for the objects in scope
        now (the fingerprint when the caller has it cached). Objects
        the book holds as live under ``prefix`` but missing from ``current`` end (they
        closed, or left the agency's scope)."""
        out: list[Change] = []
        for key, (state, live, obj, *fp_given) in current.items():
            prev = self._book.get(key)
            fp = fp_given[0] if fp_given else fingerprint(state)
            if prev is None or prev.ended:
                if live:
                    out.append(Change(key, ChangeType.NEW, None, state, obj))
            elif not live:
                out.append(Change(key, ChangeType.END, prev.state, state, obj))
            elif prev.fingerprint != fp:
                out.append(Change(key, ChangeType.UPDATE, prev.state, state, obj))
        for key in self.live_keys(prefix):
            if key not in current:
                st = dict(self._book[key].state, open=False, in_scope=False)
                out.append(Change(key, ChangeType.END, self._book[key].state, st, None))
        return out

    def commit(self, changes: list[Change]) -> None:
        """Record that ``changes`` reached the sink."""
        if not changes:
            return
        now = utcnow()
        rows = []
        for c in changes:
            ended = c.type is ChangeType.END
            fp = fingerprint(c.after)
            self._book[c.key] = _Entry(fp, c.after, ended)
            rows.append({"sink": self.sink, "agency": self.agency, "object_key": c.key, "fingerprint": fp,
                         "state_json": json.dumps(c.after, ensure_ascii=False), "ended": ended,
                         "updated_at": now})
        t = ShareDelivery.__table__
        with session_scope(self.engine) as s:  # replace the rows of these keys in one statement each
            keys = [r["object_key"] for r in rows]
            for k in range(0, len(keys), 500):
                s.execute(sa.delete(t).where(t.c.sink == self.sink, t.c.agency == self.agency,
                                             t.c.object_key.in_(keys[k:k + 500])))
            s.execute(sa.insert(t), rows)
