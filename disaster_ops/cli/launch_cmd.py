"""``disaster-ops launch-point``: where a drone takes off when it reports no live position."""

from __future__ import annotations

import typer

from disaster_ops.cli._common import (
    AS_OPTION_HELP,
    LOCAL_ADMIN_HELP,
    app,
    fail,
    operator_principal,
    service_errors,
)
from disaster_ops.services import planning
from disaster_ops.storage.migrate import ensure_schema


@app.command("launch-point")
def launch_point(
    drone: str = typer.Argument(..., help="Registered drone name."),
    latlon: str | None = typer.Argument(None, help="LAT,LON in degrees; omit with --clear."),
    clear: bool = typer.Option(False, "--clear", help="Forget the recorded launch point."),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
) -> None:
    """Record the drone's home (launch point) used when planning without a live position.

    Example: disaster-ops launch-point sim-1 35.1028,129.0327 --as park.manager"""
    ensure_schema()
    if clear == (latlon is not None):
        fail("give LAT,LON or --clear")
    pos = None
    if latlon is not None:
        try:
            lat, lon = (float(v) for v in latlon.split(","))
        except ValueError:
            fail(f"LAT,LON: expected two numbers, got {latlon!r}")
        pos = (lat, lon)
    with service_errors():
        planning.set_drone_home(drone, pos, principal=operator_principal(as_user, local))
    typer.echo(f"{drone}: launch point {'cleared' if pos is None else f'{pos[0]:.6f},{pos[1]:.6f}'}")
