from pathlib import Path

import pytest
from pydantic import ValidationError

from disaster_ops.config import Settings, get_settings
from tests.conftest import run_cli


def test_defaults_put_sqlite_under_data_dir(data_dir):
    s = get_settings()
    assert s.data_dir == data_dir
    assert s.database_url == f"sqlite:///{data_dir.as_posix()}/disaster_ops.db"
    assert s.is_sqlite


def test_env_overrides_and_database_url_alias(data_dir, monkeypatch):
    monkeypatch.setenv("DISASTER_OPS_CAMERA_DEFAULTS__RANGE_M", "80")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://ops@db/ops")
    get_settings.cache_clear()
    s = get_settings()
    assert s.camera_defaults.range_m == 80
    assert s.database_url == "postgresql+psycopg://ops@db/ops" and not s.is_sqlite


def test_toml_file(data_dir, tmp_path, monkeypatch):
    cfg = tmp_path / "ops.toml"
    cfg.write_text('log_level = "DEBUG"\n[camera_defaults]\nfov_deg = 90.0\n', encoding="utf-8")
    monkeypatch.setenv("DISASTER_OPS_CONFIG", str(cfg))
    get_settings.cache_clear()
    s = get_settings()
    assert s.camera_defaults.fov_deg == 90.0 and s.log_level == "DEBUG"


@pytest.mark.parametrize("section, bad", [
    ({"camera_defaults": {"fov_deg": 0}}, "fov_deg"),
    ({"camera_defaults": {"range_m": -5}}, "range_m"),
    ({"camera_defaults": {"zoom": 3}}, "zoom"),
])
def test_bad_config_raises(data_dir, section, bad):
    with pytest.raises(ValidationError, match=bad):
        Settings(**section)


def test_config_show_json(data_dir):
    r = run_cli("config", "show", "--json", env_extra={"DISASTER_OPS_DATA_DIR": str(data_dir)})
    assert r.returncode == 0, r.stderr
    assert '"data_dir"' in r.stdout and str(Path(data_dir)) in r.stdout
