"""``disaster-ops drone-worker``: one vehicle's link, live state and dashboard missions."""

from __future__ import annotations

import os
import signal

import typer

from disaster_ops.cli._common import app, fail
from disaster_ops.storage.migrate import ensure_schema


@app.command("drone-worker")
def drone_worker(
    name: str = typer.Option(..., "--name", help="Drone name (registered in the database if new)."),
    connect: str = typer.Option("udpin:127.0.0.1:14550", "--connect", help="MAVLink connection string."),
    signing_key_env: str | None = typer.Option(None, "--signing-key-env",
                                               help="Environment variable holding the 32-byte signing key (hex)."),
    duration_s: float | None = typer.Option(None, "--duration-s", min=0.1, help="Stop after this many seconds."),
    heartbeat_timeout_s: float = typer.Option(60.0, "--heartbeat-timeout-s", min=0.1),
) -> None:
    """Keep a vehicle's live state on the map and fly the missions pilots release to it."""
    from disaster_ops.services.drone_worker import DroneWorker
    from drone_link.errors import DroneLinkError

    ensure_schema()
    key = None
    if signing_key_env:
        raw = os.environ.get(signing_key_env)
        if not raw:
            fail(f"--signing-key-env: environment variable {signing_key_env} is not set")
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            fail(f"--signing-key-env: {signing_key_env} is not hex")
        if len(key) != 32:
            fail(f"--signing-key-env: key must be 32 bytes, got {len(key)}")
    worker = DroneWorker(name, connect, signing_key=key, heartbeat_timeout_s=heartbeat_timeout_s)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stop_event.set())
    try:
        worker.run(duration_s=duration_s)
    except DroneLinkError as exc:
        typer.echo(f"error: {name}: {exc}", err=True)
        raise typer.Exit(1) from None
