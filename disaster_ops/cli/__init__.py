"""The ``disaster-ops`` command line.

One Typer app; each command group lives in its own module and registers itself
with :func:`register` when imported below. Contract (docs/DESIGN.md): input
errors print one clear line naming the file, row or field and exit with code 2;
``--json`` gives machine-readable output.
"""

from __future__ import annotations

import logging
import sys

import pydantic
import sqlalchemy as sa
import typer

# Command modules register themselves on import. One line per module.
from disaster_ops.cli import (
    aerial_cmd,  # noqa: F401
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
    users_cmd,  # noqa: F401
    watch_cmd,  # noqa: F401
    workers_cmd,  # noqa: F401
)
from disaster_ops.cli._common import app, fail  # noqa: F401  (re-exported)
from disaster_ops.redact import redact


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except pydantic.ValidationError as exc:
        if exc.title != "Settings":
            raise
        # A bad setting (environment or TOML): one line naming the setting, exit 2; the
        # value itself is not echoed (it may be a secret).
        err = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        env = "DISASTER_OPS_" + "__".join(str(p) for p in err["loc"]).upper()
        typer.echo(f"error: setting {where} ({env} or the TOML file): {err['msg']}", err=True)
        sys.exit(2)
    except sa.exc.SQLAlchemyError as exc:
        # Driver errors quote the connection URL or parameters: one redacted line, the
        # full traceback only in the debug log.
        logging.getLogger("disaster_ops").debug("database error", exc_info=True)
        typer.echo(f"error: database: {redact(str(exc).splitlines()[0])}", err=True)
        sys.exit(1)
