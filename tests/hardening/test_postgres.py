"""The same start-up guarantees on a real PostgreSQL server (Debian postgresql 15 here):
a password with URL-escaped characters migrates and never shows up in output, and
processes starting together on a fresh database all succeed (advisory lock)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO
from tests.pg import PASSWORD

URL_PASSWORD = "s3cr%40t%25pw"


def test_fresh_postgres_concurrent_start_and_escaped_password(pg_server, pg_url, tmp_path):
    assert URL_PASSWORD in pg_url
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
    with pg_server.connect(pg_url.rsplit("/", 1)[1]) as c:
        assert c.execute("select count(*) from camera").fetchone()[0] == 408
