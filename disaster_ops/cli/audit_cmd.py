"""``disaster-ops audit list``: who did what, when (managers and administrators)."""

from __future__ import annotations

import json

import typer

from disaster_ops.cli._common import (
    AS_OPTION_HELP,
    LOCAL_ADMIN_HELP,
    app,
    note,
    operator_principal,
    print_json,
    service_errors,
)
from disaster_ops.storage.migrate import ensure_schema

audit_app = typer.Typer(help="The audit trail of every state change (managers and administrators).",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("list")
def list_(
    limit: int = typer.Option(100, "--limit", min=1, max=100_000,
                              help="Newest events to print, a count. Example: --limit 500"),
    action: str | None = typer.Option(None, "--action", help="Only this action, e.g. mission.status, "
                                      "incident.status, incident.ack, users.add. Example: --action incident.ack"),
    actor: str | None = typer.Option(None, "--actor", help="Only events of this user or process. "
                                     "Example: --actor kim.pilot"),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List audit events, newest first, as the dashboard's Audit page.

    Example: disaster-ops audit list --action mission.status --as park.manager --json"""
    from disaster_ops.services import audit

    ensure_schema()
    me = operator_principal(as_user, local)
    with service_errors():
        events = audit.list_events(principal=me, limit=limit, action=action, actor=actor)
    if as_json:
        print_json([{**e.model_dump(mode="json", exclude={"details_json"}),
                     "details": json.loads(e.details_json) if e.details_json else None} for e in events])
        return
    for e in events:
        typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.actor:<20} {e.role or '-':<10} {e.action:<24} "
                   f"{e.object_type}:{e.object_id or '-'}  {e.details_json or ''}")
    note(f"{len(events)} events")
