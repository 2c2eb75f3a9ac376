"""The CAP ledger: which CAP message was issued for each incident, so updates chain.

``sync`` looks at every open incident (and every incident alerted but not yet cancelled)
and issues the next message when what it would say has changed:

- first sight of an open incident: ``Alert`` (seq 1);
- its kind, status, severity or area changed: ``Update`` referencing all earlier messages;
- resolved or dismissed after an alert: ``Cancel`` referencing all earlier messages; then
  nothing more for that incident.

Messages are stored (``cap_message``) exactly as sent, so feeds and exports re-serve the
same bytes and ``<references>`` always match what aggregators hold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.exports.cap import CapRef, MsgType, cap_alert, identifier, now_s
from disaster_ops.services.evidence import snapshot_url
from disaster_ops.share.scope import AgencyScope
from disaster_ops.share.views import IncidentShare, fingerprint, load_incidents
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import CapMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CapSettings:
    sender: str = "disaster-ops@localhost"
    id_prefix: str = "disaster-ops"
    expires_after_s: float = 3600.0
    public_url: str | None = None  # the GIS feed's address as agencies reach it: CAP <resource> links


@dataclass(frozen=True)
class IssuedCap:
    incident_id: int
    seq: int
    identifier: str
    sent: datetime
    msg_type: str
    xml: bytes


def _what_it_says(inc: IncidentShare) -> str:
    st = inc.state()
    return fingerprint({k: st[k] for k in ("kind", "kinds", "status", "severity", "area")})


def _issued(m: CapMessage) -> IssuedCap:
    return IssuedCap(m.incident_id, m.seq, m.identifier, m.sent, m.msg_type, m.xml.encode("utf-8"))


def sync(*, engine: Engine | None = None, settings: CapSettings | None = None,
         now: datetime | None = None) -> list[IssuedCap]:
    """Issue the CAP messages that incident changes call for; returns the new ones.

    Two processes syncing at once (``share run`` and an ``export``) may both try the next
    message of an incident: the unique identifier lets one win, the other reads again."""
    for attempt in range(3):
        try:
            return _sync(engine=engine, settings=settings, now=now)
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
            logger.info("cap: another process issued the same message; reading the ledger again")
    return []


def _sync(*, engine: Engine | None, settings: CapSettings | None, now: datetime | None) -> list[IssuedCap]:
    cfg = settings or CapSettings()
    sent = (now or now_s()).replace(microsecond=0)
    issued: list[IssuedCap] = []
    with session_scope(engine or get_engine()) as s:
        live = s.exec(select(CapMessage.incident_id).group_by(CapMessage.incident_id)
                      .having(sa.func.sum(sa.case((CapMessage.msg_type == MsgType.CANCEL, 1), else_=0)) == 0))
        live_ids = list(live)
        incidents = load_incidents(s, open_only=True, also_ids=live_ids)
        chains: dict[int, list[CapMessage]] = {}
        for m in s.exec(select(CapMessage).where(CapMessage.incident_id.in_([i.id for i in incidents]))
                        .order_by(CapMessage.incident_id, CapMessage.seq)):
            chains.setdefault(m.incident_id, []).append(m)
        for inc in incidents:
            chain = chains.get(inc.id, [])
            if chain and chain[-1].msg_type == MsgType.CANCEL:
                continue
            fp = _what_it_says(inc)
            if not chain:
                if not inc.is_open:
                    continue
                msg_type = MsgType.ALERT
            elif not inc.is_open:
                msg_type = MsgType.CANCEL
            elif chain[-1].fingerprint != fp:
                msg_type = MsgType.UPDATE
            else:
                continue
            seq = (chain[-1].seq + 1) if chain else 1
            # Never two messages of one incident in the same second (references would be ambiguous).
            msg_sent = max(sent, chain[-1].sent + timedelta(seconds=1)) if chain else sent
            refs = [CapRef(cfg.sender, m.identifier, m.sent) for m in chain]
            ident = identifier(cfg.id_prefix, inc.id, seq)
            snap_uri = snapshot_url(cfg.public_url, inc.id) if inc.snapshot_path else None
            xml = cap_alert(inc, msg_type=msg_type, ident=ident, sent=msg_sent, sender=cfg.sender,
                            references=refs, expires_after_s=cfg.expires_after_s, snapshot_uri=snap_uri)
            row = CapMessage(incident_id=inc.id, seq=seq, identifier=ident, sent=msg_sent,
                             msg_type=msg_type, fingerprint=fp, xml=xml.decode("utf-8"))
            s.add(row)
            issued.append(_issued(row))
    if issued:
        logger.info("cap: issued %d message(s)", len(issued))
    return issued


def current(*, engine: Engine | None = None, scope: AgencyScope | None = None,
            cancelled_within_s: float = 24 * 3600.0, now: datetime | None = None) -> list[IssuedCap]:
    """The newest message of every incident in ``scope`` (what a feed shows): alerts and
    updates of incidents still live, and cancels sent within ``cancelled_within_s``."""
    t0 = (now or now_s()) - timedelta(seconds=cancelled_within_s)
    with Session(engine or get_engine()) as s:
        newest = (select(CapMessage.incident_id, sa.func.max(CapMessage.seq).label("mseq"))
                  .group_by(CapMessage.incident_id).subquery())
        rows = list(s.exec(select(CapMessage).join(newest, sa.and_(
            CapMessage.incident_id == newest.c.incident_id, CapMessage.seq == newest.c.mseq))))
        rows = [m for m in rows if m.msg_type != MsgType.CANCEL or m.sent >= t0]
        if scope is not None and rows:
            views = {v.id: v for v in load_incidents(s, only_ids=[m.incident_id for m in rows])}
            rows = [m for m in rows if m.incident_id in views and views[m.incident_id].admitted_by(scope)]
    return [_issued(m) for m in sorted(rows, key=lambda m: m.sent, reverse=True)]


def chain_of(incident_id: int, *, engine: Engine | None = None) -> list[IssuedCap]:
    with Session(engine or get_engine()) as s:
        return [_issued(m) for m in s.exec(select(CapMessage).where(CapMessage.incident_id == incident_id)
                                           .order_by(CapMessage.seq))]
