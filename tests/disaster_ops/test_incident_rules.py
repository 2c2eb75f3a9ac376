"""Incident rules an operator expects: fire+smoke is one incident, quiet incidents go stale
and resolve, severity follows the evidence both ways, a dismissal suppresses re-firing,
and a crash mid-batch keeps what was committed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from disaster_ops.cli import app
from disaster_ops.config import IncidentRules
from disaster_ops.incidents import fusion
from disaster_ops.services import incidents as svc
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.models import Detection, Incident, IncidentStatus
from tests.disaster_ops.test_incidents import T0, det

MANAGER = Principal("kim", Role.MANAGER)
RULES = IncidentRules(stale_after_s=600, resolve_after_s=1800, suppress_after_dismiss_s=1200,
                      severity_window_s=300)


def _incidents(engine) -> list[Incident]:
    with Session(engine) as s:
        return list(s.exec(select(Incident).order_by(Incident.id)))


def test_fire_and_smoke_are_one_incident_with_both_kinds(engine):
    a = svc.ingest([det(kind="smoke", north_m=40)], engine=engine)[0]
    b = svc.ingest([det(kind="fire", minutes=1)], engine=engine)[0]
    assert a.incident_id == b.incident_id
    [inc] = _incidents(engine)
    assert inc.kind == "fire"  # primary kind for exports and the map
    assert inc.kind_list == ["fire", "smoke"]


def test_quiet_incident_goes_stale_then_resolves_and_evidence_revives_stale(engine):
    r = svc.ingest([det()], engine=engine, rules=RULES)[0]
    svc.set_status(r.incident_id, IncidentStatus.CONFIRMED, principal=MANAGER, engine=engine)
    assert svc.sweep(now=T0 + timedelta(minutes=5), engine=engine, rules=RULES) == []
    [ch] = svc.sweep(now=T0 + timedelta(minutes=11), engine=engine, rules=RULES)
    assert (ch.old_status, ch.new_status) == ("confirmed", "stale")
    # a new detection brings it back to confirmed
    svc.ingest([det(minutes=12)], engine=engine, rules=RULES)
    assert _incidents(engine)[0].status == IncidentStatus.CONFIRMED
    # then quiet: stale after 10 min, resolved 30 min after the last detection
    svc.sweep(now=T0 + timedelta(minutes=23), engine=engine, rules=RULES)
    assert _incidents(engine)[0].status == IncidentStatus.STALE
    svc.sweep(now=T0 + timedelta(minutes=43), engine=engine, rules=RULES)
    inc = _incidents(engine)[0]
    assert inc.status == IncidentStatus.RESOLVED
    assert svc.list_incidents(engine=engine) == []  # no longer open


def test_responding_incident_is_never_auto_resolved(engine):
    r = svc.ingest([det()], engine=engine, rules=RULES)[0]
    svc.set_status(r.incident_id, IncidentStatus.RESPONDING, principal=MANAGER, engine=engine)
    svc.sweep(now=T0 + timedelta(hours=5), engine=engine, rules=RULES)
    assert _incidents(engine)[0].status == IncidentStatus.RESPONDING


def test_severity_goes_up_and_down_with_the_evidence(engine):
    for i, src in enumerate(("cam-1", "cam-2", "drone-1")):
        svc.ingest([det(source=src, minutes=i * 0.5, conf=0.9)], engine=engine, rules=RULES)
    high = _incidents(engine)[0].severity
    assert high >= 4
    # ten minutes later only one weak camera still sees it
    svc.ingest([det(source="cam-1", minutes=10, conf=0.4)], engine=engine, rules=RULES)
    low = _incidents(engine)[0].severity
    assert low < high and low == 1
    # and with no evidence at all in the window the sweep keeps it at the floor
    svc.sweep(now=T0 + timedelta(minutes=20), engine=engine, rules=RULES)
    assert _incidents(engine)[0].severity == 1


def test_dismissed_incident_does_not_refire_during_suppression(engine, monkeypatch):
    monkeypatch.setattr(svc, "get_settings", lambda: type("S", (), {"incidents": RULES})())
    r = svc.ingest([det()], engine=engine, rules=RULES)[0]
    svc.set_status(r.incident_id, IncidentStatus.DISMISSED, principal=MANAGER, engine=engine)
    inc = _incidents(engine)[0]
    assert inc.suppressed_until is not None
    dismissed_at = inc.suppressed_until - timedelta(seconds=RULES.suppress_after_dismiss_s)
    # same camera and place, smoke too, a few minutes later: stored, nothing raised
    later = (dismissed_at - T0).total_seconds() / 60 + 3
    res = svc.ingest([det(minutes=later), det(kind="smoke", minutes=later, north_m=30)], engine=engine,
                     rules=RULES)
    assert all(x.suppressed and not x.created and x.incident_id == r.incident_id for x in res)
    assert len(_incidents(engine)) == 1
    assert len(svc.detections_of(r.incident_id, engine=engine)) == 3  # nothing lost
    # after the suppression time a detection raises a new incident again
    after = (dismissed_at - T0).total_seconds() / 60 + RULES.suppress_after_dismiss_s / 60 + 1
    fresh = svc.ingest([det(minutes=after)], engine=engine, rules=RULES)[0]
    assert fresh.created and fresh.incident_id != r.incident_id


def test_crash_mid_batch_keeps_committed_detections(engine, monkeypatch):
    real = fusion.merged_geometry
    calls = {"n": 0}

    def flaky(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real(*a, **kw)

    monkeypatch.setattr(fusion, "merged_geometry", flaky)
    batch = [det(minutes=i, north_m=5 * i) for i in range(4)]
    with pytest.raises(RuntimeError):
        svc.ingest(batch, engine=engine)
    with Session(engine) as s:
        rows = list(s.exec(select(Detection)))
    assert len(rows) == 2  # the first (new incident) and the second (joined); the third failed
    assert all(r.incident_id is not None for r in rows)
    [inc] = _incidents(engine)
    assert inc.last_seen == T0 + timedelta(minutes=1)
    # the watcher's next report (e.g. after a restart) joins the same incident, no duplicate
    monkeypatch.setattr(fusion, "merged_geometry", real)
    again = svc.ingest(batch[2:], engine=engine)
    assert {x.incident_id for x in again} == {inc.id} and len(_incidents(engine)) == 1


def test_incidents_cli_list_show_set_status(engine, data_dir):
    r = svc.ingest([det(), det(kind="smoke", north_m=20)], engine=engine)[0]
    runner = CliRunner()
    out = runner.invoke(app, ["incidents", "list", "--json"])
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.stdout)
    assert row["id"] == r.incident_id and row["kinds"] == ["fire", "smoke"] and row["kind"] == "fire"
    out = runner.invoke(app, ["incidents", "set-status", "--local-admin", str(r.incident_id), "responding", "--note", "crew 3",
                              "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["status"] == "responding"
    out = runner.invoke(app, ["incidents", "show", str(r.incident_id), "--json"])
    shown = json.loads(out.stdout)
    assert shown["status"] == "responding" and len(shown["detections"]) == 2
    bad = runner.invoke(app, ["incidents", "set-status", "--local-admin", str(r.incident_id), "new"])
    assert bad.exit_code == 2 and "cannot go from responding to new" in bad.output
    missing = runner.invoke(app, ["incidents", "show", "999"])
    assert missing.exit_code == 2 and "no incident 999" in missing.output
