"""``disaster-ops airspace``: import and list the no-fly layer every mission avoids."""

from __future__ import annotations

from pathlib import Path

import typer

from disaster_ops.cli._common import (
    AS_OPTION_HELP,
    LOCAL_ADMIN_HELP,
    app,
    fail,
    operator_principal,
    print_json,
    service_errors,
)
from disaster_ops.services import airspace as svc
from disaster_ops.storage.migrate import ensure_schema

airspace_app = typer.Typer(help="Airspace layer: no-fly / restricted zones (GeoJSON or KML).",
                           no_args_is_help=True)
app.add_typer(airspace_app, name="airspace")


@airspace_app.command("import")
def import_(
    files: list[Path] = typer.Argument(..., help="GeoJSON or KML files of no-fly zones (WGS84)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON report per file."),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
) -> None:
    """Import (or update) zones; re-importing a file updates its zones by name.

    Example: disaster-ops airspace import no_fly.geojson --local-admin"""
    ensure_schema()
    me = operator_principal(as_user, local)
    for f in files:
        with service_errors():
            r = svc.import_airspace(f, principal=me)
        if as_json:
            print_json({"source": r.source, "imported": r.imported, "updated": r.updated})
        else:
            typer.echo(f"{f}: {r.imported} zones imported, {r.updated} updated")


@airspace_app.command("list")
def list_(
    bbox: str | None = typer.Option(None, "--bbox", help="west,south,east,north in degrees."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """The stored zones (name, kind, limits, source, bounding box).

    Example: disaster-ops airspace list --bbox 126.9,37.5,127.1,37.6 --json"""
    ensure_schema()
    bounds = None
    if bbox is not None:
        try:
            bounds = tuple(float(v) for v in bbox.split(","))
            if len(bounds) != 4:
                raise ValueError
        except ValueError:
            fail(f"--bbox: expected west,south,east,north, got {bbox!r}")
    zones = svc.list_zones(bounds=bounds)
    rows = [{"id": z.id, "name": z.name, "kind": z.kind, "lower_m": z.lower_m, "upper_m": z.upper_m,
             "source": z.source, "bounds": [round(v, 6) for v in z.polygon.bounds]} for z in zones]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']:>5}  {r['name']}  ({r['kind']}, from {r['source']})  {r['bounds']}")
    typer.echo(f"{len(rows)} zone(s)")
