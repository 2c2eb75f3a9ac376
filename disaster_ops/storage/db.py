"""Engine and sessions. SQLite gets WAL mode and a busy timeout so watchers, drone
workers and the dashboard can share one file; PostgreSQL works through the same URL."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from disaster_ops.config import get_settings

logger = logging.getLogger(__name__)


def make_engine(database_url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """Create an engine; for SQLite make sure the folder exists and turn on WAL."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False}
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            _set_wal(cur, busy_timeout_s)
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _set_wal(cur, busy_timeout_s: float) -> None:
    """``PRAGMA journal_mode=WAL``, retried: on a fresh file two processes switching it at once
    get SQLITE_BUSY at once (SQLite does not wait there, to avoid a lock-upgrade deadlock), so
    the second process to start died with "database is locked". Once the file is WAL the
    pragma is a no-op."""
    import sqlite3

    deadline = time.monotonic() + busy_timeout_s
    delay_s = 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay_s)
            delay_s = min(0.2, delay_s * 2)


@lru_cache(maxsize=4)
def _engine_for(url: str, busy_timeout_s: float) -> Engine:
    return make_engine(url, busy_timeout_s=busy_timeout_s)


def get_engine() -> Engine:
    """The engine for the current settings (cached per URL)."""
    s = get_settings()
    return _engine_for(str(s.database_url), s.sqlite_busy_timeout_s)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
