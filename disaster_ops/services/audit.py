"""Audit trail: who did what, when. Every state-changing service call records one event."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from disaster_ops.services.roles import Principal
from disaster_ops.storage.models import AuditEvent


def record(session: Session, *, principal: Principal, action: str, object_type: str = "",
           object_id: str | int | None = None,
           details: dict[str, Any] | None = None) -> AuditEvent:
    """Add an audit event to the session (committed with the caller's transaction)."""
    ev = AuditEvent(
        actor=principal.name, role=principal.role.value, action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details_json=json.dumps(details, ensure_ascii=False, default=str) if details else None,
    )
    session.add(ev)
    return ev


def recent(session: Session, *, limit: int = 100, action: str | None = None) -> list[AuditEvent]:
    """Newest events first."""
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        q = q.where(AuditEvent.action == action)
    return list(session.exec(q))


def list_events(*, principal: Principal, limit: int = 100, action: str | None = None,
                actor: str | None = None, engine=None) -> list[AuditEvent]:
    """The audit trail for someone allowed to read it (managers and administrators), newest first."""
    from disaster_ops.services.roles import Action, require
    from disaster_ops.storage.db import get_engine

    require(principal, Action.VIEW_AUDIT)
    with Session(engine or get_engine()) as s:
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if action:
            q = q.where(AuditEvent.action == action)
        if actor:
            q = q.where(AuditEvent.actor == actor)
        return list(s.exec(q))
