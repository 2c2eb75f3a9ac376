"""``disaster-ops doctor`` against real databases (fresh, un-migrated, migrated) and a real
closed port on 127.0.0.1 standing for an unreachable camera and tile server."""

from __future__ import annotations

import json
import socket
import sqlite3

from typer.testing import CliRunner

from disaster_ops.cli import app
from disaster_ops.cli.exit_codes import ExitCode


def _doctor(*args: str, env: dict | None = None):
    from disaster_ops.config import get_settings

    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["doctor", "--no-models", "--timeout-s", "1", *args],
                               env={"DISASTER_OPS_MAP__TILES": "boundaries", **(env or {})})
    finally:
        get_settings.cache_clear()
    return r


def _checks(r) -> dict:
    return {c["name"]: c for c in json.loads(r.stdout)}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fresh_installation_fails_and_says_run_db_upgrade_without_creating_anything(data_dir):
    r = _doctor("--json")
    assert r.exit_code == ExitCode.FAILED
    c = _checks(r)
    assert c["database"]["status"] == "FAIL" and c["migrations"]["status"] == "FAIL"
    assert c["migrations"]["fix"] == "run: disaster-ops db upgrade"
    assert c["disk"]["status"] in ("OK", "WARN") and c["tiles"]["status"] == "OK"
    assert not data_dir.exists()  # the doctor only looks
    text = _doctor()
    lines = text.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == ["FAIL", "FAIL", "WARN", "WARN", "OK", "OK"]
    assert lines[1].endswith("-> run: disaster-ops db upgrade")


def test_an_unmigrated_database_fails_only_the_migration_check(data_dir):
    data_dir.mkdir(parents=True)
    sqlite3.connect(data_dir / "disaster_ops.db").execute("CREATE TABLE t (x)").connection.close()
    c = _checks(_doctor("--json"))
    assert c["database"]["status"] == "OK"
    assert c["migrations"]["status"] == "FAIL" and c["migrations"]["detail"].startswith("schema at none")


def test_migrated_database_with_an_unreachable_camera_and_tile_server(engine, data_dir):
    from disaster_ops.storage.db import session_scope
    from disaster_ops.storage.models import Camera

    ok = _doctor("--json")
    assert ok.exit_code == ExitCode.OK, ok.output
    c = _checks(ok)
    assert c["migrations"]["status"] == "OK" and c["cameras"]["detail"].startswith("no camera")

    port = _closed_port()
    from disaster_ops.services.drones import register_drone

    with session_scope(engine) as s:
        register_drone(s, name="sim-1", connection=f"tcp:127.0.0.1:{port}")
        s.add(Camera(source_key="cam:gate", name="gate", lat=35.1, lon=129.0,
                     stream_url=f"rtsp://viewer:s3cret@127.0.0.1:{port}/live"))
    r = _doctor("--json", env={"DISASTER_OPS_MAP__TILES": f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"})
    assert r.exit_code == ExitCode.FAILED
    c = _checks(r)
    assert c["cameras"]["status"] == "FAIL"  # the only camera cannot be reached
    assert c["cameras"]["detail"].startswith("1 of 1 stream(s) unreachable: cam:gate (")
    assert c["tiles"]["status"] == "FAIL" and f"127.0.0.1:{port}" in c["tiles"]["detail"]
    assert "s3cret" not in r.stdout
    assert c["drones"]["status"] == "WARN"  # registered, no worker has written its live state
    assert c["drones"]["detail"].startswith("1 of 1 drone(s) not live: sim-1 (never heard from), sim-1 (tcp link: ")
    assert "drone-worker --name" in c["drones"]["fix"]


def test_models_check_loads_the_shipped_detector(engine):
    from disaster_ops.config import get_settings

    get_settings.cache_clear()
    r = CliRunner().invoke(app, ["doctor", "--json"], env={"DISASTER_OPS_MAP__TILES": "boundaries",
                                                          "DISASTER_OPS_MODELS__FIRE_SMOKE": "/nonexistent.onnx"})
    get_settings.cache_clear()
    c = _checks(r)
    assert r.exit_code == ExitCode.FAILED and c["models"]["status"] == "FAIL"
    assert "/nonexistent.onnx" in c["models"]["detail"]
    good = CliRunner().invoke(app, ["doctor", "--json"], env={"DISASTER_OPS_MAP__TILES": "boundaries"})
    get_settings.cache_clear()
    assert _checks(good)["models"]["status"] == "OK" and good.exit_code == ExitCode.OK
