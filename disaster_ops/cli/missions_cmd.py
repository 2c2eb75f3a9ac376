"""``disaster-ops missions pause|resume|rtl ID``: control a mission a drone worker flies.

The request is a compare-and-set status change in the database
(:mod:`disaster_ops.services.mission_lifecycle`); the drone's worker reads it within
its poll interval (0.25 s) and sends it to the vehicle.
"""

from __future__ import annotations

import typer

from disaster_ops.cli._common import app, fail, local_admin, print_json

missions_app = typer.Typer(help="Control missions flown by drone workers.", no_args_is_help=True)
app.add_typer(missions_app, name="missions")

_ACTOR = typer.Option("cli", "--actor", help="Name recorded in the audit trail (local:NAME).")


def _do(kind: str, mission_id: int, actor: str, json_out: bool) -> None:
    from disaster_ops.errors import DisasterOpsError
    from disaster_ops.services import missions as svc
    from disaster_ops.storage.migrate import ensure_schema

    fn = {"pause": svc.request_pause, "resume": svc.request_resume, "rtl": svc.request_rtl}[kind]
    ensure_schema()
    try:
        row = fn(mission_id, principal=local_admin(actor))
    except (DisasterOpsError, ValueError) as exc:
        fail(f"mission {mission_id}: {exc}")
    status = getattr(row.status, "value", row.status)
    if json_out:
        print_json({"mission": mission_id, "status": status})
    else:
        typer.echo(f"mission {mission_id}: {status}")


@missions_app.command("pause")
def pause(mission_id: int = typer.Argument(..., help="Mission id."), actor: str = _ACTOR,
          json_out: bool = typer.Option(False, "--json")) -> None:
    """Hold the mission: brake in the air, or stop the launch before it moves the vehicle."""
    _do("pause", mission_id, actor, json_out)


@missions_app.command("resume")
def resume(mission_id: int = typer.Argument(..., help="Mission id."), actor: str = _ACTOR,
           json_out: bool = typer.Option(False, "--json")) -> None:
    """Continue a paused mission."""
    _do("resume", mission_id, actor, json_out)


@missions_app.command("rtl")
def rtl(mission_id: int = typer.Argument(..., help="Mission id."), actor: str = _ACTOR,
        json_out: bool = typer.Option(False, "--json")) -> None:
    """Abort the mission: the vehicle returns to launch (any step, upload included)."""
    _do("rtl", mission_id, actor, json_out)
