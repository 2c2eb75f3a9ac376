"""`disaster-ops demo` seeds the database, serves the dashboard, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from tests.conftest import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def _wait_rows(db, sql: str, deadline_s: float) -> bool:
    import sqlite3

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if db.exists():
            con = sqlite3.connect(db, timeout=5)
            try:
                if con.execute(sql).fetchone()[0] > 0:
                    return True
            except sqlite3.OperationalError:
                pass  # schema not there yet
            finally:
                con.close()
        time.sleep(1.0)
    return False


def test_demo_serves_dashboard_and_stops_on_ctrl_c(data_dir):
    port, drone_port = _free_port(), _free_port()
    env = dict(os.environ, DISASTER_OPS_DATA_DIR=str(data_dir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "disaster_ops", "demo", "--port", str(port), "--drone-port", str(drone_port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        assert _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 90), "dashboard never came up"
        # The whole loop runs: the replayed CCTV clip becomes an incident, and the simulated
        # drone's worker puts the drone on the map.
        db = data_dir / "disaster_ops.db"
        assert _wait_rows(db, "SELECT count(*) FROM incident", 90), "no incident from the CCTV replay"
        assert _wait_rows(db, "SELECT count(*) FROM drone_state WHERE lat IS NOT NULL AND link_ok", 60), \
            "simulated drone never reported"
        # Ctrl-C in a terminal reaches the whole process group.
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "seeded busan_junggu_cctv_2024.csv: 408 new" in out
    assert "seeded cameras_demo.geojson: 1 new" in out
    assert proc.returncode in (0, 130), out
    assert "Traceback" not in out, out
    # Seeding again (second demo run) updates nothing and duplicates nothing.
    again = subprocess.run([sys.executable, "-m", "disaster_ops", "demo", "--seed-only"], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=60, check=False)
    assert "0 new, 0 updated, 408 unchanged" in again.stdout
