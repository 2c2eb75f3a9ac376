"""Normal output holds the product's own lines only: no dependency warnings or INFO chatter,
--quiet / --verbose and the log_level setting do what they say."""

from __future__ import annotations

import json
import logging

from typer.testing import CliRunner

from disaster_ops.cli import app
from tests.conftest import REPO, run_cli

REGISTRY = REPO / "sample_data" / "busan_junggu_cctv_2024.csv"
DEMO_CAMERAS = REPO / "sample_data" / "cameras_demo.geojson"


def test_cameras_list_json_prints_json_and_nothing_else(data_dir):
    imported = run_cli("cameras", "import", str(REGISTRY), "--local-admin", "--json")
    assert imported.returncode == 0, imported.stderr
    listed = run_cli("cameras", "list", "--json", "--limit", "5")
    assert listed.returncode == 0
    assert listed.stderr == ""  # no pydantic serializer warning, no count line
    rows = json.loads(listed.stdout)
    assert len(rows) == 5 and all(r["source_key"] for r in rows)
    text = run_cli("cameras", "list", "--limit", "2")
    # the key that `cameras config` and `watch --camera` take is the first column
    assert [ln.split()[0] for ln in text.stdout.splitlines()] == [r["source_key"] for r in rows[:2]]
    assert text.stderr == "2 cameras\n"
    quiet = run_cli("--quiet", "cameras", "list", "--limit", "2")
    assert quiet.stderr == "" and quiet.stdout == text.stdout


def test_watch_on_a_fresh_database_prints_no_alembic_lines(data_dir):
    r = run_cli("watch", "--camera", "ghost", "--duration-s", "1")
    assert r.returncode == 2
    assert "alembic" not in r.stderr.lower() and "Context impl" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == "error: unknown camera(s): ghost"
    verbose = run_cli("--verbose", "watch", "--camera", "ghost", "--duration-s", "1",
                      env_extra={"DISASTER_OPS_DATA_DIR": str(data_dir.parent / "var2")})
    assert "alembic.runtime.migration" in verbose.stderr  # still there for whoever asks


def invoke(argv: list[str], env: dict | None = None):
    """In-process, with the settings read afresh as a new process would."""
    from disaster_ops.config import get_settings

    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, argv, env=env or {})
    finally:
        get_settings.cache_clear()


def test_log_level_setting_is_read_and_the_global_options_override_it(data_dir):
    r = invoke(["db", "upgrade"], env={"DISASTER_OPS_LOG_LEVEL": "INFO"})
    assert r.exit_code == 0 and "INFO disaster_ops.storage.migrate: database" in r.stderr
    r = invoke(["db", "upgrade"])  # one-shot commands: WARNING by default
    assert r.exit_code == 0 and "INFO" not in r.stderr
    r = invoke(["--quiet", "db", "upgrade"], env={"DISASTER_OPS_LOG_LEVEL": "DEBUG"})
    assert "INFO" not in r.stderr and "DEBUG" not in r.stderr
    r = invoke(["--verbose", "db", "current"])
    assert logging.getLogger("disaster_ops").getEffectiveLevel() == logging.DEBUG
    both = invoke(["--quiet", "--verbose", "db", "current"])
    assert both.exit_code == 2 and both.stderr.strip() == "error: --quiet and --verbose: give one, not both"
    bad = run_cli("db", "current", env_extra={"DISASTER_OPS_LOG_LEVEL": "LOUD"})
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("error: setting log_level (DISASTER_OPS_LOG_LEVEL or the TOML file): "
                                  "Value error, must be DEBUG, INFO, WARNING or ERROR")


def test_an_ongoing_fire_is_logged_once_not_every_report(engine, data_dir, caplog):
    from disaster_ops.services.cameras import import_registry
    from disaster_ops.services.watch import Watcher, cameras_to_watch

    import_registry(DEMO_CAMERAS, engine=engine)
    w = Watcher(cameras_to_watch(engine=engine), engine=engine, sample_fps=4.0, report_interval_s=1.0,
                replay=True)
    with caplog.at_level(logging.DEBUG, logger="disaster_ops.services.watch"):
        w.run(duration_s=10.0)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if "→ incident" in r.getMessage()]
    info = [m for lvl, m in lines if lvl == logging.INFO]
    assert w.stats.reports >= 3 and len(lines) == w.stats.reports  # every report still at DEBUG
    assert info and len(info) == len(set(info)) < len(lines)  # each hazard + incident once at INFO
