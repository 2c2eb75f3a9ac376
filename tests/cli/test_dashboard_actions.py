"""Every dashboard action has a CLI equivalent that calls the same services, with the same
role checks, against the same (real, migrated SQLite) database; every change is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from disaster_ops.cli import app
from disaster_ops.incidents import GroundDetection
from disaster_ops.services.demo import DEMO_HOME, seed_sample_data
from disaster_ops.services.drones import register_drone
from disaster_ops.services.incidents import ingest
from disaster_ops.storage.db import session_scope
from disaster_ops.storage.models import AuditEvent, Incident
from disaster_ops.storage.models import Mission as MissionRow
from drone_link.files import plan_from_dict

PASSWORDS = {"root": "root-password-1", "park": "manager-pass-1", "kim": "pilot-password-1",
             "lee": "responder-pass-1"}


def cli(*args: str, who: str | None = None):
    """One in-process invocation; ``who`` acts with --as and its password in the environment."""
    env = {"DISASTER_OPS_PASSWORD": PASSWORDS[who]} if who else {}
    argv = [*args, "--as", who] if who else list(args)
    return CliRunner().invoke(app, argv, env=env)


@pytest.fixture
def world(engine, tmp_path):
    """Sample cameras, one fire incident, one drone with a home, and four users."""
    seed_sample_data()
    det = GroundDetection(source_kind="cctv", source_id="cam-x", observed_at=datetime.now(UTC), kind="fire",
                          confidence=0.9, bbox_px=(0, 0, 5, 5), ground_lat=35.1050, ground_lon=129.0390)
    incident = ingest([det], engine=engine)[0].incident_id
    with session_scope(engine) as s:
        d = register_drone(s, name="sim-1", connection="udpin:127.0.0.1:14550")
        d.home_lat_deg, d.home_lon_deg = DEMO_HOME
    for name, role in (("park", "manager"), ("kim", "pilot"), ("lee", "responder")):
        pw = tmp_path / f"{name}.pw"
        pw.write_text(PASSWORDS[name] + "\n", encoding="utf-8")
        r = cli("users", "add", name, "--role", role, "--password-file", str(pw), "--local-admin")
        assert r.exit_code == 0, r.output
    return incident


def _audit(engine, action: str) -> list[tuple[str, str | None]]:
    with Session(engine) as s:
        return [(e.actor, e.object_id) for e in s.exec(select(AuditEvent).where(AuditEvent.action == action)
                                                       .order_by(AuditEvent.id))]


def test_incident_actions_follow_the_roles_and_are_audited(engine, world):
    inc = world
    r = cli("incidents", "ack", str(inc), "--json", who="lee")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["acknowledged_by"] == "lee"
    assert ("lee", str(inc)) in _audit(engine, "incident.ack")

    refused = cli("incidents", "set-status", str(inc), "confirmed", who="lee")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == "error: permission denied: lee (responder) may not incident.confirm"
    with Session(engine) as s:
        assert s.get(Incident, inc).status == "new"

    ok = cli("incidents", "set-status", str(inc), "confirmed", "--note", "crew 3", "--json", who="park")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["status"] == "confirmed"
    assert _audit(engine, "incident.status")[-1] == ("park", str(inc))

    listed = json.loads(cli("incidents", "list", "--json").stdout)
    assert [i["id"] for i in listed] == [inc] and listed[0]["status"] == "confirmed"
    assert cli("incidents", "ack", "999", who="lee").exit_code == 2


def test_mission_life_cycle_from_the_command_line(engine, world, tmp_path):
    inc = world
    # Responders may not plan; pilots may (as on the dashboard).
    assert cli("missions", "plan", "--incident", str(inc), "--drone", "sim-1", who="lee").exit_code == 1
    planned = cli("missions", "plan", "--incident", str(inc), "--drone", "sim-1", "--json", who="kim")
    assert planned.exit_code == 0, planned.output
    mid = json.loads(planned.stdout)["mission_ids"][0]
    assert _audit(engine, "mission.plan")[-1][0] == "kim"

    # Dispatch is for managers only: a responder and a pilot are refused, exit 1, nothing changes.
    for who, role in (("lee", "responder"), ("kim", "pilot")):
        r = cli("missions", "dispatch", str(mid), "--drone", "sim-1", who=who)
        assert r.exit_code == 1, r.output
        assert r.stderr.strip() == f"error: mission {mid}: permission denied: {who} ({role}) may not drone.dispatch"
    with Session(engine) as s:
        assert s.get(MissionRow, mid).status == "planned"
    assert cli("missions", "dispatch", str(mid), "--drone", "ghost", who="park").exit_code == 2
    r = cli("missions", "dispatch", str(mid), "--drone", "sim-1", "--json", who="park")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"mission": mid, "status": "assigned"}

    # Pilot releases, pauses, resumes and recalls it; a responder may not.
    assert cli("missions", "fly", str(mid), who="lee").exit_code == 1
    for cmd, status in (("fly", "uploading"), ("pause", "paused"), ("resume", "active"), ("rtl", "aborted")):
        r = cli("missions", cmd, str(mid), "--json", who="kim")
        assert r.exit_code == 0, (cmd, r.output)
        assert json.loads(r.stdout)["status"] == status
    again = cli("missions", "resume", str(mid), who="kim")
    assert again.exit_code == 2 and "is aborted, expected paused" in again.stderr

    # Every state change is in the trail, under the person who made it.
    trail = [(a, who) for a in ("mission.assigned", "mission.uploading", "mission.paused", "mission.active",
                                "mission.aborted") for who, _ in _audit(engine, a)]
    assert trail == [("mission.assigned", "park"), ("mission.uploading", "kim"), ("mission.paused", "kim"),
                     ("mission.active", "kim"), ("mission.aborted", "kim")]

    # Reading: list, show, download (.plan and .waypoints), as the page's buttons.
    shown = json.loads(cli("missions", "show", str(mid), "--json").stdout)
    assert (shown["status"], shown["drone"], shown["incident_id"]) == ("aborted", "sim-1", inc)
    assert mid in [m["id"] for m in json.loads(cli("missions", "list", "--json").stdout)]
    out = tmp_path / "m.plan"
    assert cli("missions", "download", str(mid), "--out", str(out)).exit_code == 0
    assert len(plan_from_dict(json.loads(out.read_text(encoding="utf-8"))).items) > 4
    wp = cli("missions", "download", str(mid), "--format", "waypoints")
    assert wp.exit_code == 0 and wp.stdout.startswith("QGC WPL 110")
    assert cli("missions", "download", "999").exit_code == 2


def test_drones_and_audit_listing(engine, world):
    drones = json.loads(cli("drones", "list", "--json").stdout)
    assert [(d["name"], d["home_lat_deg"], d["link_ok"]) for d in drones] == [("sim-1", DEMO_HOME[0], False)]
    one = cli("drones", "show", "sim-1", "--json")
    assert one.exit_code == 0 and json.loads(one.stdout)["connection"] == "udpin:127.0.0.1:14550"
    missing = cli("drones", "show", "ghost")
    assert missing.exit_code == 2 and missing.stderr.strip() == "error: no drone named 'ghost'"

    assert cli("audit", "list", who="lee").exit_code == 1
    assert cli("audit", "list", who="kim").exit_code == 1
    r = cli("audit", "list", "--action", "user.add", "--json", who="park")
    assert r.exit_code == 0, r.output
    added = [e["details"] for e in json.loads(r.stdout)]
    assert {d.get("name") for d in added} >= {"park", "kim", "lee"}
    wrong = CliRunner().invoke(app, ["audit", "list", "--as", "park"], env={"DISASTER_OPS_PASSWORD": "nope"})
    assert wrong.exit_code == 2 and wrong.stderr.startswith("error: --as park:")
