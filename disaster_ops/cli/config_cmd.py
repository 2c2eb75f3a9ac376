"""``disaster-ops config show``: the effective settings."""

from __future__ import annotations

import pydantic
import typer

from disaster_ops.cli._common import app, fail, print_json, settings_error_line
from disaster_ops.config import get_settings
from disaster_ops.redact import redact

config_app = typer.Typer(help="Configuration: the effective settings (defaults < TOML file < DISASTER_OPS_* "
                         "environment).", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the effective settings (defaults < TOML file < environment).

    Example: DISASTER_OPS_LOG_LEVEL=DEBUG disaster-ops config show --json"""
    try:
        s = get_settings()
    except pydantic.ValidationError as exc:
        if exc.title != "Settings":
            raise
        fail(settings_error_line(exc))
    data = s.model_dump(mode="json")
    data["database_url"] = redact(str(data["database_url"]))  # never print the password
    if as_json:
        print_json(data)
        return

    def walk(prefix: str, obj) -> None:
        for k, v in obj.items():
            if isinstance(v, dict):
                walk(f"{prefix}{k}.", v)
            else:
                typer.echo(f"{prefix}{k} = {v}")

    walk("", data)
