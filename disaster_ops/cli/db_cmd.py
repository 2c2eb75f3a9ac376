"""``disaster-ops db upgrade|downgrade|current``: schema migrations."""

from __future__ import annotations

import typer

from disaster_ops.cli._common import app, fail, print_json
from disaster_ops.storage import migrate, spatial
from disaster_ops.storage.db import get_engine

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _move(step, revision: str, as_json: bool) -> None:
    """Run ``migrate.upgrade``/``downgrade`` to ``revision`` and say where the database is."""
    from alembic.util import CommandError

    eng = get_engine()
    try:
        rev = step(eng, revision)
    except CommandError as exc:
        fail(f"revision {revision!r}: {str(exc).splitlines()[0]}")
    url = eng.url.render_as_string(hide_password=True)
    if as_json:
        print_json({"database": url, "revision": rev})
    else:
        typer.echo(f"database {url} at revision {rev}")


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision id (default: the newest). Example: 0003_auth"),
            as_json: bool = typer.Option(False, "--json", help="Print {database, revision} as JSON.")) -> None:
    """Create or migrate the database to the newest schema.

    Example: disaster-ops db upgrade"""
    _move(migrate.upgrade, revision, as_json)


@db_app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision id (e.g. 0003_auth, -1, base). "
                                             "Example: -1"),
              as_json: bool = typer.Option(False, "--json", help="Print {database, revision} as JSON.")) -> None:
    """Take the schema back to an older revision (data in dropped columns is lost).

    Example: disaster-ops db downgrade 0003_auth"""
    _move(migrate.downgrade, revision, as_json)


@db_app.command("current")
def current(as_json: bool = typer.Option(False, "--json", help="Print {revision, head, up_to_date} as JSON.")) -> None:
    """Show the database's schema revision and the newest one.

    Example: disaster-ops db current --json"""
    rev, head = migrate.current_revision(), migrate.head_revision()
    # Which spatial path the queries take: PostGIS geometry + GiST, or the bbox columns.
    index = "postgis" if spatial.uses_postgis(get_engine()) else "bbox-columns"
    if as_json:
        print_json({"revision": rev, "head": head, "up_to_date": rev == head, "spatial_index": index})
    else:
        typer.echo(f"revision {rev} (head {head}){'' if rev == head else ' - run: disaster-ops db upgrade'}"
                   f"; spatial queries: {index}")
