"""``disaster-ops fly``: upload a mission file, verify it by download, and optionally fly it.

Upload shows a progress bar; ``--start`` arms and starts the mission the way the
autopilot needs (ArduPilot: GUIDED, EKF ready, arm, takeoff, AUTO) and follows it until
the last item is reached; Ctrl-C sends the vehicle home (RTL). Drone, mission and live
state are recorded in the database unless ``--no-record``.

The whole mission is checked before the first byte is sent
(:mod:`drone_link.link.preflight`). Exit codes: 0 uploaded (without ``--start``) or
flown to completion; 1 flight aborted or failed (failsafe, disarmed early, follow
timeout); 2 bad input (nothing sent, nothing recorded); 3 link or vehicle error (no
heartbeat, transfer failed, verify mismatch, command refused, link lost); 130
interrupted with Ctrl-C (RTL sent). After a failure once the upload began, the vehicle's
mission is cleared (or the vehicle sent home if armed) and the mission row is ``failed``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import typer

from disaster_ops.cli._common import (
    SIGNING_KEY_ENV,
    SIGNING_KEY_FILE_HELP,
    SIGNING_KEY_VALUE_HELP,
    app,
    fail,
    print_json,
    signing_key,
)
from disaster_ops.cli.exit_codes import ExitCode
from drone_link.errors import ConnectionStringError, DroneLinkError

logger = logging.getLogger(__name__)
EXIT_FLIGHT_FAILED = ExitCode.FAILED
EXIT_LINK_ERROR = ExitCode.DEVICE_ERROR
EXIT_INTERRUPTED = ExitCode.INTERRUPTED


def _read_mission(path: Path):
    from drone_link.files import MissionFileError, read_plan, read_waypoints

    if not path.is_file():
        fail(f"--mission: {path} not found")
    try:
        if path.suffix.lower() in (".waypoints", ".txt"):
            return read_waypoints(path)
        return read_plan(path)
    except MissionFileError as exc:
        fail(str(exc))


class _Db:
    """Database side of a flight; every call is a no-op when recording is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.drone_id: int | None = None
        self.mission_id: int | None = None
        self.recorder = None

    def start(self, *, name: str, connection: str, system_id: int, autopilot: str,
              mission, mission_name: str, key_ref: str | None) -> None:
        if not self.enabled:
            return
        from disaster_ops.services import drones
        from disaster_ops.storage.db import session_scope
        from disaster_ops.storage.migrate import ensure_schema
        from disaster_ops.storage.models import MissionStatus

        ensure_schema()
        with session_scope() as s:
            d = drones.register_drone(s, name=name, connection=connection, system_id=system_id,
                                      autopilot=autopilot, signing_key_ref=key_ref)
            m = drones.record_mission(s, mission, name=mission_name, drone_id=d.id,
                                      status=MissionStatus.UPLOADING)
            self.drone_id, self.mission_id = d.id, m.id
        self.recorder = drones.StateRecorder(self.drone_id)

    def status(self, status_name: str, *, seq: int | None = None, note: str | None = None) -> None:
        if not self.enabled or self.mission_id is None:
            return
        from disaster_ops.services import drones
        from disaster_ops.storage.db import session_scope
        from disaster_ops.storage.models import MissionStatus

        with session_scope() as s:
            drones.set_mission_status(s, self.mission_id, MissionStatus(status_name),
                                      current_seq=seq, note=note)

    def state(self, link, *, force: bool = False) -> None:
        if self.recorder is not None:
            self.recorder.maybe_record(link.telemetry, link_ok=link.link_ok(),
                                       progress=link.progress(), force=force)


def _upload(link, mission, *, quiet: bool, legacy_items: bool):
    total = len(mission.items) + len(mission.fence) + len(mission.rally)
    if quiet:
        return link.upload_mission(mission, legacy_items=legacy_items)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("upload"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=False) as bar:
        task = bar.add_task("upload", total=total)
        reports = link.upload_mission(mission, legacy_items=legacy_items,
                                      progress=lambda done, n: bar.update(task, completed=done))
        bar.update(task, completed=total)
    return reports


def _follow(link, db: _Db, *, json_out: bool, timeout_s: float, link_loss_fail_s: float = 30.0) -> str:
    """Pump telemetry until the mission is over; returns the final mission status.

    Over = last item reached (and, for a plan ending in RTL/LAND, disarmed on the ground);
    disarmed before that = aborted (failsafe or pilot); no heartbeat for 30 s = failed.
    """
    from drone_link.mission import Cmd

    items = link.uploaded.items if link.uploaded else []
    ends_on_ground = bool(items) and int(items[-1].command) in (Cmd.NAV_RETURN_TO_LAUNCH, Cmd.NAV_LAND)
    end = time.monotonic() + timeout_s
    last_line = ""
    lost_since: float | None = None
    while time.monotonic() < end:
        link.pump(0.25)
        t, p = link.telemetry, link.progress()
        db.state(link)
        line = (f"{t.mode} {'armed' if t.armed else 'disarmed'} item {p.current_index}/{p.total} "
                f"alt {t.alt_rel_m or 0:.1f} m battery {t.battery_pct if t.battery_pct is not None else '?'} %")
        if line != last_line and not json_out:
            typer.echo(line, err=True)
            last_line = line
        if link.link_ok():
            lost_since = None
        else:
            lost_since = lost_since or time.monotonic()
            if time.monotonic() - lost_since > link_loss_fail_s:
                return "link_lost"
        if p.finished and (not ends_on_ground or not t.armed):
            return "completed"
        if not t.armed and not p.finished:
            return "aborted"
    return "active"


def _leave_vehicle_safe(link) -> None:
    """After a failure: send an armed vehicle home, else clear the (maybe half) mission."""
    try:
        if link.telemetry.armed:
            link.rtl()
        elif link.target_system is not None:
            link.clear(0)
    except DroneLinkError as exc:
        logger.warning("could not leave the vehicle safe: %s", exc)


@app.command("fly")
def fly(
    connect: str = typer.Option(..., "--connect", help="MAVLink connection: udpin:0.0.0.0:14550, udp:, udpout:, tcp:, serial."),
    mission_path: Path = typer.Option(..., "--mission", help="QGroundControl .plan (or .waypoints) file."),
    start: bool = typer.Option(False, "--start", help="Arm, take off and fly the mission, following it."),
    signing_key_file: Path | None = typer.Option(None, "--signing-key-file", help=SIGNING_KEY_FILE_HELP),
    signing_key_value: str | None = typer.Option(None, "--signing-key", hidden=True, help=SIGNING_KEY_VALUE_HELP),
    name: str | None = typer.Option(None, "--name", help="Drone name in the database (default drone-SYSID)."),
    sysid: int | None = typer.Option(None, "--sysid", help="Talk only to this vehicle system id."),
    heartbeat_timeout_s: float = typer.Option(15.0, "--heartbeat-timeout-s", min=0.1, help="Seconds to wait for the vehicle's first heartbeat (exit 3 after). Example: --heartbeat-timeout-s 30"),
    legacy_items: bool = typer.Option(False, "--legacy-items", help="Send float MISSION_ITEM (very old firmware)."),
    follow_timeout_s: float = typer.Option(3600.0, "--follow-timeout-s", min=1.0, help="With --start: stop following the flight after this many seconds (exit 1; the vehicle flies on). Example: --follow-timeout-s 1800"),
    link_loss_fail_s: float = typer.Option(30.0, "--link-loss-fail-s", min=1.0,
                                           help="Seconds without heartbeat before the flight counts as failed (exit 3)."),
    record: bool = typer.Option(True, "--record/--no-record", help="Record drone, mission and state in the database."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout."),
) -> None:
    """Upload MISSION to the vehicle on CONNECT, verify it, and with --start fly it.

    Example: disaster-ops fly --connect udpin:0.0.0.0:14550 --mission mission_4.plan --start"""
    from drone_link.link import DroneLink
    from drone_link.link.preflight import check_mission

    mission = _read_mission(mission_path)
    try:
        check_mission(mission)  # before the first byte goes out and before anything is recorded
    except DroneLinkError as exc:
        fail(f"{mission_path}: {exc}")
    key = signing_key(signing_key_file, refused_value=signing_key_value)
    try:
        link = DroneLink.connect(connect, signing_key=key, target_system=sysid)
    except ConnectionStringError as exc:
        fail(f"--connect: {exc.reason} ({exc.connection!r})")
    except DroneLinkError as exc:
        fail(str(exc), code=EXIT_LINK_ERROR)
    db = _Db(record)
    summary: dict = {"connection": connect, "mission": str(mission_path), "items": len(mission.items),
                     "fence": len(mission.fence), "rally": len(mission.rally)}
    status = "uploaded"
    exit_code = 0
    try:
        with link:
            t = link.wait_heartbeat(timeout_s=heartbeat_timeout_s)
            drone_name = name or f"drone-{t.system_id}"
            summary.update(drone=drone_name, system_id=t.system_id, autopilot=link.family)
            db.start(name=drone_name, connection=connect, system_id=t.system_id or 1,
                     autopilot=link.family, mission=mission, mission_name=mission_path.stem,
                     key_ref=(str(signing_key_file) if signing_key_file else SIGNING_KEY_ENV) if key else None)
            try:
                reports = _upload(link, mission, quiet=json_out, legacy_items=legacy_items)
            except DroneLinkError as exc:
                _leave_vehicle_safe(link)
                db.status("failed", note=str(exc)[:200])
                raise
            summary["upload"] = [{"mission_type": r.mission_type.name.lower(), "items": r.items,
                                  "duration_s": round(r.duration_s, 3), "resends": r.resends,
                                  "frames": r.frames.value} for r in reports]
            summary["verified"] = True
            db.status("uploaded")
            if start:
                try:
                    link.start_mission()
                    db.status("active")
                    status = _follow(link, db, json_out=json_out, timeout_s=follow_timeout_s,
                                     link_loss_fail_s=link_loss_fail_s)
                except KeyboardInterrupt:
                    typer.echo("interrupted: returning to launch", err=True)
                    exit_code = EXIT_INTERRUPTED
                    link.rtl()
                    status = "aborted"
                except DroneLinkError as exc:
                    _leave_vehicle_safe(link)
                    db.status("failed", note=str(exc)[:200])
                    raise
                db.state(link, force=True)
                p = link.progress()
                if status == "link_lost":
                    db.status("failed", seq=p.current_index, note="link lost")
                    raise DroneLinkError(f"link lost: no heartbeat for {link_loss_fail_s:g} s")
                if status != "active":
                    db.status(status, seq=p.current_index)
                summary["reached"] = list(p.reached)
                if status != "completed" and not exit_code:
                    exit_code = EXIT_FLIGHT_FAILED
            summary["status"] = status
    except DroneLinkError as exc:
        if json_out:
            print_json({**summary, "status": "failed", "error": str(exc)})
        fail(str(exc), code=EXIT_LINK_ERROR)
    if json_out:
        print_json(summary)
    else:
        typer.echo(f"{summary.get('drone')}: mission {status} ({summary['items']} items, verified"
                   f"{', reached ' + str(len(summary['reached'])) if 'reached' in summary else ''})")
    if exit_code:
        raise typer.Exit(exit_code)
