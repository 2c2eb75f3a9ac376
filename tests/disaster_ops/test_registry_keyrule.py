"""One key rule for every input format: attaching a stream to a camera imported from the
Korean standard data updates that camera; it never creates a second one at the pole."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from disaster_ops.services.cameras import count_cameras, import_registry
from disaster_ops.storage.models import Camera
from tests.conftest import shared_path


def _slice(src, dst, n_rows: int):
    lines = src.read_text(encoding="utf-8").splitlines()[: n_rows + 1]
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


def _cams(engine) -> list[Camera]:
    with Session(engine) as s:
        return list(s.exec(select(Camera).order_by(Camera.id)))


def test_geojson_stream_attaches_to_standard_camera_by_position(tmp_path, engine):
    reg = _slice(shared_path("cctv_registry", "busan_cctv_standard_2024.csv"), tmp_path / "busan.csv", 40)
    import_registry(reg, engine=engine)
    before = _cams(engine)
    n = len(before)
    target = before[0]
    assert target.source_key.startswith("krh:") and target.fov_deg >= 360  # "360도 전방면"
    # a stream file made by hand: a position a couple of metres off, its own name, no view
    feat = {"type": "Feature", "properties": {"name": "Jung-gu pole stream", "stream_url": "rtsp://10.0.0.5/1"},
            "geometry": {"type": "Point", "coordinates": [target.lon + 0.00002, target.lat + 0.00001]}}
    gj = tmp_path / "streams.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}), encoding="utf-8")
    rep = import_registry(gj, engine=engine)
    assert rep.imported == 0 and rep.updated == 1
    assert count_cameras(engine=engine) == n
    after = {c.id: c for c in _cams(engine)}[target.id]
    assert after.stream_url == "rtsp://10.0.0.5/1"
    assert after.source_key == target.source_key
    assert after.fov_deg == target.fov_deg and after.lat == target.lat  # the registry view and position stay
    # re-attaching (same file again, or a new URL) creates no duplicate either
    import_registry(gj, engine=engine)
    feat["properties"]["stream_url"] = "rtsp://10.0.0.5/2"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}), encoding="utf-8")
    import_registry(gj, engine=engine)
    assert count_cameras(engine=engine) == n
    assert {c.id: c for c in _cams(engine)}[target.id].stream_url == "rtsp://10.0.0.5/2"
    # the standard data re-imported later keeps the attached stream
    import_registry(reg, engine=engine)
    assert count_cameras(engine=engine) == n
    assert {c.id: c for c in _cams(engine)}[target.id].stream_url == "rtsp://10.0.0.5/2"


def test_plain_csv_id_equal_to_management_number_updates(tmp_path, engine):
    reg = _slice(shared_path("cctv_registry", "daejeon_cctv_standard_2026.csv"), tmp_path / "dj.csv", 20)
    import_registry(reg, engine=engine)
    n = count_cameras(engine=engine)
    target = _cams(engine)[3]
    assert target.source_key.startswith("kr:")
    mgmt = target.source_key[3:]
    plain = tmp_path / "streams.csv"
    # far from the stored position on purpose: the id alone decides
    plain.write_text(f"id,lat,lon,stream_url\n{mgmt},36.0,127.0,rtsp://cam/{mgmt}\n", encoding="utf-8")
    rep = import_registry(plain, engine=engine)
    assert (rep.imported, rep.updated) == (0, 1)
    assert count_cameras(engine=engine) == n
    got = {c.id: c for c in _cams(engine)}[target.id]
    assert got.stream_url == f"rtsp://cam/{mgmt}" and got.lat == target.lat


def test_a_different_named_camera_nearby_stays_separate(tmp_path, engine):
    a = tmp_path / "a.csv"
    a.write_text("name,lat,lon\nGate A,37.5,127.0\n", encoding="utf-8")
    import_registry(a, engine=engine)
    b = tmp_path / "b.csv"
    b.write_text("name,lat,lon\nGate B,37.50001,127.0\n", encoding="utf-8")  # 1 m away, another camera
    import_registry(b, engine=engine)
    assert count_cameras(engine=engine) == 2
