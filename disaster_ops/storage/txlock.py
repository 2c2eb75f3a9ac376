"""Serialise one kind of write across processes and machines, inside a transaction.

Two camera workers that see the same fire in the same second both ask "is there an open
incident here?", both hear "no" and both open one, unless the read-then-write is
serialised. PostgreSQL: a transaction-level advisory lock (released at commit or
rollback). SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before the first
read (the driver otherwise starts the transaction only at the first write, after the
read). Must be the first statement of a fresh session.
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from sqlmodel import Session

_KEY_BASE = 0x6F70_7300_0000_0000  # "ops" + lock name hash; distinct from the migration lock


def lock_key(name: str) -> int:
    """A stable 63-bit advisory-lock key for ``name``."""
    return _KEY_BASE | zlib.crc32(name.encode())


def serialise(session: Session, name: str) -> None:
    """Hold the lock ``name`` until the session's transaction ends."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(name)})
    elif dialect == "sqlite":
        conn = session.connection()
        if not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
