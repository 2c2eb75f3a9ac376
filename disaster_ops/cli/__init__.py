"""The ``disaster-ops`` command line.

One Typer app; each command group lives in its own module and registers itself
with the app in :mod:`disaster_ops.cli._common` when imported. :data:`COMMAND_MODULES`
names the module of every top-level command: ``disaster-ops coverage ...`` imports
only ``coverage_cmd`` (a command's start-up does not pay for every other command's
libraries); ``--help``, an unknown command and ``from disaster_ops.cli import app``
import them all. Contract (docs/DESIGN.md): input errors print one clear line naming
the file, row or field and exit with code 2; ``--json`` gives machine-readable output.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import pydantic
import typer

from disaster_ops.redact import redact

# Top-level command (or group) -> the module that registers it. One line per command;
# a new command module must be listed here (tests/disaster_ops/test_cli_commands.py checks).
COMMAND_MODULES: dict[str, str] = {
    "aerial": "aerial_cmd",
    "agencies": "agencies_cmd",
    "airspace": "airspace_cmd",
    "audit": "audit_cmd",
    "cameras": "cameras_cmd",
    "config": "config_cmd",
    "coverage": "coverage_cmd",
    "dashboard": "demo_cmd",
    "db": "db_cmd",
    "demo": "demo_cmd",
    "doctor": "doctor_cmd",
    "detect": "detect_cmd",
    "drone-worker": "drone_worker_cmd",
    "drones": "drones_cmd",
    "eval": "detect_cmd",
    "export": "export_cmd",
    "fly": "fly_cmd",
    "incidents": "incidents_cmd",
    "launch-point": "launch_cmd",
    "missions": "missions_cmd",
    "people": "people_cmd",
    "plan": "plan_cmd",
    "retention": "retention_cmd",
    "serve": "demo_cmd",
    "share": "share_cmd",
    "sim-drone": "sim_drone_cmd",
    "users": "users_cmd",
    "watch": "watch_cmd",
    "workers": "workers_cmd",
}


# Commands whose numpy work is elementwise (no matrix products): numpy's OpenBLAS would
# only start one worker thread per core at import, which then spin idle (~2 % of a cold
# province-wide ``coverage`` run in ``perf``). Their processes run BLAS single-threaded.
SINGLE_THREADED_BLAS = frozenset({"coverage"})


def load_commands(names: list[str] | None = None) -> typer.Typer:
    """Import the command modules of ``names`` (default: all) and return the app."""
    for mod in sorted({COMMAND_MODULES[n] for n in names} if names else set(COMMAND_MODULES.values())):
        importlib.import_module(f"disaster_ops.cli.{mod}")
    from disaster_ops.cli._common import app

    return app


def __getattr__(name: str):
    # ``from disaster_ops.cli import app`` (tests, docs) gets the app with every command.
    if name == "app":
        return load_commands()
    if name == "fail":
        from disaster_ops.cli._common import fail

        return fail
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _command_of(argv: list[str]) -> str | None:
    """The top-level command named on the command line, if it is a known one."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMAND_MODULES else None


def main() -> None:
    """Console-script entry point. Errors a command did not map itself end here as one line
    and the exit code of docs/exit-codes.md (disaster_ops.cli.exit_codes.ExitCode)."""
    from disaster_ops.cli._common import settings_error_line
    from disaster_ops.cli.exit_codes import ExitCode
    from disaster_ops.errors import DisasterOpsError, InputError, PermissionDenied

    cmd = _command_of(sys.argv[1:])
    if cmd in SINGLE_THREADED_BLAS and "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # read by numpy's OpenBLAS when loaded
    app = load_commands([cmd] if cmd else None)
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        typer.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except pydantic.ValidationError as exc:
        if exc.title != "Settings":
            raise
        # A bad setting (environment or TOML): one line naming the setting, exit 2; the
        # value itself is not echoed (it may be a secret).
        typer.echo(f"error: {settings_error_line(exc)}", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    except PermissionDenied as exc:  # a command that did not map it itself (service_errors does)
        typer.echo(f"error: permission denied: {redact(str(exc))}", err=True)
        sys.exit(ExitCode.FAILED)
    except InputError as exc:
        typer.echo(f"error: {redact(str(exc))}", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    except DisasterOpsError as exc:
        typer.echo(f"error: {redact(str(exc))}", err=True)
        sys.exit(ExitCode.FAILED)
    except Exception as exc:
        # Driver errors quote the connection URL or parameters: one redacted line, the
        # full traceback only in the debug log. (No SQLAlchemy or link error can occur
        # unless the command imported its module.)
        sa_exc = sys.modules.get("sqlalchemy.exc")
        link_exc = sys.modules.get("drone_link.errors")
        if link_exc is not None and isinstance(exc, link_exc.DroneLinkError):
            typer.echo(f"error: {redact(str(exc))}", err=True)
            sys.exit(ExitCode.DEVICE_ERROR)
        if sa_exc is None or not isinstance(exc, sa_exc.SQLAlchemyError):
            raise
        logging.getLogger("disaster_ops").debug("database error", exc_info=True)
        typer.echo(f"error: database: {redact(str(exc).splitlines()[0])}", err=True)
        sys.exit(ExitCode.FAILED)
