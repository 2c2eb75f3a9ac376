"""The ``disaster-ops`` command line.

One Typer app; each command group lives in its own module and registers itself
with :func:`register` when imported below. Contract (docs/DESIGN.md): input
errors print one clear line naming the file, row or field and exit with code 2;
``--json`` gives machine-readable output.
"""

from __future__ import annotations

import sys

import typer

from disaster_ops.cli._common import app, fail  # noqa: F401  (re-exported)

# Command modules register themselves on import. One line per module.
from disaster_ops.cli import config_cmd  # noqa: E402,F401
from disaster_ops.cli import db_cmd  # noqa: E402,F401
from disaster_ops.cli import cameras_cmd  # noqa: E402,F401
from disaster_ops.cli import coverage_cmd  # noqa: E402,F401
from disaster_ops.cli import demo_cmd  # noqa: E402,F401
from disaster_ops.cli import watch_cmd  # noqa: E402,F401
from disaster_ops.cli import drone_worker_cmd  # noqa: E402,F401
from disaster_ops.cli import export_cmd  # noqa: E402,F401
from disaster_ops.cli import plan_cmd  # noqa: E402,F401
from disaster_ops.cli import fly_cmd  # noqa: E402,F401
from disaster_ops.cli import sim_drone_cmd  # noqa: E402,F401
from disaster_ops.cli import detect_cmd  # noqa: E402,F401


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        typer.echo("interrupted", err=True)
        sys.exit(130)
