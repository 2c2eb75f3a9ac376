"""Shared fixtures: an isolated data directory and database per test, and the real data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DISASTER_OPS_SHARED_DATA", REPO.parent / "shared" / "data"))
# ``postgres``: the data_dir/engine fixtures use a fresh database on a throwaway PostgreSQL
# (+ PostGIS) server (tests/pg.py) instead of SQLite. Default: sqlite.
TEST_DB = os.environ.get("DISASTER_OPS_TEST_DB", "sqlite").strip().lower()


def on_postgres() -> bool:
    """The suite runs against PostgreSQL (DISASTER_OPS_TEST_DB=postgres)."""
    return TEST_DB == "postgres"


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared real data not present: {p} (CI always has ../shared/data)")
    return p


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL (+ PostGIS when installed) server for the session (tests/pg.py);
    skips with the reason when none can be started."""
    from tests.pg import PgUnavailable, start_server

    try:
        server = start_server()
    except PgUnavailable as exc:
        pytest.skip(f"{exc}{' (DISASTER_OPS_TEST_DB=postgres)' if on_postgres() else ''}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the session's server (PostGIS created when available)."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def data_dir(tmp_path, monkeypatch, request) -> Path:
    """Point the product at a fresh data directory and a fresh database: SQLite under the
    folder, or (DISASTER_OPS_TEST_DB=postgres) a new database on the test server."""
    from disaster_ops.config import get_settings

    d = tmp_path / "var"
    monkeypatch.setenv("DISASTER_OPS_DATA_DIR", str(d))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DISASTER_OPS_DATABASE_URL", raising=False)
    monkeypatch.delenv("DISASTER_OPS_CONFIG", raising=False)
    if on_postgres():
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("pg_url"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield d
    get_settings.cache_clear()


@pytest.fixture
def engine(data_dir):
    """A migrated engine on the isolated SQLite database."""
    from disaster_ops.config import get_settings
    from disaster_ops.storage.db import make_engine
    from disaster_ops.storage.migrate import upgrade

    eng = make_engine(get_settings().database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def run_cli(*args: str, env_extra: dict | None = None, cwd: Path | None = None,
            timeout_s: float = 120) -> subprocess.CompletedProcess:
    """Run ``disaster-ops`` in a separate process (as a user would)."""
    env = os.environ.copy()
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "disaster_ops", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=timeout_s, check=False)
