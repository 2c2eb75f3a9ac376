"""``disaster-ops drone-worker``: one vehicle's link, live state and dashboard missions."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import typer

from disaster_ops.cli._common import SIGNING_KEY_ENV, SIGNING_KEY_FILE_HELP, app, fail, signing_key
from disaster_ops.cli.exit_codes import ExitCode
from disaster_ops.storage.migrate import ensure_schema


@app.command("drone-worker")
def drone_worker(
    name: str = typer.Option(..., "--name", help="Drone name (registered in the database if new)."),
    connect: str = typer.Option(
        "udpin:127.0.0.1:14550", "--connect",
        help="MAVLink connection. The default listens on this machine only (a simulator or a local "
             "radio bridge); to accept a vehicle or radio on the network listen on every interface: "
             "udpin:0.0.0.0:14550. Also tcp:HOST:PORT, udpout:HOST:PORT, serial /dev/ttyUSB0:57600. "
             "Example: --connect udpin:0.0.0.0:14550"),
    signing_key_file: Path | None = typer.Option(None, "--signing-key-file", help=SIGNING_KEY_FILE_HELP),
    signing_key_env: str | None = typer.Option(None, "--signing-key-env", hidden=True,
                                               help="Deprecated: name of another environment variable "
                                               "holding the key (use $DISASTER_OPS_SIGNING_KEY or a file)."),
    duration_s: float | None = typer.Option(None, "--duration-s", min=0.1, help="Stop after this many seconds."),
    heartbeat_timeout_s: float = typer.Option(60.0, "--heartbeat-timeout-s", min=0.1, help="Seconds to wait for the first heartbeat of the vehicle before giving up (exit 3). Example: --heartbeat-timeout-s 30"),
    video_delay_s: float = typer.Option(0.0, "--video-delay-s", min=0.0,
                                        help="Capture-to-arrival delay of this drone's video link, s, for the aerial "
                                             "worker started on its video URL: subtracted from the arrival time of "
                                             "frames that carry no capture stamp. Example: --video-delay-s 0.2"),
) -> None:
    """Keep a vehicle's live state on the map and fly the missions pilots release to it.

    Example: DISASTER_OPS_SIGNING_KEY=... disaster-ops drone-worker --name sim-1 --connect udpin:0.0.0.0:14550"""
    from disaster_ops.services.drone_worker import DroneWorker
    from drone_link.errors import DroneLinkError

    ensure_schema()
    if signing_key_env and not os.environ.get(signing_key_env):
        fail(f"--signing-key-env: environment variable {signing_key_env} is not set")
    key = signing_key(signing_key_file, env_name=signing_key_env or SIGNING_KEY_ENV)
    worker = DroneWorker(name, connect, signing_key=key, heartbeat_timeout_s=heartbeat_timeout_s,
                         aerial_options={"video_delay_s": video_delay_s})
    signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stop_event.set())
    try:
        worker.run(duration_s=duration_s)
    except DroneLinkError as exc:
        fail(f"{name}: {exc}", code=ExitCode.DEVICE_ERROR)
