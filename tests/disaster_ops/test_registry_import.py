"""Camera registry import on the real Korean CCTV standard data files."""

from __future__ import annotations

import csv
import json

import pytest
from sqlmodel import Session, select

from disaster_ops.errors import RegistryError
from disaster_ops.services.cameras import BBox, count_cameras, import_registry, list_cameras
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.models import AuditEvent, Camera
from tests.conftest import shared_path


def _data_rows(path, encoding="utf-8") -> int:
    with open(path, encoding=encoding, newline="") as f:
        return sum(1 for row in csv.reader(f) if any(c.strip() for c in row)) - 1


def test_busan_2024_layout_imports_all_good_rows(engine):
    path = shared_path("cctv_registry", "busan_cctv_standard_2024.csv")
    report = import_registry(path, engine=engine)
    assert report.format == "korean-standard"
    assert report.rows_read == _data_rows(path) == 15737
    # The file has two rows with coordinates outside Korea (0.0 and 30.07 latitude).
    assert [(i.row, i.field) for i in report.skipped] == [(6940, "WGS84위도"), (14068, "WGS84위도")]
    assert report.imported == report.rows_read - report.skipped_count
    assert count_cameras(engine=engine) == report.imported


def test_daejeon_2026_layout_uses_management_number_as_key(engine):
    path = shared_path("cctv_registry", "daejeon_cctv_standard_2026.csv")
    report = import_registry(path, engine=engine)
    assert report.imported == _data_rows(path) - report.skipped_count == 9037
    with Session(engine) as s:
        cam = s.exec(select(Camera).where(Camera.source_key == "kr:202636400000800323")).one()
    assert (cam.lat, cam.lon, cam.camera_count) == (36.3283, 127.454, 2)
    assert cam.fov_deg == 360.0  # 2 cameras on the pole → modelled as 360°
    assert cam.operator == "대전광역시 동구청"


def test_cp949_file_and_older_layout(engine, tmp_path):
    """Older releases: 위도/경도 columns, no 관리번호, CP949 encoded."""
    src = shared_path("cctv_registry", "daejeon_cctv_standard_2026.csv")
    with open(src, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[:201]
    header = rows[0]
    drop = header.index("관리번호")
    header = ["위도" if h == "WGS84위도" else "경도" if h == "WGS84경도" else h for h in header]
    rows = [header] + rows[1:]
    rows = [r[:drop] + r[drop + 1:] for r in rows]
    old = tmp_path / "old_layout_cp949.csv"
    with open(old, "w", encoding="cp949", newline="") as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(UnicodeDecodeError):
        old.read_text(encoding="utf-8")
    report = import_registry(old, engine=engine)
    assert report.encoding == "cp949"
    assert report.imported == 200 and report.skipped_count == 0
    cams = list_cameras(engine=engine)
    assert cams[0].operator == "대전광역시 동구청"  # Korean text decoded correctly
    assert all(c.source_key.startswith("krh:") for c in cams)


def test_malformed_rows_are_reported_with_row_numbers(engine, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text(
        "name,lat,lon,heading_deg,fov_deg,range_m,stream_url\n"
        "ok-1,35.1,129.03,90,60,50,rtsp://cam/1\n"
        "no-lat,,129.03,90,60,50,\n"
        "text-lon,35.1,east,90,60,50,\n"
        "far,95.0,129.0,90,60,50,\n"
        "bad-fov,35.1,129.03,90,0,50,\n"
        "ok-2,35.2,129.04,,,,\n",
        encoding="utf-8",
    )
    report = import_registry(f, engine=engine)
    assert report.imported == 2
    assert [(i.row, i.field) for i in report.skipped] == [
        (3, "lat"), (4, "lon"), (5, "lat"), (6, "fov_deg")]
    assert "not a number" in report.skipped[1].reason
    ok2 = next(c for c in list_cameras(engine=engine) if c.name == "ok-2")
    assert ok2.view_source == "default" and ok2.fov_deg == 60.0 and ok2.range_m == 50.0


def test_strict_fails_on_first_bad_row_and_writes_nothing(engine, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("name,lat,lon\na,35.1,129.0\nb,x,129.0\n", encoding="utf-8")
    with pytest.raises(RegistryError) as exc:
        import_registry(f, engine=engine, strict=True)
    assert exc.value.row == 3 and exc.value.field == "lat"
    assert f"{f}:3" in str(exc.value)
    assert count_cameras(engine=engine) == 0


def test_reimport_updates_instead_of_duplicating(engine, tmp_path):
    path = shared_path("cctv_registry", "busan_cctv_standard_2024.csv")
    first = import_registry(path, engine=engine)
    again = import_registry(path, engine=engine)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, first.imported)
    assert count_cameras(engine=engine) == first.imported
    # Change one row's position: the same camera row is updated, not added.
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    lat_col = rows[0].index("WGS84위도")
    rows[1][lat_col] = str(float(rows[1][lat_col]) + 0.0001)
    edited = tmp_path / "busan_edit.csv"
    with open(edited, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    third = import_registry(edited, engine=engine)
    assert (third.imported, third.updated) == (0, 1)
    assert count_cameras(engine=engine) == first.imported


def test_geojson_points(engine, tmp_path):
    f = tmp_path / "cams.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "river-1", "geometry": {"type": "Point", "coordinates": [127.38, 36.35]},
         "properties": {"name": "Gapcheon bridge", "heading_deg": 45, "fov_deg": 70, "range_m": 120}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
         "properties": {}},
    ]}), encoding="utf-8")
    report = import_registry(f, engine=engine)
    assert report.imported == 1 and report.skipped[0].row == 2
    cam = list_cameras(engine=engine)[0]
    assert (cam.source_key, cam.heading_deg, cam.fov_deg, cam.range_m) == ("cam:river-1", 45, 70, 120)


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("a,b,c\n1,2,3\n", "unknown CSV layout"),
    ("{not json", "not valid JSON"),
])
def test_unreadable_files_raise_one_clear_error(engine, tmp_path, content, message):
    f = tmp_path / ("x.geojson" if content.startswith("{") else "x.csv")
    f.write_text(content, encoding="utf-8")
    with pytest.raises(RegistryError, match=message):
        import_registry(f, engine=engine)


def test_bbox_filter_and_audit(engine):
    path = shared_path("cctv_registry", "daejeon_cctv_standard_2026.csv")
    import_registry(path, engine=engine, principal=Principal("kim", Role.MANAGER))
    box = BBox.parse("127.40,36.30,127.45,36.35")
    inside = list_cameras(bbox=box, engine=engine)
    assert inside and all(127.40 <= c.lon <= 127.45 and 36.30 <= c.lat <= 36.35 for c in inside)
    assert len(inside) < count_cameras(engine=engine)
    with Session(engine) as s:
        ev = s.exec(select(AuditEvent)).one()
    assert (ev.actor, ev.action) == ("kim", "cameras.import")
    with pytest.raises(ValueError):
        BBox.parse("1,2,3")
