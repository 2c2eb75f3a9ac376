"""``disaster-ops export``: incidents as GeoJSON, CAP 1.2 or Cursor-on-Target, optionally
for one agency (filtered by its sharing rule). Every export is audited."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import typer

from disaster_ops.cli._common import app, fail, local_admin, service_errors


class ExportFormat(str, Enum):
    geojson = "geojson"
    cap = "cap"
    cot = "cot"


@app.command("export")
def export(
    fmt: ExportFormat = typer.Option(ExportFormat.geojson, "--format", "-f", help="geojson, cap (CAP 1.2) or cot."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout (cap: a directory of "
                                    "messages plus index.atom)."),
    all_: bool = typer.Option(False, "--all", help="Include resolved and dismissed incidents (geojson, cot)."),
    agency: str | None = typer.Option(None, "--agency", help="Only what this agency's sharing rule admits."),
    public_url: str | None = typer.Option(None, "--public-url", help="The GIS feed (share gis) as receivers "
                                          "reach it: CAP <resource> and CoT <link> then point to its "
                                          "snapshots, faces blurred (cap, cot). "
                                          "Example: --public-url https://gis.example.go.kr"),
) -> None:
    """Export incidents for GIS, public alerting (CAP) or TAK (CoT).

    Example: disaster-ops export --format cap --out incidents.xml"""
    from disaster_ops.services import share_export
    from disaster_ops.services.agencies import get_agency
    from disaster_ops.storage.migrate import ensure_schema

    if public_url is not None and not re.fullmatch(r"https?://[^\s<>\"&]+", public_url):
        fail(f"--public-url: not an http(s) URL: {public_url!r}")
    ensure_schema()
    principal = local_admin("export")
    try:
        with service_errors():
            if agency is not None:
                get_agency(agency)
            if fmt is ExportFormat.geojson:
                res = share_export.export_geojson(principal=principal, agency=agency, open_only=not all_)
            elif fmt is ExportFormat.cot:
                res = share_export.export_cot(principal=principal, agency=agency, open_only=not all_,
                                              public_url=public_url)
            else:
                if out is not None and out.exists() and not out.is_dir():
                    fail(f"{out}: --format cap writes a directory (one file per CAP message), not a file")
                from disaster_ops.services.cap_ledger import CapSettings

                res = share_export.export_cap(principal=principal, agency=agency, out_dir=out,
                                              settings=CapSettings(public_url=public_url))
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror or exc}")
    if fmt is ExportFormat.cap and out is not None:
        typer.echo(f"wrote {res.count} CAP message(s) and index.atom to {out}", err=True)
        return
    if out is None:
        typer.echo(res.data.decode("utf-8"))
        return
    try:
        out.write_bytes(res.data + b"\n")
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror or exc}")
    typer.echo(f"wrote {res.count} incident(s) to {out}", err=True)
