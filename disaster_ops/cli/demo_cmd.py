"""``disaster-ops demo`` and ``disaster-ops serve``: run the product on this machine.

``demo`` seeds the database from ``sample_data/`` and supervises the processes of the
demo (simulated drone, CCTV replay, dashboard) as children; Ctrl-C (or SIGTERM) stops
them all, each with a deadline, and nothing stored is lost.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import typer

from disaster_ops.cli._common import app
from disaster_ops.services import demo as demo_svc
from disaster_ops.storage.migrate import ensure_schema

logger = logging.getLogger(__name__)
UI_APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None


def _streamlit_argv(port: int, address: str) -> list[str]:
    # ui.serve = streamlit run, plus the map's libraries imported while the server starts
    return [sys.executable, "-m", "ui.serve", "run", str(UI_APP),
            "--server.headless", "true", "--server.port", str(port),
            "--server.address", address, "--browser.gatherUsageStats", "false",
            "--server.enableStaticServing", "true",
            # End users get no Deploy button or developer menu.
            "--client.toolbarMode", "viewer", "--client.showErrorDetails", "type"]


def _command_names() -> set[str]:
    """Every command this install has (the CLI registers only the command it runs, so
    ``app.registered_commands`` alone would say demo has no sim-drone or watch)."""
    from disaster_ops.cli import COMMAND_MODULES

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups}
    return names | set(COMMAND_MODULES)


def _supervise(children: list[Child], *, stop_after_s: float | None = None, tick=None,
               log_dir: Path | None = None, quiet: bool = False) -> int:
    """Run the children until one exits, SIGTERM/Ctrl-C, or ``stop_after_s``; ``tick()`` is
    called about every half second; with ``log_dir`` each child's output goes to its own file."""
    stopping = False

    def _stop(signum, _frame):
        nonlocal stopping
        stopping = True

    old = signal.signal(signal.SIGTERM, _stop)
    for ch in children:
        typer.echo(f"starting {ch.name}: {' '.join(ch.argv[1:4])} ...", err=quiet)
        out = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            out = open(log_dir / f"{ch.name.replace(' ', '_').replace('+', '')}.log", "ab")  # noqa: SIM115
        # Own session: a terminal Ctrl-C reaches only this supervisor, which then stops
        # the children in order (SIGTERM), so none dies mid-import with a traceback.
        ch.proc = subprocess.Popen(ch.argv, env=os.environ.copy(), start_new_session=True,
                                   stdout=out, stderr=subprocess.STDOUT if out else None)
    t0 = time.monotonic()
    rc = 0
    try:
        while not stopping:
            for ch in children:
                code = ch.proc.poll() if ch.proc else None
                if code is not None:
                    typer.echo(f"{ch.name} exited with code {code}; stopping the demo", err=True)
                    rc = code or 1
                    stopping = True
            if stop_after_s is not None and time.monotonic() - t0 > stop_after_s:
                break
            if tick is not None and not stopping:
                try:
                    tick()
                except Exception:  # the demo's own loop must never leave children behind
                    logger.exception("demo tick failed")
            time.sleep(0.5)
    except KeyboardInterrupt:
        typer.echo("\nstopping (Ctrl-C) ...")
    finally:
        signal.signal(signal.SIGTERM, old)
        for ch in reversed(children):
            if ch.proc and ch.proc.poll() is None:
                ch.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10.0
        for ch in children:
            if not ch.proc:
                continue
            try:
                ch.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in time; killing it", ch.name)
                ch.proc.kill()
                ch.proc.wait(timeout=5)
    return rc


@app.command("demo")
def demo(
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Dashboard TCP port. Example: --port 8501"),
    address: str = typer.Option("127.0.0.1", "--address", help="Dashboard bind address: 127.0.0.1 for this machine only, 0.0.0.0 for every network interface. Example: --address 0.0.0.0"),
    sim: bool = typer.Option(True, "--sim/--no-sim", help="Start the simulated drone."),
    replay: bool = typer.Option(True, "--replay/--no-replay", help="Replay sample videos as CCTV and detect."),
    drone_port: int = typer.Option(14550, "--drone-port", help="UDP port of the simulated drone link."),
    seed_only: bool = typer.Option(False, "--seed-only", help="Seed the database and exit."),
    stop_after_s: float | None = typer.Option(None, "--stop-after-s", hidden=True),
    headless: bool = typer.Option(False, "--headless", help="No dashboard: run the loop, stop after --duration, "
                                  "report what happened."),
    duration_s: float = typer.Option(240.0, "--duration", min=10.0, help="Headless: seconds to run."),
    json_out: bool = typer.Option(False, "--json", help="Headless: print the report as one JSON object."),
    camera_port: int = typer.Option(8091, "--camera-port", help="Headless: synthetic drone camera HTTP port."),
    camera_telemetry_port: int = typer.Option(14560, "--camera-telemetry-port",
                                              help="Headless: UDP port of the camera's pose telemetry."),
) -> None:
    """Seed the database from sample_data/ and run the whole demo until Ctrl-C.

    Example: disaster-ops demo --port 8501 (then open http://127.0.0.1:8501)"""
    ensure_schema()
    seeded = demo_svc.seed_sample_data()
    for line in seeded:
        typer.echo(line, err=json_out)
    if seed_only:
        return
    if headless:
        from disaster_ops.cli.demo_headless import run_headless

        raise typer.Exit(run_headless(duration_s=duration_s, json_out=json_out, drone_port=drone_port,
                                      camera_port=camera_port, camera_telemetry_port=camera_telemetry_port,
                                      supervise=_supervise, child=Child))
    names = _command_names()
    children: list[Child] = []
    if sim and "sim-drone" in names:
        lat, lon = demo_svc.DEMO_HOME
        children.append(Child("simulated drone", [sys.executable, "-m", "disaster_ops", "sim-drone",
                                                  "--port", str(drone_port), "--speedup", "3",
                                                  "--home", f"{lat},{lon}", "--gcs-failsafe-s", "0"]))
        children.append(Child("drone worker", [sys.executable, "-m", "disaster_ops", "drone-worker",
                                               "--name", "sim-1", "--connect", f"udpin:127.0.0.1:{drone_port}"]))
    if replay and "watch" in names and demo_svc.has_replay_cameras():
        children.append(Child("CCTV replay + detection", [sys.executable, "-m", "disaster_ops", "watch",
                                                          "--replay", "--fps", "2"]))
    children.append(Child("dashboard", _streamlit_argv(port, address)))
    typer.echo(f"dashboard: http://{address}:{port}  (Ctrl-C stops everything)")
    raise typer.Exit(_supervise(children, stop_after_s=stop_after_s))


@app.command("serve")
def serve(
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Dashboard TCP port. Example: --port 8501"),
    address: str = typer.Option("127.0.0.1", "--address", help="Bind address: 127.0.0.1 for this machine "
                                "only, 0.0.0.0 for every network interface. Example: --address 0.0.0.0"),
) -> None:
    """Serve the dashboard only (alias: dashboard).

    Example: disaster-ops serve --address 0.0.0.0 --port 8501"""
    ensure_schema()
    raise typer.Exit(_supervise([Child("dashboard", _streamlit_argv(port, address))]))


app.command("dashboard", help="Serve the dashboard only (alias of serve). "
            "Example: disaster-ops dashboard --port 8501")(serve)
