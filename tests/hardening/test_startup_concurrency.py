"""Start-up and concurrency (issue #17): two processes starting on a fresh database both
succeed (migration lock), concurrent imports of the same keys never fail with an
IntegrityError, and no output or error prints a secret."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_cli

BUSAN = REPO / "sample_data" / "busan_junggu_cctv_2024.csv"


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "disaster_ops", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())


@pytest.mark.parametrize("round_", range(3))
def test_two_processes_on_a_fresh_database_both_succeed(data_dir, round_):
    # Both migrate the empty database on first use and import the same 408 keys.
    procs = [_spawn("cameras", "import", "--local-admin", str(BUSAN)) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "Traceback" not in err and "IntegrityError" not in err
    with sqlite3.connect(data_dir / "disaster_ops.db") as db:
        n = db.execute("select count(*) from camera").fetchone()[0]
        imports = db.execute("select count(*) from audit_event where action='cameras.import'").fetchone()[0]
    assert n == 408 and imports == 2


def test_two_db_upgrades_on_a_fresh_database_both_succeed(data_dir):
    procs = [_spawn("db", "upgrade") for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err


def test_config_show_and_db_errors_never_print_the_password(data_dir):
    url = "postgresql+psycopg://ops:s3cr%40t%25pw@127.0.0.1:18299/nowhere"
    env = {"DATABASE_URL": url}
    shown = run_cli("config", "show", env_extra=env)
    assert shown.returncode == 0
    shown_json = run_cli("config", "show", "--json", env_extra=env)
    failed = run_cli("db", "upgrade", env_extra=env, timeout_s=60)
    assert failed.returncode != 0
    for res in (shown, shown_json, failed):
        text = res.stdout + res.stderr
        for secret in ("s3cr%40t%25pw", "s3cr@t%pw", "s3cr"):
            assert secret not in text, text
    assert "ops:***@127.0.0.1:18299" in shown.stdout
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr


def test_camera_stream_credentials_are_masked_in_listings(data_dir, tmp_path):
    f = tmp_path / "cams.csv"
    f.write_text("name,lat,lon,stream_url\ngate,35.1,129.0,rtsp://admin:hunter22@10.0.0.5/live\n",
                 encoding="utf-8")
    assert run_cli("cameras", "import", "--local-admin", str(f)).returncode == 0
    listed = run_cli("cameras", "list", "--json")
    assert listed.returncode == 0 and "hunter22" not in listed.stdout
    assert "rtsp://admin:***@10.0.0.5/live" in listed.stdout


@pytest.mark.parametrize("var, value", [("DISASTER_OPS_LIMITS__AOI_MAX_AREA_KM2", "abc"),
                                        ("DISASTER_OPS_LIMITS__REGISTRY_MAX_ROWS", "-5"),
                                        ("DISASTER_OPS_SQLITE_BUSY_TIMEOUT_S", "1e999")])
def test_a_bad_setting_is_one_line_naming_it(data_dir, var, value):
    res = run_cli("config", "show", env_extra={var: value})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: setting ") and var in lines[0], lines


_RACE = """
import sys, time
import sqlalchemy as sa
from disaster_ops.storage.db import make_engine
path, start = sys.argv[1], float(sys.argv[2])
while time.time() < start:
    pass
with make_engine(f"sqlite:///{path}").begin() as c:
    c.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x)"))
    c.execute(sa.text("INSERT INTO t VALUES (1)"))
"""


def test_processes_opening_a_fresh_sqlite_file_at_the_same_instant_all_connect(tmp_path):
    """Switching a fresh file to WAL from two processes at once gets SQLITE_BUSY at once (no
    busy wait there): the engine retries instead of dying with "database is locked"."""
    import time

    for k in range(10):
        db = tmp_path / f"race{k}.db"
        start = time.time() + 1.0
        procs = [subprocess.Popen([sys.executable, "-c", _RACE, str(db), str(start)], stderr=subprocess.PIPE,
                                  text=True, env=os.environ.copy()) for _ in range(2)]
        errs = [p.communicate(timeout=120)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), errs
        with sqlite3.connect(db) as c:
            assert c.execute("select count(*) from t").fetchone()[0] == 2
