"""``disaster-ops incidents list|show|ack|set-status``: incidents from the command line.

``list`` applies the quiet-time rules first (stale / auto-resolve, severity re-graded), so
what it prints is what the map shows. Status changes act as a named operator: ``--as USER``
(checked against the user table) or ``--local-admin``.
"""

from __future__ import annotations

import json

import typer

from disaster_ops.cli._common import (
    AS_OPTION_HELP,
    LOCAL_ADMIN_HELP,
    app,
    fail,
    note,
    operator_principal,
    print_json,
    service_errors,
)
from disaster_ops.services import incidents as svc
from disaster_ops.storage.migrate import ensure_schema
from disaster_ops.storage.models import Incident, IncidentStatus

incidents_app = typer.Typer(help="Incidents: list, inspect, and move through their life cycle.",
                            no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")

_STATUSES = ", ".join(s.value for s in IncidentStatus)


def incident_as_dict(inc: Incident) -> dict:
    return {
        "id": inc.id, "kind": inc.kind, "kinds": inc.kind_list,
        "status": getattr(inc.status, "value", inc.status), "severity": inc.severity,
        "first_seen": inc.first_seen.isoformat(), "last_seen": inc.last_seen.isoformat(),
        "source_count": inc.source_count, "bbox": [inc.min_lon, inc.min_lat, inc.max_lon, inc.max_lat],
        "geometry": json.loads(inc.geometry_geojson), "acknowledged_by": inc.acknowledged_by,
        "note": inc.note,
        "suppressed_until": inc.suppressed_until.isoformat() if inc.suppressed_until else None,
    }


@incidents_app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Include resolved and dismissed incidents."),
    status: str | None = typer.Option(None, "--status", help=f"Only this status ({_STATUSES})."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List incidents, newest activity first (open ones unless --all or --status).

    Example: disaster-ops incidents list --status confirmed --json"""
    ensure_schema()
    st = None
    if status is not None:
        try:
            st = IncidentStatus(status)
        except ValueError:
            fail(f"--status must be one of {_STATUSES}, got {status!r}")
    svc.sweep()
    rows = svc.list_incidents(open_only=not all_ and st is None, status=st)
    if as_json:
        print_json([incident_as_dict(i) for i in rows])
        return
    for i in rows:
        typer.echo(f"{i.id:>6}  {getattr(i.status, 'value', i.status):<10} sev {i.severity}  "
                   f"{','.join(i.kind_list):<12} {i.last_seen:%Y-%m-%d %H:%M:%S}Z  sources {i.source_count}  "
                   f"({(i.min_lat + i.max_lat) / 2:.5f}, {(i.min_lon + i.max_lon) / 2:.5f})")
    note(f"{len(rows)} incidents")


@incidents_app.command("show")
def show(
    incident_id: int = typer.Argument(..., help="Incident id."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """One incident with its detections.

    Example: disaster-ops incidents show 12 --json"""
    ensure_schema()
    inc = svc.get_incident(incident_id)
    if inc is None:
        fail(f"no incident {incident_id}")
    dets = svc.detections_of(incident_id)
    d = incident_as_dict(inc)
    d["detections"] = [{"id": x.id, "source": f"{getattr(x.source_kind, 'value', x.source_kind)}:{x.source_id}",
                        "kind": x.kind, "confidence": round(x.confidence, 3), "at": x.observed_at.isoformat(),
                        "lat": x.ground_lat, "lon": x.ground_lon, "snapshot": x.snapshot_path} for x in dets]
    if as_json:
        print_json(d)
        return
    typer.echo(f"incident {inc.id}: {','.join(inc.kind_list)} ({d['status']}), severity {inc.severity}, "
               f"{inc.source_count} sources, first {d['first_seen']}, last {d['last_seen']}")
    for x in d["detections"]:
        typer.echo(f"  {x['at']}  {x['source']:<24} {x['kind']:<6} {x['confidence']:.2f}  "
                   f"({x['lat']}, {x['lon']})")


@incidents_app.command("set-status")
def set_status(
    incident_id: int = typer.Argument(..., help="Incident id."),
    status: str = typer.Argument(..., help=f"New status ({_STATUSES})."),
    note: str | None = typer.Option(None, "--note", help="Why (kept with the incident and in the audit trail)."),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the incident as JSON."),
) -> None:
    """Confirm, mark responding, resolve or dismiss an incident (managers and administrators).

    Example: disaster-ops incidents set-status 12 confirmed --note "crew 3 on site" --as park.manager"""
    ensure_schema()
    try:
        new = IncidentStatus(status)
    except ValueError:
        fail(f"status must be one of {_STATUSES}, got {status!r}")
    me = operator_principal(as_user, local)
    with service_errors():
        inc = svc.set_status(incident_id, new, principal=me, note=note)
    if as_json:
        print_json(incident_as_dict(inc))
        return
    typer.echo(f"incident {inc.id}: {getattr(inc.status, 'value', inc.status)}")


@incidents_app.command("ack")
def ack(
    incident_id: int = typer.Argument(..., help="Incident id (see `incidents list`). Example: 12"),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the incident as JSON."),
) -> None:
    """Acknowledge seeing an incident (as the field view's "Acknowledge" button; every role may).

    Example: disaster-ops incidents ack 12 --as kim.responder"""
    ensure_schema()
    me = operator_principal(as_user, local)
    with service_errors():
        inc = svc.acknowledge(incident_id, principal=me)
    if as_json:
        print_json(incident_as_dict(inc))
        return
    typer.echo(f"incident {inc.id}: acknowledged by {inc.acknowledged_by}")
