"""``disaster-ops missions list|show|plan|dispatch|fly|rtl|pause|resume|download``.

Everything the dashboard's mission page does, for scripts: the same services
(:mod:`disaster_ops.services.missions`) with the same role checks, acting as ``--as USER``
or ``--local-admin``; every change is audited by the service. Flight requests are
compare-and-set status changes in the database; the drone's worker
(``disaster-ops drone-worker``) reads them within its poll interval (0.25 s) and flies.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from disaster_ops.cli._common import (
    AS_OPTION_HELP,
    LOCAL_ADMIN_HELP,
    app,
    fail,
    local_admin,
    note,
    operator_principal,
    print_json,
    service_errors,
)
from disaster_ops.storage.migrate import ensure_schema
from drone_link.planner import CAMERA_PRESETS

missions_app = typer.Typer(
    help="Drone missions: list, show, plan around an incident, dispatch to a drone, fly, pause, resume, "
         "return to launch, download the .plan file.", no_args_is_help=True)
app.add_typer(missions_app, name="missions")

_MISSION_ID = typer.Argument(..., help="Mission id (see `missions list`). Example: 4")
_AS = typer.Option(None, "--as", help=AS_OPTION_HELP)
_LOCAL = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP)
_ACTOR = typer.Option(None, "--actor", hidden=True,
                      help="Deprecated: acted as local:NAME; use --local-admin or --as USER.")
_JSON = typer.Option(False, "--json", help="Print {mission, status} as JSON.")
CAMERAS = sorted(CAMERA_PRESETS)  # the planner's presets, as on the dashboard


def mission_as_dict(m) -> dict:
    """JSON view of a mission row (the plan itself: `missions download`)."""
    from disaster_ops.services import cop

    return {"id": m.id, "name": m.name, "status": str(getattr(m.status, "value", m.status)),
            "drone": cop.drone_name(m.drone_id), "incident_id": m.incident_id, "created_by": m.created_by,
            "created_at": m.created_at.isoformat(), "updated_at": m.updated_at.isoformat(),
            "current_seq": m.current_seq, "bbox": [m.min_lon, m.min_lat, m.max_lon, m.max_lat],
            "has_plan": bool(m.plan_json),
            "report": json.loads(m.report_json) if m.report_json else None}


def _who(as_user: str | None, local: bool, actor: str | None):
    if actor is not None and not as_user:
        typer.echo("warning: --actor is deprecated; use --local-admin or --as USER", err=True)
        return local_admin(actor)
    return operator_principal(as_user, local)


def _get(mission_id: int):
    from disaster_ops.services import missions as svc

    rows = [m for m in svc.list_missions() if m.id == mission_id]
    if not rows:
        fail(f"no mission {mission_id}")
    return rows[0]


@missions_app.command("list")
def list_(
    drone: str | None = typer.Option(None, "--drone", help="Only missions of this drone. Example: --drone sim-1"),
    active: bool = typer.Option(False, "--active", help="Leave out completed, aborted and failed missions."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List missions, newest first.

    Example: disaster-ops missions list --active --json"""
    from disaster_ops.services import missions as svc

    ensure_schema()
    rows = svc.list_missions(drone_name=drone, active_only=active)
    if as_json:
        print_json([mission_as_dict(m) for m in rows])
        return
    for m in rows:
        d = mission_as_dict(m)
        r = d["report"] or {}
        typer.echo(f"{m.id:>5}  {d['status']:<10} drone {d['drone'] or '-':<12} {m.name[:32]:<32} "
                   f"{r.get('distance_m', 0) / 1000:.2f} km {r.get('flight_time_s', 0) / 60:.1f} min  "
                   f"by {m.created_by}")
    note(f"{len(rows)} missions")


@missions_app.command("show")
def show(mission_id: int = _MISSION_ID,
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """One mission: status, drone, incident, planner report.

    Example: disaster-ops missions show 4 --json"""
    ensure_schema()
    d = mission_as_dict(_get(mission_id))
    if as_json:
        print_json(d)
        return
    typer.echo(f"mission {d['id']} {d['name']!r}: {d['status']}, drone {d['drone'] or '-'}, incident "
               f"{d['incident_id'] or '-'}, created by {d['created_by']} at {d['created_at']}")
    for k, v in (d["report"] or {}).items():
        if not isinstance(v, (list, dict)):
            typer.echo(f"  {k}: {v}")


@missions_app.command("plan")
def plan(
    incident: int = typer.Option(..., "--incident", help="Plan around this incident id (see `incidents list`). "
                                 "Example: --incident 12"),
    radius_m: float = typer.Option(300.0, "--radius-m", min=50.0, max=3000.0,
                                   help="Radius around the incident searched for blind spots, metres. "
                                        "Example: --radius-m 500"),
    alt_m: float = typer.Option(80.0, "--alt-m", min=20.0, max=150.0,
                                help="Flight altitude above the launch point (above ground with a DEM "
                                     "configured), metres. Example: --alt-m 60"),
    camera: str = typer.Option("mavic3e-wide", "--camera", help=f"Camera preset: {', '.join(CAMERAS)}. "
                               "Example: --camera m30t-wide"),
    drone: list[str] = typer.Option([], "--drone", help="Drone(s) to fly it (repeatable); they take off from "
                                    "their live position or home. Example: --drone sim-1"),
    launch: str | None = typer.Option(None, "--launch", help="Launch point LAT,LON in degrees when no drone's "
                                      "position is known. Example: --launch 35.10,129.03"),
    as_user: str | None = _AS,
    local: bool = _LOCAL,
    as_json: bool = typer.Option(False, "--json", help="Print {mission_ids, covered_fraction, report} as JSON."),
) -> None:
    """Plan a photo survey of the blind spots around an incident (managers and pilots), as the
    dashboard's "Plan survey" button: stored as planned missions, one per sortie.

    Example: disaster-ops missions plan --incident 12 --drone sim-1 --as park.manager"""
    from disaster_ops.services import missions as svc

    ensure_schema()
    me = operator_principal(as_user, local)
    with service_errors(f"incident {incident}"):
        launch_ll = svc.parse_latlon(launch)
        area = svc.incident_area(incident, radius_m=radius_m)
        gp = svc.plan_gap_survey(area, principal=me, alt_rel_m=alt_m, camera=camera, incident_id=incident,
                                 drone_names=drone or None, launch_latlon=launch_ll)
    if as_json:
        print_json({"mission_ids": gp.mission_ids, "covered_fraction": gp.coverage.covered_fraction,
                    "report": gp.report})
        return
    r = gp.report
    typer.echo(f"planned mission(s) {', '.join(map(str, gp.mission_ids))}: cameras see "
               f"{gp.coverage.covered_fraction:.0%} of the area; the drone covers {r['zone_area_m2']:.0f} m² of "
               f"blind spots, {r['distance_m']:.0f} m, {r['flight_time_s'] / 60:.1f} min")


@missions_app.command("dispatch")
def dispatch(
    mission_id: int = _MISSION_ID,
    drone: str = typer.Option(..., "--drone", help="Registered drone name (see `drones list`). "
                              "Example: --drone sim-1"),
    as_user: str | None = _AS,
    local: bool = _LOCAL,
    as_json: bool = _JSON,
) -> None:
    """Give a planned mission to a drone after a fresh pre-flight check (managers only).

    Example: disaster-ops missions dispatch 4 --drone sim-1 --as park.manager"""
    from disaster_ops.services import missions as svc

    ensure_schema()
    me = operator_principal(as_user, local)
    with service_errors(f"mission {mission_id}"):
        row = svc.assign(mission_id, drone, principal=me)
    _print_status(mission_id, row, as_json)


def _print_status(mission_id: int, row, as_json: bool) -> None:
    status = str(getattr(row.status, "value", row.status))
    if as_json:
        print_json({"mission": mission_id, "status": status})
    else:
        typer.echo(f"mission {mission_id}: {status}")


def _request(kind: str, mission_id: int, as_user: str | None, local: bool, actor: str | None,
             as_json: bool) -> None:
    from disaster_ops.services import missions as svc

    fn = {"fly": svc.request_flight, "pause": svc.request_pause, "resume": svc.request_resume,
          "rtl": svc.request_rtl}[kind]
    ensure_schema()
    me = _who(as_user, local, actor)
    with service_errors(f"mission {mission_id}"):
        row = fn(mission_id, principal=me)
    _print_status(mission_id, row, as_json)


@missions_app.command("fly")
def fly(mission_id: int = _MISSION_ID, as_user: str | None = _AS, local: bool = _LOCAL,
        actor: str | None = _ACTOR, as_json: bool = _JSON) -> None:
    """Release a dispatched mission to its drone's worker: upload, arm, take off, fly (pilots).

    To fly a .plan file over a link directly use `disaster-ops fly`.
    Example: disaster-ops missions fly 4 --as kim.pilot"""
    _request("fly", mission_id, as_user, local, actor, as_json)


@missions_app.command("pause")
def pause(mission_id: int = _MISSION_ID, as_user: str | None = _AS, local: bool = _LOCAL,
          actor: str | None = _ACTOR, as_json: bool = _JSON) -> None:
    """Hold the mission: brake in the air, or stop the launch before it moves the vehicle.

    Example: disaster-ops missions pause 4 --as kim.pilot"""
    _request("pause", mission_id, as_user, local, actor, as_json)


@missions_app.command("resume")
def resume(mission_id: int = _MISSION_ID, as_user: str | None = _AS, local: bool = _LOCAL,
           actor: str | None = _ACTOR, as_json: bool = _JSON) -> None:
    """Continue a paused mission.

    Example: disaster-ops missions resume 4 --as kim.pilot"""
    _request("resume", mission_id, as_user, local, actor, as_json)


@missions_app.command("rtl")
def rtl(mission_id: int = _MISSION_ID, as_user: str | None = _AS, local: bool = _LOCAL,
        actor: str | None = _ACTOR, as_json: bool = _JSON) -> None:
    """Abort the mission: the vehicle returns to launch (any step, upload included).

    Example: disaster-ops missions rtl 4 --as kim.pilot"""
    _request("rtl", mission_id, as_user, local, actor, as_json)


@missions_app.command("download")
def download(
    mission_id: int = _MISSION_ID,
    out: Path | None = typer.Option(None, "--out", help="File to write (default: standard output). "
                                    "Example: --out mission_4.plan"),
    fmt: str = typer.Option("plan", "--format", help="plan (QGroundControl JSON) or waypoints (QGC WPL 110). "
                            "Example: --format waypoints"),
) -> None:
    """Write the mission's flight plan, as the dashboard's download buttons.

    Example: disaster-ops missions download 4 --out mission_4.plan"""
    from disaster_ops.services import missions as svc
    from drone_link.files import plan_from_dict, waypoints_text

    if fmt not in ("plan", "waypoints"):
        fail(f"--format: expected plan or waypoints, got {fmt!r}")
    ensure_schema()
    with service_errors():
        text = svc.plan_file(mission_id)
    if fmt == "waypoints":
        text = waypoints_text(plan_from_dict(json.loads(text)))
    if out is None:
        typer.echo(text)
        return
    try:
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"--out {out}: cannot write ({exc.strerror or exc})")
    note(f"wrote {out}")
