"""``disaster-ops retention run``: delete person images past their camera's retention days."""

from __future__ import annotations

from datetime import datetime

import typer

from disaster_ops.cli._common import app, fail, note, print_json, service_errors
from disaster_ops.storage.migrate import ensure_schema

retention_app = typer.Typer(help="Retention of person images (people-incident snapshots, person crops) per "
                            "camera: the registry's 보관일수, else retention.default_days.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def run_(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what is past retention; delete nothing. "
                                 "Example: --dry-run"),
    now: str | None = typer.Option(None, "--now", help="Judge ages as of this UTC time (ISO 8601), for "
                                   "checking a policy ahead. Example: --now 2026-12-31T00:00:00Z"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (counts and the first 200 "
                                 "expired files)."),
) -> None:
    """Delete people-incident snapshots and person crops older than their camera's retention
    days (and their cached blurred copies); audited as the system component `retention`.
    The watcher runs the same every retention.interval_s.

    Example: disaster-ops retention run --dry-run --json"""
    from disaster_ops.services import retention

    at = None
    if now is not None:
        try:
            at = datetime.fromisoformat(now)
        except ValueError:
            fail(f"--now: not an ISO 8601 time: {now!r}")
        if at.tzinfo is None:
            fail(f"--now: give a time zone (e.g. Z for UTC): {now!r}")
    ensure_schema()
    with service_errors():
        rep = retention.run(now=at, dry_run=dry_run)
    if as_json:
        print_json(rep.to_json())
        return
    for it in rep.items:
        typer.echo(f"{it.store:<18} {it.row_id:>8}  {it.camera_key:<24} {it.at:%Y-%m-%d %H:%M:%S}Z  {it.path}")
    total = sum(rep.expired.values())
    verb = "would delete" if dry_run else "deleted"
    note(f"{total} person image(s) past retention; {verb} "
         f"{total if dry_run else rep.files_deleted} file(s)" + (f"; {len(rep.errors)} error(s)" if rep.errors else ""))
    if rep.errors:
        raise typer.Exit(1)
