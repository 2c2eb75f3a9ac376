"""One-shot exports for other systems, filtered by an agency's sharing rule and audited.

The CLI ``disaster-ops export`` calls these; the live publisher uses the same builders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from disaster_ops.exports.atom import atom_feed
from disaster_ops.exports.cot import drone_event, incident_events
from disaster_ops.services import audit, cap_ledger
from disaster_ops.services.agencies import scope_named
from disaster_ops.services.evidence import snapshot_url
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.share.cap_dir import entries, write_cap_directory
from disaster_ops.share.gis import incidents_feature_collection
from disaster_ops.share.scope import AgencyScope
from disaster_ops.share.views import load_drones, load_incidents
from disaster_ops.storage.db import get_engine, session_scope


@dataclass(frozen=True)
class ExportResult:
    data: bytes
    count: int


def _scope(agency: str | None, engine: Engine) -> AgencyScope | None:
    return None if agency is None else scope_named(agency, engine=engine)


def _audit(engine: Engine, principal: Principal, fmt: str, agency: str | None, ids: list[int]) -> None:
    with session_scope(engine) as s:
        audit.record(s, principal=principal, action="share.export", object_type="agency",
                     object_id=agency or "*", details={"format": fmt, "count": len(ids), "incidents": ids[:200]})


def export_geojson(*, principal: Principal, agency: str | None = None, open_only: bool = True,
                   engine: Engine | None = None) -> ExportResult:
    import json

    require(principal, Action.VIEW)
    eng = engine or get_engine()
    scope = _scope(agency, eng)
    with Session(eng) as s:
        incs = [i for i in load_incidents(s, open_only=open_only) if i.admitted_by(scope)]
    fc = incidents_feature_collection(incs, include_media=scope is None or scope.include_media)
    _audit(eng, principal, "geojson", agency, [i.id for i in incs])
    return ExportResult(json.dumps(fc, ensure_ascii=False, indent=1).encode("utf-8"), len(incs))


def export_cot(*, principal: Principal, agency: str | None = None, open_only: bool = True,
               stale_s: float = 300.0, public_url: str | None = None, engine: Engine | None = None) -> ExportResult:
    """A CoT stream: events back to back, one per line (as TAK Server streams them).
    ``public_url``: the GIS feed's address; markers then link to its blurred snapshots."""
    require(principal, Action.VIEW)
    eng = engine or get_engine()
    scope = _scope(agency, eng)
    now = datetime.now(UTC)
    with Session(eng) as s:
        incs = [i for i in load_incidents(s, open_only=open_only) if i.admitted_by(scope)]
        drones = [d for d in load_drones(s) if scope is None or scope.admits_point(d.lat, d.lon)]
    media = scope is None or scope.include_media
    events = [e for i in incs for e in incident_events(
        i, now=now, stale_s=stale_s, snapshot_url=snapshot_url(public_url, i.id) if media else None)]
    events += [drone_event(d, now=now) for d in drones]
    _audit(eng, principal, "cot", agency, [i.id for i in incs])
    return ExportResult(b"\n".join(events), len(incs))


def export_cap(*, principal: Principal, agency: str | None = None, out_dir: Path | None = None,
               settings: cap_ledger.CapSettings | None = None, engine: Engine | None = None) -> ExportResult:
    """Issue what incident changes call for (the ledger chains them), then write the
    current message of every incident in scope: to ``out_dir`` as files + ``index.atom``,
    or (no directory) as one Atom document embedding each alert."""
    require(principal, Action.VIEW)
    eng = engine or get_engine()
    scope = _scope(agency, eng)
    cap_ledger.sync(engine=eng, settings=settings)
    msgs = cap_ledger.current(engine=eng, scope=scope)
    feed_id = f"urn:disaster-ops:cap:{agency or 'all'}"
    if out_dir is not None:
        write_cap_directory(out_dir, msgs, feed_id=feed_id)
        data = b""
    else:
        data = atom_feed(entries(msgs, embed=True), feed_id=feed_id, title="disaster-ops CAP alerts",
                         self_href="index.atom")
    _audit(eng, principal, "cap", agency, [m.incident_id for m in msgs])
    return ExportResult(data, len(msgs))
