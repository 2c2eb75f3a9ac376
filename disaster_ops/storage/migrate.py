"""Schema migrations (Alembic) run from code: ``disaster-ops db upgrade`` and first use."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from disaster_ops.storage.db import get_engine

logger = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def current_revision(engine: Engine | None = None) -> str | None:
    eng = engine or get_engine()
    with eng.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def upgrade(engine: Engine | None = None, revision: str = "head") -> str | None:
    """Bring the database schema to ``revision`` (default: newest). Idempotent."""
    eng = engine or get_engine()
    cfg = alembic_config(eng)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    rev = current_revision(eng)
    logger.info("database %s at revision %s", eng.url.render_as_string(hide_password=True), rev)
    return rev


def ensure_schema(engine: Engine | None = None) -> None:
    """Upgrade if the database is behind head (cheap check on every process start)."""
    eng = engine or get_engine()
    if current_revision(eng) != head_revision():
        upgrade(eng)
