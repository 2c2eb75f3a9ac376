"""Shared CLI plumbing: the Typer app, error exit, JSON output."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer

from disaster_ops.cli import logs
from disaster_ops.cli.exit_codes import ExitCode
from disaster_ops.redact import redact
from disaster_ops.services.roles import Principal, Role

app = typer.Typer(
    name="disaster-ops",
    help="Disaster situation management: CCTV + drone detection, incidents, coverage gaps and missions.\n\n"
         "Exit codes: 0 ok, 1 operation failed, 2 bad input, 3 device or link error "
         "(docs/exit-codes.md). Example: disaster-ops incidents list --json",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

EXIT_INPUT_ERROR = ExitCode.BAD_INPUT  # old name, kept for importers
# Long-running commands: their INFO log is their progress, so it is on by default.
SERVICE_COMMANDS = frozenset({"watch", "drone-worker", "aerial", "sim-drone", "share", "serve", "dashboard",
                              "demo"})


@app.callback()
def _global_options(
    ctx: typer.Context,
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="Only warnings and errors on standard error (no progress or counts). "
                                    "Example: disaster-ops -q incidents list"),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Debug logging, dependencies' messages included. "
                                      "Example: disaster-ops -v watch"),
) -> None:
    """Options before the command name apply to every command."""
    # This callback also keeps ``disaster-ops COMMAND`` a command group when only one command
    # module is loaded (disaster_ops.cli.main loads just the command it runs); Typer would
    # otherwise run a lone command without its name.
    import pydantic

    if quiet and verbose:
        fail("--quiet and --verbose: give one, not both")
    try:
        from disaster_ops.config import get_settings

        setting = get_settings().log_level
    except pydantic.ValidationError:
        setting = None  # the command that reads the settings reports the bad one
    logs.configure(quiet=quiet, verbose=verbose, setting=setting,
                   service=ctx.invoked_subcommand in SERVICE_COMMANDS)


def settings_error_line(exc) -> str:
    """One line naming a bad setting (its environment variable too); the value is not echoed
    (it may be a secret)."""
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    env = "DISASTER_OPS_" + "__".join(str(p) for p in err["loc"]).upper()
    return f"setting {where} ({env} or the TOML file): {err['msg']}"


def fail(message: str, code: ExitCode | int = ExitCode.BAD_INPUT) -> NoReturn:
    """Print one clear line to stderr and exit (default code 2 = bad input; see ExitCode)."""
    typer.echo(f"error: {redact(message)}", err=True)
    raise typer.Exit(int(ExitCode(code)))


def note(message: str) -> None:
    """A progress note or count on standard error (left out under ``--quiet``)."""
    if logs.chatty():
        typer.echo(message, err=True)


def print_json(obj: Any) -> None:
    """One JSON document on stdout (UTF-8, no ASCII escaping so Korean stays readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def local_admin(name: str) -> Principal:
    """The CLI's local-admin principal: whoever can run the command on this machine (with
    access to its database) acts as an administrator, recorded under ``name`` (``local:NAME``)
    in the audit trail. Commands that act as a named user of the user table replace this."""
    return Principal(name=f"local:{name}", role=Role.ADMIN)


PASSWORD_ENV = "DISASTER_OPS_PASSWORD"
AS_OPTION_HELP = ("Act as this user of the user table (password from $DISASTER_OPS_PASSWORD, a prompt, "
                  "or the first line of standard input).")
LOCAL_ADMIN_HELP = "Act as this machine's local administrator (audited as local:<your login name>)."


def read_secret(prompt: str) -> str:
    """One password: a hidden prompt on a terminal, otherwise one line of standard input."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        fail(f"{prompt.strip(': ')}: expected a line on standard input")
    return line.rstrip("\r\n")


def operator_principal(as_user: str | None, local_admin_mode: bool) -> Principal:
    """Who a state-changing command acts as: ``--as USER`` (checked against the user table,
    audited) or ``--local-admin`` (whoever may run commands on this machine, audited as
    ``local:<login>``). Exactly one is required; a wrong password exits 2 with one line.

    Use in a command::

        as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
        local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
        ...
        me = operator_principal(as_user, local)
    """
    from disaster_ops.errors import AuthenticationError
    from disaster_ops.services.auth import authenticate
    from disaster_ops.storage.migrate import ensure_schema

    if as_user and local_admin_mode:
        fail("--as and --local-admin: give one, not both")
    if local_admin_mode:
        return local_admin(_login_name())
    if not as_user:
        fail("this command changes state: say who acts, --as USER or --local-admin")
    ensure_schema()
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = read_secret(f"password for {as_user}: ")
    try:
        return authenticate(as_user, password, via="cli")
    except AuthenticationError as exc:
        fail(f"--as {as_user}: {exc}")


def _login_name() -> str:
    try:
        return getpass.getuser() or "admin"
    except (KeyError, OSError):
        return "admin"


SIGNING_KEY_ENV = "DISASTER_OPS_SIGNING_KEY"
SIGNING_KEY_FILE_HELP = ("File whose first line is the 32-byte MAVLink signing key as 64 hex digits "
                         f"(default: ${SIGNING_KEY_ENV} if set; a key is never given on the command line, "
                         "where ps and shell history would show it). Example: --signing-key-file /etc/disaster-ops/drone1.key")
SIGNING_KEY_VALUE_HELP = "Removed: a key on the command line is visible in ps. Use --signing-key-file or $" + SIGNING_KEY_ENV


def signing_key(key_file: Path | None, *, refused_value: str | None = None,
                env_name: str = SIGNING_KEY_ENV, flag: str = "--signing-key-file") -> bytes | None:
    """The MAVLink signing key: ``--signing-key-file`` or the environment variable, else None.

    ``refused_value`` is the old ``--signing-key HEX``: refused with exit 2 (and the value
    is never echoed), so a script that still passes one learns the new way at once.
    """
    from drone_link.link._mav import parse_signing_key

    if refused_value is not None:
        fail(f"--signing-key: a key on the command line is visible to every user in ps; "
             f"put it in a file (--signing-key-file) or ${SIGNING_KEY_ENV}")
    if key_file is not None:
        try:
            lines = key_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{flag} {key_file}: cannot read ({getattr(exc, 'strerror', None) or exc})")
        text, where = (lines[0] if lines else ""), f"{flag} {key_file}"
        if not text.strip():
            fail(f"{where}: the first line must hold the key (64 hex digits)")
    else:
        text, where = os.environ.get(env_name), f"${env_name}"
    try:
        return parse_signing_key(text)
    except ValueError as exc:
        fail(f"{where}: {str(exc).split(':')[0]}")


@contextmanager
def service_errors(prefix: str = "") -> Iterator[None]:
    """Map the services' exceptions to one line and the exit-code table (docs/exit-codes.md):
    a role refusal is 1 (operation failed), bad input or a state the request does not fit
    (the services' InputError, an unknown id) 2, a device or link error 3, any other product
    error 1. ``prefix`` (e.g. ``"mission 4"``) starts the line."""
    from disaster_ops.errors import DisasterOpsError, InputError, PermissionDenied
    from drone_link.errors import DroneLinkError

    lead = f"{prefix}: " if prefix else ""
    try:
        yield
    except PermissionDenied as exc:
        fail(f"{lead}permission denied: {exc}", code=ExitCode.FAILED)
    except LookupError as exc:  # services raise KeyError("no incident 7") for an unknown id
        fail(f"{lead}{str(exc).strip(chr(34) + chr(39))}", code=ExitCode.BAD_INPUT)
    except (InputError, ValueError) as exc:
        fail(f"{lead}{exc}", code=ExitCode.BAD_INPUT)
    except DroneLinkError as exc:
        fail(f"{lead}{exc}", code=ExitCode.DEVICE_ERROR)
    except DisasterOpsError as exc:
        fail(f"{lead}{exc}", code=ExitCode.FAILED)
