"""``disaster-ops drones list|show``: the registered drones and their latest telemetry."""

from __future__ import annotations

import typer

from disaster_ops.cli._common import app, fail, note, print_json
from disaster_ops.storage.migrate import ensure_schema

drones_app = typer.Typer(help="Drones: registration and live state (what the map shows). Drones are "
                              "registered by `fly` or `drone-worker`; their launch point by `launch-point`.",
                         no_args_is_help=True)
app.add_typer(drones_app, name="drones")


def _line(d) -> str:
    pos = f"({d.lat:.6f}, {d.lon:.6f}) alt {d.alt_rel_m or 0:.0f} m" if d.lat is not None else "position unknown"
    batt = f"{d.battery_pct:.0f} %" if d.battery_pct is not None else "?"
    link = "link ok" if d.link_ok else ("link lost" if d.updated_utc else "never heard")
    return (f"{d.name:<16} {d.autopilot:<10} {d.mode or '-':<10} {'armed' if d.armed else 'disarmed':<9} "
            f"battery {batt:>5}  {link:<11} {pos}  {d.connection}")


@drones_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """List drones with mode, battery, link and position.

    Example: disaster-ops drones list --json"""
    from disaster_ops.services import fleet

    ensure_schema()
    rows = fleet.list_drones()
    if as_json:
        print_json([d.as_dict() for d in rows])
        return
    for d in rows:
        typer.echo(_line(d))
    note(f"{len(rows)} drones")


@drones_app.command("show")
def show(name: str = typer.Argument(..., help="Drone name (see `drones list`). Example: sim-1"),
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """One drone: registration, launch point and latest telemetry.

    Example: disaster-ops drones show sim-1"""
    from disaster_ops.services import fleet

    ensure_schema()
    d = fleet.get_drone(name)
    if d is None:
        fail(f"no drone named {name!r}")
    if as_json:
        print_json(d.as_dict())
        return
    for k, v in d.as_dict().items():
        typer.echo(f"{k:<18} {'-' if v is None else v}")
