"""Migrations from an empty database, WAL, and data that survives across processes."""

from __future__ import annotations

import json
from datetime import UTC

import sqlalchemy as sa

from disaster_ops.config import get_settings
from disaster_ops.storage.db import make_engine
from disaster_ops.storage.migrate import current_revision, head_revision, upgrade
from tests.conftest import REPO, on_postgres, run_cli


def test_migrations_create_every_table_from_empty(data_dir):
    eng = make_engine(get_settings().database_url)
    assert current_revision(eng) is None
    assert upgrade(eng) == head_revision()
    tables = set(sa.inspect(eng).get_table_names())
    assert {"camera", "detection", "incident", "drone", "mission", "drone_state", "audit_event",
            "alembic_version"} <= tables
    # idempotent
    assert upgrade(eng) == head_revision()
    if eng.dialect.name == "sqlite":
        with eng.connect() as c:
            assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    eng.dispose()


def test_data_persists_across_processes(data_dir, tmp_path):
    env = {"DISASTER_OPS_DATA_DIR": str(data_dir)}
    up = run_cli("db", "upgrade", "--json", env_extra=env)
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["revision"] == head_revision()
    sample = REPO / "sample_data" / "busan_junggu_cctv_2024.csv"
    imp = run_cli("cameras", "import", "--local-admin", str(sample), "--json", env_extra=env)
    assert imp.returncode == 0, imp.stderr
    report = json.loads(imp.stdout)
    assert report["imported"] == 408 and report["skipped"] == 0
    # A second, separate process sees the rows (in the SQLite file under the data dir, or
    # in the PostgreSQL database DATABASE_URL names).
    assert (data_dir / "disaster_ops.db").is_file() != on_postgres()
    listed = run_cli("cameras", "list", "--json", "--bbox", "129.02,35.09,129.05,35.11", env_extra=env)
    assert listed.returncode == 0, listed.stderr
    cams = json.loads(listed.stdout)
    assert len(cams) == 408
    assert {"source_key", "lat", "lon", "heading_deg", "fov_deg", "range_m"} <= set(cams[0])


def test_cli_bad_input_exits_2_with_one_line(data_dir, tmp_path):
    env = {"DISASTER_OPS_DATA_DIR": str(data_dir)}
    missing = run_cli("cameras", "import", "--local-admin", str(tmp_path / "nope.csv"), env_extra=env)
    assert missing.returncode == 2
    assert "nope.csv" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lat,lon\nok,35.1,129.0\nbroken,35.1,oops\n", encoding="utf-8")
    strict = run_cli("cameras", "import", "--local-admin", str(bad), "--strict", env_extra=env)
    assert strict.returncode == 2 and f"{bad}:3" in strict.stderr and "'lon'" in strict.stderr
    lax = run_cli("cameras", "import", "--local-admin", str(bad), env_extra=env)
    assert lax.returncode == 0
    assert "1 imported" in lax.stdout and "1 skipped" in lax.stdout
    assert f"{bad}:3 [lon]" in lax.stderr
    box = run_cli("cameras", "list", "--bbox", "1,2", env_extra=env)
    assert box.returncode == 2 and "--bbox" in box.stderr


def test_timestamps_come_back_timezone_aware_utc(engine):
    from datetime import datetime, timedelta, timezone

    from sqlmodel import Session, select

    from disaster_ops.storage.models import AuditEvent

    kst = timezone(timedelta(hours=9))
    with Session(engine) as s:
        s.add(AuditEvent(actor="t", action="x", at=datetime(2026, 7, 1, 9, 0, tzinfo=kst)))
        s.commit()
    with Session(engine) as s:
        ev = s.exec(select(AuditEvent)).one()
    assert ev.at == datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert ev.at.tzinfo is not None
