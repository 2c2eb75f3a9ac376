"""The same start-up guarantees on a real PostgreSQL server (Debian postgresql 15 here):
a password with URL-escaped characters migrates and never shows up in output, and
processes starting together on a fresh database all succeed (advisory lock)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO

PASSWORD = "s3cr@t%pw"
URL_PASSWORD = "s3cr%40t%25pw"
PORT = 18290


@pytest.fixture
def pg_url():
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))  # Debian keeps them off PATH
    path = os.pathsep.join([*bins, os.environ.get("PATH", "")])
    initdb, pg_ctl = shutil.which("initdb", path=path), shutil.which("pg_ctl", path=path)
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        if not shutil.which("runuser") or subprocess.run(["id", "postgres"], check=False,
                                                                      capture_output=True).returncode:
            pytest.skip("running as root without a postgres user")
        run_as = ["runuser", "-u", "postgres", "--"]
    # Not under pytest's tmp (0700, root's): the postgres user must reach it.
    root = Path(tempfile.mkdtemp(prefix="disaster-ops-pg-"))
    os.chmod(root, 0o777)
    pw = root / "pw"
    pw.write_text(PASSWORD + "\n")
    os.chmod(pw, 0o644)
    data = root / "data"
    subprocess.run([*run_as, initdb, "-D", str(data), "-U", "ops", "--auth=md5", f"--pwfile={pw}"],
                   check=True, capture_output=True)
    subprocess.run([*run_as, pg_ctl, "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                    f"-p {PORT} -k {root} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=PORT, user="ops", password=PASSWORD,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE dops")
        yield f"postgresql+psycopg://ops:{URL_PASSWORD}@127.0.0.1:{PORT}/dops"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_fresh_postgres_concurrent_start_and_escaped_password(pg_url, tmp_path):
    env = dict(os.environ, DATABASE_URL=pg_url, DISASTER_OPS_DATA_DIR=str(tmp_path / "var"))
    busan = str(REPO / "sample_data" / "busan_junggu_cctv_2024.csv")
    cmds = [["cameras", "import", "--local-admin", busan], ["cameras", "import", "--local-admin", busan], ["db", "upgrade"]]
    procs = [subprocess.Popen([sys.executable, "-m", "disaster_ops", *c], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in cmds]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        for secret in (PASSWORD, URL_PASSWORD):
            assert secret not in out + err
    shown = subprocess.run([sys.executable, "-m", "disaster_ops", "config", "show"], env=env,
                           text=True, capture_output=True, check=True)
    assert PASSWORD not in shown.stdout and URL_PASSWORD not in shown.stdout
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=PORT, user="ops", password=PASSWORD, dbname="dops") as c:
        assert c.execute("select count(*) from camera").fetchone()[0] == 408
