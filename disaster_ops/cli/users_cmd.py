"""``disaster-ops users add|passwd|disable|enable|list``: the people who may log in.

Passwords are read from standard input (one line; a hidden prompt on a terminal) or a
file, never from the command line where ``ps`` and shell history would keep them.
Changing users needs an administrator: ``--as ADMIN`` or ``--local-admin`` (how the
first administrator is created). With ``--as`` and no ``$DISASTER_OPS_PASSWORD``, the
operator's password is the first line of standard input and the new password the next.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from disaster_ops.cli._common import (
    AS_OPTION_HELP,
    LOCAL_ADMIN_HELP,
    app,
    fail,
    operator_principal,
    print_json,
    read_secret,
    service_errors,
)
from disaster_ops.services import auth
from disaster_ops.storage.migrate import ensure_schema

users_app = typer.Typer(help="Users who log in to the dashboard and act in the CLI.", no_args_is_help=True)
app.add_typer(users_app, name="users")

PASSWORD_FILE_HELP = "Read the new password from the first line of this file instead of standard input."


def _new_password(name: str, password_file: Path | None) -> str:
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"{password_file}: cannot read ({exc.strerror or exc})")
        lines = text.splitlines()
        if not lines or not lines[0]:
            fail(f"{password_file}: the first line must hold the password")
        return lines[0]
    return read_secret(f"new password for {name}: ")


@users_app.command("add")
def add(
    name: str = typer.Argument(..., help="Login name (letters, digits, . _ @ + -)."),
    role: str = typer.Option(..., "--role", help="admin, manager, pilot or responder."),
    agency: str | None = typer.Option(None, "--agency", help="Agency the user belongs to (plain name)."),
    password_file: Path | None = typer.Option(None, "--password-file", help=PASSWORD_FILE_HELP),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the new user as JSON."),
) -> None:
    """Add a user; the password comes from standard input (or --password-file).

    Example: disaster-ops users add kim.pilot --role pilot --password-file kim.pw --local-admin"""
    ensure_schema()
    me = operator_principal(as_user, local)
    with service_errors():
        info = auth.add_user(name, _new_password(name, password_file), role=role, agency=agency, principal=me)
    if as_json:
        print_json(asdict(info))
    else:
        typer.echo(f"added {info.name} ({info.role}{', ' + info.agency if info.agency else ''})")


@users_app.command("passwd")
def passwd(
    name: str = typer.Argument(..., help="Whose password."),
    password_file: Path | None = typer.Option(None, "--password-file", help=PASSWORD_FILE_HELP),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP + " A user may change their own."),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
) -> None:
    """Set a new password (also unlocks a locked account).

    Example: disaster-ops users passwd kim.pilot --password-file new.pw --as root"""
    ensure_schema()
    me = operator_principal(as_user, local)
    with service_errors():
        auth.set_password(name, _new_password(name, password_file), principal=me)
    typer.echo(f"password of {name} changed")


def _set_disabled(name: str, disabled: bool, as_user: str | None, local: bool, as_json: bool) -> None:
    ensure_schema()
    me = operator_principal(as_user, local)
    with service_errors():
        info = auth.set_disabled(name, disabled, principal=me)
    if as_json:
        print_json(asdict(info))
    else:
        typer.echo(f"{name} {'disabled' if disabled else 'enabled'}")


@users_app.command("disable")
def disable(
    name: str = typer.Argument(..., help="Login name. Example: kim.pilot"),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the user as JSON."),
) -> None:
    """Disable an account: it can no longer log in; open dashboard sessions end on their next action.

    Example: disaster-ops users disable kim.pilot --as root"""
    _set_disabled(name, True, as_user, local, as_json)


@users_app.command("enable")
def enable(
    name: str = typer.Argument(..., help="Login name. Example: kim.pilot"),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the user as JSON."),
) -> None:
    """Re-enable an account (and unlock it).

    Example: disaster-ops users enable kim.pilot --as root"""
    _set_disabled(name, False, as_user, local, as_json)


@users_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """List users (never their password hashes).

    Example: disaster-ops users list --json"""
    ensure_schema()
    users = auth.list_users()
    if as_json:
        print_json([asdict(u) for u in users])
        return
    for u in users:
        state = "disabled" if u.disabled else ("locked" if u.locked else "active")
        typer.echo(f"{u.name:<20} {u.role:<10} {(u.agency or '-'):<24} {state:<8} last login "
                   f"{u.last_login_utc or 'never'}")
    typer.echo(f"{len(users)} users", err=True)
