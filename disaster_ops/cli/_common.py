"""Shared CLI plumbing: the Typer app, error exit, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer

from disaster_ops.redact import redact
from disaster_ops.services.roles import Principal, Role

app = typer.Typer(
    name="disaster-ops",
    help="Disaster situation management: CCTV + drone detection, incidents, coverage gaps and missions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_INPUT_ERROR = 2


def fail(message: str, code: int = EXIT_INPUT_ERROR) -> NoReturn:
    """Print one clear line to stderr and exit (code 2 = bad input)."""
    typer.echo(f"error: {redact(message)}", err=True)
    raise typer.Exit(code)


def print_json(obj: Any) -> None:
    """One JSON document on stdout (UTF-8, no ASCII escaping so Korean stays readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def local_admin(name: str) -> Principal:
    """The CLI's local-admin principal: whoever can run the command on this machine (with
    access to its database) acts as an administrator, recorded under ``name`` (``local:NAME``)
    in the audit trail. Commands that act as a named user of the user table replace this."""
    return Principal(name=f"local:{name}", role=Role.ADMIN)
