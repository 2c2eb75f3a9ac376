"""The ``disaster-ops coverage`` command, on real files (registry CSV, GeoJSON, SQLite)."""

import json

import pytest
from typer.testing import CliRunner

from disaster_ops.cli import app
from tests.conftest import run_cli, shared_path

runner = CliRunner()

AOI = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "block"},
       "geometry": {"type": "Polygon", "coordinates": [[[127.0, 37.5], [127.006, 37.5], [127.006, 37.505],
                                                         [127.0, 37.505], [127.0, 37.5]]]}}]}


def write_registry(path):
    rows = ["id,lat,lon,heading_deg,fov_deg,range_m"]
    k = 0
    for i in range(6):
        for j in range(6):
            rows.append(f"c{k},{37.5 + i * 0.001:.4f},{127.0 + j * 0.001:.4f},{(k * 47) % 360},90,60")
            k += 1
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_coverage_writes_geojson_and_summary(tmp_path, data_dir):
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps(AOI), encoding="utf-8")
    reg = write_registry(tmp_path / "cams.csv")
    out = tmp_path / "out" / "uncovered.geojson"
    r = runner.invoke(app, ["coverage", "--area", str(aoi), "--cameras", str(reg), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    fc = json.loads(out.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection"
    assert len(fc["features"]) == summary["zones"] > 0
    props = [f["properties"] for f in fc["features"]]
    assert [p["rank"] for p in props] == list(range(1, len(props) + 1))
    assert all(p["area_m2"] >= 25.0 for p in props)
    assert 0 < summary["covered_fraction"] < 1
    total = summary["covered_area_m2"] + summary["uncovered_area_m2"]
    assert abs(total - summary["aoi_area_m2"]) / summary["aoi_area_m2"] < 1e-4
    assert summary["cameras_used"] > 0

    # overriding FOV and range changes the answer: 360° discs of 200 m cover the block entirely
    r2 = runner.invoke(app, ["coverage", "--area", str(aoi), "--cameras", str(reg), "--out", str(out),
                             "--fov-deg", "360", "--range-m", "200", "--json"])
    assert r2.exit_code == 0, r2.output
    s2 = json.loads(r2.stdout.strip().splitlines()[-1])
    assert s2["zones"] == 0 and s2["covered_fraction"] == pytest.approx(1.0, abs=1e-6)


def test_coverage_from_database_after_import(tmp_path, data_dir):
    reg = write_registry(tmp_path / "cams.csv")
    r = runner.invoke(app, ["cameras", "import", "--local-admin", str(reg)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "u.geojson"
    r = runner.invoke(app, ["coverage", "--around", "37.5025,127.0025", "--radius-m", "300", "--out", str(out),
                            "--rank-from", "37.5025,127.0025"])
    assert r.exit_code == 0, r.output
    assert "uncovered zones" in r.stdout and "by 32 cameras" in r.stdout  # 4 corner cameras cannot reach the circle
    fc = json.loads(out.read_text(encoding="utf-8"))
    d = [f["properties"]["distance_m"] for f in fc["features"]]
    assert d == sorted(d)


def test_coverage_with_real_korean_registry(tmp_path, data_dir):
    reg = shared_path("cctv_registry", "daejeon_cctv_standard_2026.csv")
    out = tmp_path / "u.geojson"
    # Daejeon city hall area
    r = runner.invoke(app, ["coverage", "--around", "36.3504,127.3845", "--radius-m", "1500", "--cameras", str(reg),
                            "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["cameras_used"] > 10 and 0 < s["covered_fraction"] < 1


@pytest.mark.parametrize("content,needle", [
    ("{not json", "not valid JSON"),
    (json.dumps({"type": "Point", "coordinates": [127.0, 37.5]}), "expected a Polygon"),
    (json.dumps({"type": "Polygon", "coordinates": [[[200000, 400000], [201000, 400000], [201000, 401000],
                                                       [200000, 400000]]]}), "not WGS84"),
])
def test_bad_aoi_file_exits_2_with_one_line(tmp_path, content, needle):
    aoi = tmp_path / "bad.geojson"
    aoi.write_text(content, encoding="utf-8")
    p = run_cli("coverage", "--area", str(aoi), "--cameras", str(tmp_path / "none.csv"),
                "--out", str(tmp_path / "o.geojson"), cwd=tmp_path,
                env_extra={"DISASTER_OPS_DATA_DIR": str(tmp_path / "var")})
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0] and "bad.geojson" in lines[0]
    assert not (tmp_path / "o.geojson").exists()


def test_missing_registry_file_exits_2(tmp_path, data_dir):
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps(AOI), encoding="utf-8")
    r = runner.invoke(app, ["coverage", "--area", str(aoi), "--cameras", str(tmp_path / "nope.csv"),
                            "--out", str(tmp_path / "o.geojson")])
    assert r.exit_code == 2
    assert "nope.csv" in r.output
