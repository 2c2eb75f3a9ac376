"""``disaster-ops cameras import|list``: the camera registry."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from disaster_ops.cli._common import app, fail, print_json
from disaster_ops.errors import InputError
from disaster_ops.services import cameras as svc
from disaster_ops.storage.migrate import ensure_schema

cameras_app = typer.Typer(help="Camera registry: import and list fixed CCTV.", no_args_is_help=True)
app.add_typer(cameras_app, name="cameras")
err = Console(stderr=True)


@cameras_app.command("import")
def import_(
    files: list[Path] = typer.Argument(..., help="Registry files: Korean CCTV standard CSV, GeoJSON or plain CSV."),
    strict: bool = typer.Option(False, "--strict", help="Fail (exit 2) on the first bad row; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON report per file."),
    actor: str = typer.Option("cli", "--actor", help="Name recorded in the audit trail."),
) -> None:
    """Import (or update) cameras. Bad rows are skipped and reported with file and row."""
    ensure_schema()
    for f in files:
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} rows"),
                          TimeElapsedColumn(), console=err, transient=True,
                          disable=as_json or not err.is_terminal) as bar:
                task = bar.add_task(f"importing {f.name}", total=None)
                report = svc.import_registry(f, strict=strict, actor=actor,
                                             progress=lambda n, task=task: bar.update(task, completed=n))
        except InputError as exc:
            fail(str(exc))
        if as_json:
            print_json(report.as_dict())
            continue
        for issue in report.skipped[:50]:
            typer.echo(f"skipped {issue}", err=True)
        if len(report.skipped) > 50:
            typer.echo(f"... and {len(report.skipped) - 50} more skipped rows (use --json for all)", err=True)
        typer.echo(
            f"{f}: {report.format} ({report.encoding}), {report.rows_read} rows: "
            f"{report.imported} imported, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.skipped_count} skipped in {report.seconds:.2f} s"
        )


@cameras_app.command("list")
def list_(
    bbox: str | None = typer.Option(None, "--bbox", help="west,south,east,north in degrees."),
    limit: int | None = typer.Option(None, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List cameras, optionally inside a lon/lat box."""
    ensure_schema()
    try:
        box = svc.BBox.parse(bbox) if bbox else None
    except ValueError as exc:
        fail(f"--bbox: {exc}")
    cams = svc.list_cameras(bbox=box, limit=limit)
    if as_json:
        print_json([svc.camera_as_dict(c) for c in cams])
        return
    for c in cams:
        typer.echo(f"{c.id:>7}  {c.lat:.6f} {c.lon:.6f}  hdg {c.heading_deg:5.1f} fov {c.fov_deg:5.1f} "
                   f"rng {c.range_m:5.0f} m  {c.name}")
    typer.echo(f"{len(cams)} cameras", err=True)
