"""Hostile registry files (issue #17): one clear line with file, row and field, exit 2,
and nothing stored is lost or half-imported."""

from __future__ import annotations

import json
import sqlite3

import pytest

from disaster_ops.errors import RegistryError
from disaster_ops.services.cameras import count_cameras, import_registry
from tests.conftest import REPO, run_cli

BUSAN = REPO / "sample_data" / "busan_junggu_cctv_2024.csv"


def _with_stray_quote(tmp_path, line_no: int, *, repeat: int = 1):
    """The real 408-row Busan registry with one stray '"' opening a value on ``line_no``."""
    lines = BUSAN.read_text(encoding="utf-8").splitlines(keepends=True)
    body = lines[1:] * repeat
    cells = body[line_no - 2].split(",")
    cells[1] = '"' + cells[1]  # 관리기관명 starts with a quote that never closes
    body[line_no - 2] = ",".join(cells)
    f = tmp_path / "busan_stray_quote.csv"
    f.write_text(lines[0] + "".join(body), encoding="utf-8")
    return f


def _camera_count(data_dir) -> int:
    with sqlite3.connect(data_dir / "disaster_ops.db") as db:
        return db.execute("select count(*) from camera").fetchone()[0]


def test_stray_quote_in_korean_registry_names_the_row_and_imports_nothing(data_dir, tmp_path):
    ok = run_cli("cameras", "import", "--local-admin", str(BUSAN))
    assert ok.returncode == 0, ok.stderr
    before = _camera_count(data_dir)
    f = _with_stray_quote(tmp_path, 4)
    res = run_cli("cameras", "import", "--local-admin", str(f))
    assert res.returncode == 2, (res.stdout, res.stderr)
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and f"{f}:4" in err[0] and "unbalanced quote" in err[0], err
    assert "관리기관명" in err[0]
    assert "Traceback" not in res.stderr
    assert _camera_count(data_dir) == before  # nothing lost, nothing half-imported


def test_stray_quote_in_a_file_over_128_kb_is_the_same_clear_error(engine, tmp_path):
    f = _with_stray_quote(tmp_path, 10, repeat=6)  # ~2,400 rows, past csv's 128 KB field limit
    assert f.stat().st_size > 200_000
    with pytest.raises(RegistryError, match=r"busan_stray_quote.csv:10: unbalanced quote"):
        import_registry(f, engine=engine)
    assert count_cameras(engine=engine) == 0


def test_invalid_byte_names_its_row(engine, tmp_path):
    raw = BUSAN.read_bytes().split(b"\n")
    raw[6] = raw[6].replace(b",", b",\xff\xfe", 1)
    f = tmp_path / "bad_byte.csv"
    f.write_bytes(b"\n".join(raw))
    with pytest.raises(RegistryError, match=r"bad_byte.csv:7: invalid byte 0xff"):
        import_registry(f, engine=engine)


def test_overlong_field_is_a_skipped_row_and_size_limit_is_a_setting(data_dir, tmp_path):
    f = tmp_path / "long.csv"
    f.write_text("name,lat,lon\n" + "x" * 5000 + ",35.1,129.0\nok,35.1,129.01\n", encoding="utf-8")
    res = run_cli("cameras", "import", "--local-admin", "--json", str(f))
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["imported"] == 1
    assert report["skipped_rows"][0]["row"] == 2 and report["skipped_rows"][0]["field"] == "name"
    res = run_cli("cameras", "import", "--local-admin", str(f), env_extra={"DISASTER_OPS_LIMITS__REGISTRY_MAX_BYTES": "100"})
    assert res.returncode == 2 and "limits.registry_max_bytes" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("doc, field", [
    ({"type": "FeatureCollection", "features": [7]}, "feature"),
    ({"type": "FeatureCollection", "features": [{"geometry": "x"}]}, "geometry"),
    ({"type": "FeatureCollection", "features": [{"geometry": {"type": "Point", "coordinates": 5}}]},
     "geometry"),
    ({"type": "FeatureCollection", "features": [
        {"geometry": {"type": "Point", "coordinates": [129, 35]}, "properties": [1, 2]}]}, "properties"),
    ({"type": "FeatureCollection", "features": [
        {"geometry": {"type": "Point", "coordinates": [129, 35]}, "properties": {"stream_url": [1]}}]},
     "stream_url"),
    ({"type": "FeatureCollection", "features": [
        {"geometry": {"type": "Point", "coordinates": [1e39, 35]}, "properties": {}}]}, "lon"),
    ({"type": "FeatureCollection", "features": [
        {"geometry": {"type": "Point", "coordinates": [129, 35]}, "properties": {"range_m": 1e308}}]},
     "range_m"),
])
def test_structurally_wrong_geojson_features_are_reported_not_crashed(engine, tmp_path, doc, field):
    f = tmp_path / "bad.geojson"
    f.write_text(json.dumps(doc), encoding="utf-8")
    report = import_registry(f, engine=engine)
    assert report.imported == 0 and report.skipped[0].field == field, report.skipped


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, "not usable JSON"),
    ('{"type": "FeatureCollection", "features": [], "x": ' + "9" * 5000 + "}", "not usable JSON"),
])
def test_pathological_json_is_one_clear_error(engine, tmp_path, text, message):
    f = tmp_path / "deep.geojson"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError, match=message):
        import_registry(f, engine=engine)
