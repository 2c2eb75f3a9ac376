"""Schema migrations (Alembic) run from code: ``disaster-ops db upgrade`` and first use."""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from disaster_ops.storage import spatial
from disaster_ops.storage.db import get_engine

logger = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


# Any fixed 64-bit number; every disaster-ops process uses the same one.
PG_LOCK_KEY = 0x6469_7361_7374_6572  # "disaster"
LOCK_TIMEOUT_S = 300.0


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # configparser interpolates '%': a URL-escaped password (p%40ss) broke migrations
    # with an error that printed the password. Double it so it reaches Alembic intact.
    cfg.set_main_option("sqlalchemy.url",
                        engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


@contextmanager
def migration_lock(engine: Engine, *, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Serialise schema migrations across processes.

    Two processes starting on a fresh database both ran the first migration, and one
    died with ``table audit_event already exists``. SQLite: an exclusive ``flock`` on
    ``<database>.migrate.lock`` next to the file; PostgreSQL: a session advisory lock.
    Other engines (and in-memory SQLite) run unlocked.
    """
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        db = engine.url.database
        if not db or db == ":memory:" or db.startswith("file:"):
            yield
            return
        lock_path = Path(db).expanduser().with_name(Path(db).name + ".migrate.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a+b") as fh:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"another process holds the migration lock {lock_path} "
                                           f"for more than {timeout_s:.0f} s") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return
    if backend == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                conn.commit()
        return
    yield


def current_revision(engine: Engine | None = None) -> str | None:
    eng = engine or get_engine()
    with eng.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def _migrate(step, engine: Engine | None, revision: str, verb: str) -> str | None:
    """Run one Alembic command under the migration lock; the revision the database is at after it."""
    eng = engine or get_engine()
    cfg = alembic_config(eng)
    with migration_lock(eng), eng.begin() as conn:
        cfg.attributes["connection"] = conn
        step(cfg, revision)
    spatial.forget(eng)
    rev = current_revision(eng)
    logger.info("database %s %s revision %s", eng.url.render_as_string(hide_password=True), verb, rev)
    return rev


def upgrade(engine: Engine | None = None, revision: str = "head") -> str | None:
    """Bring the database schema to ``revision`` (default: newest). Idempotent."""
    return _migrate(command.upgrade, engine, revision, "at")


def downgrade(engine: Engine | None = None, revision: str = "-1") -> str | None:
    """Take the schema back to ``revision`` (an id, ``-1`` for one step, ``base``)."""
    return _migrate(command.downgrade, engine, revision, "down to")


def ensure_schema(engine: Engine | None = None) -> None:
    """Upgrade if the database is behind head (cheap check on every process start)."""
    eng = engine or get_engine()
    if current_revision(eng) != head_revision():
        upgrade(eng)
