"""``disaster-ops sim-drone``: run a simulated ArduCopter that sends MAVLink 2 to a GCS port.

The vehicle *sends* to ``--host:--port`` (default 127.0.0.1:14550); the GCS listens there
(``disaster-ops fly --connect udpin:0.0.0.0:14550``, QGroundControl, MAVProxy
``--master=udpin:0.0.0.0:14550``). Several vehicles: give each its own ``--sysid`` (and
its own port if the GCS expects one vehicle per port).
"""

from __future__ import annotations

from pathlib import Path

import typer

from disaster_ops.cli._common import (
    SIGNING_KEY_FILE_HELP,
    SIGNING_KEY_VALUE_HELP,
    app,
    fail,
    print_json,
    signing_key,
)
from drone_link.errors import SimConfigError


def _home(text: str) -> tuple[float, float, float]:
    parts = text.split(",")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        fail(f"--home: expected LAT,LON[,ALT_AMSL_M], got {text!r}")
    if len(vals) not in (2, 3):
        fail(f"--home: expected LAT,LON[,ALT_AMSL_M], got {text!r}")
    return vals[0], vals[1], vals[2] if len(vals) == 3 else 38.0


@app.command("sim-drone")
def sim_drone(
    port: int = typer.Option(14550, "--port", help="GCS UDP port the vehicle sends to."),
    host: str = typer.Option("127.0.0.1", "--host", help="GCS address."),
    sysid: int = typer.Option(1, "--sysid", help="MAVLink system id (1..254), distinct per vehicle."),
    home: str = typer.Option("37.5665,126.9780", "--home", help="Home LAT,LON[,ALT_AMSL_M]."),
    loss: float = typer.Option(0.0, "--loss", help="Datagram loss probability per direction, 0..<1."),
    latency_ms: float = typer.Option(0.0, "--latency-ms", help="One-way added delay, ms."),
    speedup: float = typer.Option(1.0, "--speedup", help="Simulated-time factor (flight, boot, battery)."),
    legacy: bool = typer.Option(False, "--legacy", help="Old ArduPilot: MISSION_REQUEST, no *_INT frames."),
    autopilot: str = typer.Option("ardupilot", "--autopilot", help="ardupilot (ArduCopter) or px4 (PX4 modes)."),
    signing_key_file: Path | None = typer.Option(None, "--signing-key-file", help=SIGNING_KEY_FILE_HELP),
    signing_key_value: str | None = typer.Option(None, "--signing-key", hidden=True, help=SIGNING_KEY_VALUE_HELP),
    battery_pct: float = typer.Option(100.0, "--battery-pct", help="Charge at start, %."),
    battery_minutes: float = typer.Option(20.0, "--battery-minutes", help="Hover endurance, minutes."),
    gcs_failsafe_s: float = typer.Option(5.0, "--gcs-failsafe-s", help="RTL after this long without GCS heartbeat (0 = off)."),
    duration_s: float | None = typer.Option(None, "--duration-s", help="Stop after this many real seconds."),
    camera_port: int | None = typer.Option(None, "--camera-port", help="Serve the synthetic aerial camera as "
                                           "HTTP MJPEG on 127.0.0.1:PORT/video.mjpg."),
    camera_telemetry_port: int | None = typer.Option(None, "--camera-telemetry-port",
                                                     help="Also send pose + gimbal MAVLink to this UDP port."),
    gimbal_pitch_deg: float = typer.Option(-90.0, "--gimbal-pitch-deg", help="Camera gimbal pitch, -90 = down."),
    camera_fps: float = typer.Option(5.0, "--camera-fps", min=0.5, max=30.0, help="Synthetic camera frame rate, frames per second. Example: --camera-fps 10"),
    hazards: list[str] = typer.Option([], "--aerial-hazard", help="KIND,LAT,LON,SIZE_M planted on the "
                                      "synthetic ground (repeatable; kind: fire)."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary on exit."),
) -> None:
    """Run a simulated ArduCopter until Ctrl-C (or --duration-s).

    Example: disaster-ops sim-drone --port 14550 --home 35.1028,129.0327 --speedup 5"""
    from drone_link.sim import SimConfig, SimVehicle

    lat, lon, alt = _home(home)
    key = signing_key(signing_key_file, refused_value=signing_key_value)
    try:
        cfg = SimConfig(port=port, host=host, sysid=sysid, home_lat_deg=lat, home_lon_deg=lon,
                        home_alt_amsl_m=alt, loss=loss, latency_s=latency_ms / 1000.0,
                        speedup=speedup, legacy=legacy, autopilot=autopilot, signing_key=key,
                        battery_pct=battery_pct,
                        battery_minutes=battery_minutes, gcs_failsafe_s=gcs_failsafe_s)
    except SimConfigError as exc:
        fail(f"--{exc.field.replace('_', '-')}: {exc.reason}")
    sim = SimVehicle(cfg)
    camera = None
    if camera_port:
        from disaster_ops.services.demo import aerial_scene, parse_hazard

        try:
            planted = [parse_hazard(h, i) for i, h in enumerate(hazards)]
        except ValueError as exc:
            fail(f"--aerial-hazard: {exc}")
        from drone_link.sim.aerial_camera import CameraSpec, SimAerialCamera

        camera = SimAerialCamera(sim, aerial_scene(lat, lon, planted), CameraSpec(gimbal_pitch_deg=gimbal_pitch_deg,
                                 fps=camera_fps), http_port=camera_port, telemetry_port=camera_telemetry_port)
        camera.start()
        typer.echo(f"sim-drone sys{sysid}: camera {camera.url} ({len(planted)} planted hazards)", err=True)
    typer.echo(f"sim-drone sys{sysid}: sending MAVLink 2 to udp {host}:{port} "
               f"(GCS: udpin:0.0.0.0:{port}); Ctrl-C to stop", err=True)
    try:
        sim.run(duration_s=duration_s)
    except KeyboardInterrupt:
        pass
    finally:
        if camera is not None:
            camera.stop()
        sim.transport.close()
    if json_out:
        snap = sim.snapshot()
        print_json({"sysid": sysid, "port": port, **snap,
                    "transport": vars(sim.transport.stats),
                    "missions": vars(sim.missions.stats)})
