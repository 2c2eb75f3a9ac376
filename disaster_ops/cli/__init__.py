"""The ``disaster-ops`` command line.

One Typer app; each command group lives in its own module and registers itself
with :func:`register` when imported below. Contract (docs/DESIGN.md): input
errors print one clear line naming the file, row or field and exit with code 2;
``--json`` gives machine-readable output.
"""

from __future__ import annotations

import sys

import typer

# Command modules register themselves on import. One line per module.
from disaster_ops.cli import (
    agencies_cmd,  # noqa: F401
    airspace_cmd,  # noqa: F401
    cameras_cmd,  # noqa: F401
    config_cmd,  # noqa: F401
    coverage_cmd,  # noqa: F401
    db_cmd,  # noqa: F401
    demo_cmd,  # noqa: F401
    detect_cmd,  # noqa: F401
    drone_worker_cmd,  # noqa: F401
    export_cmd,  # noqa: F401
    fly_cmd,  # noqa: F401
    incidents_cmd,  # noqa: F401
    launch_cmd,  # noqa: F401
    missions_cmd,  # noqa: F401
    plan_cmd,  # noqa: F401
    share_cmd,  # noqa: F401
    sim_drone_cmd,  # noqa: F401
    watch_cmd,  # noqa: F401
)
from disaster_ops.cli._common import app, fail  # noqa: F401  (re-exported)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        typer.echo("interrupted", err=True)
        sys.exit(130)
