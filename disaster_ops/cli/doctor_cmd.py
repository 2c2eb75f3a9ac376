"""``disaster-ops doctor``: check this installation and say what to fix."""

from __future__ import annotations

import pydantic
import typer

from disaster_ops.cli._common import app, fail, print_json, settings_error_line
from disaster_ops.cli.exit_codes import ExitCode


@app.command("doctor")
def doctor(
    timeout_s: float = typer.Option(2.0, "--timeout-s", min=0.1, max=30.0,
                                    help="Longest wait for each network probe (database server, camera "
                                         "stream, drone TCP link, tile server), seconds. Example: --timeout-s 5"),
    max_probes: int = typer.Option(20, "--max-probes", min=1, max=1000,
                                   help="Most cameras (and drones) probed, a count. Example: --max-probes 100"),
    models: bool = typer.Option(True, "--models/--no-models",
                                help="Load the detector model (about a second on a CPU)."),
    as_json: bool = typer.Option(False, "--json", help="Print [{name, status, detail, fix}] as JSON."),
) -> None:
    """Check the database, migrations, detector model, camera streams, drone links, map tiles
    and disk space; one line per check (OK, WARN or FAIL) with what to fix. Changes nothing.
    Exit 0 when no check fails, 1 otherwise.

    Example: disaster-ops doctor --timeout-s 5"""
    from disaster_ops.config import get_settings
    from disaster_ops.services.doctor import CheckStatus, run_checks

    try:
        settings = get_settings()
    except pydantic.ValidationError as exc:
        fail(settings_error_line(exc))
    results = run_checks(settings, timeout_s=timeout_s, max_probes=max_probes, models=models)
    if as_json:
        print_json([r.as_dict() for r in results])
    else:
        for r in results:
            typer.echo(f"{r.status.value:<4}  {r.name:<10} {r.detail}" + (f"  -> {r.fix}" if r.fix else ""))
    if any(r.status is CheckStatus.FAIL for r in results):
        raise typer.Exit(ExitCode.FAILED)
