"""``disaster-ops export``: incidents as GeoJSON, CAP 1.2 or Cursor-on-Target."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from disaster_ops.cli._common import app, fail


class ExportFormat(str, Enum):
    geojson = "geojson"
    cap = "cap"
    cot = "cot"


@app.command("export")
def export(
    fmt: ExportFormat = typer.Option(ExportFormat.geojson, "--format", "-f", help="geojson, cap (CAP 1.2) or cot."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
    all_: bool = typer.Option(False, "--all", help="Include resolved and dismissed incidents."),
) -> None:
    """Export incidents for GIS, public alerting (CAP) or TAK (CoT)."""
    from disaster_ops.exports import incidents_cap, incidents_cot, incidents_geojson
    from disaster_ops.services.incidents import list_incidents
    from disaster_ops.storage.migrate import ensure_schema

    ensure_schema()
    incs = list_incidents(open_only=not all_)
    if fmt is ExportFormat.geojson:
        text = json.dumps(incidents_geojson(incs), ensure_ascii=False, indent=1)
    elif fmt is ExportFormat.cap:
        text = incidents_cap(incs)
    else:
        text = incidents_cot(incs)
    if out is None:
        typer.echo(text)
        return
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror or exc}")
    typer.echo(f"wrote {len(incs)} incident(s) to {out}", err=True)
