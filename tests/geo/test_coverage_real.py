"""``coverage`` on real registries and real boundaries: every written zone is valid and
GDAL (pyogrio, default options) reads every output format."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from disaster_ops.cli import app
from tests.conftest import shared_path

runner = CliRunner()


def _district(path, name: str, code_prefix: str | None = None) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for f in doc["features"]:
        p = f["properties"]
        if p.get("name") == name and (code_prefix is None or str(p.get("code", "")).startswith(code_prefix)):
            return {"type": "FeatureCollection", "features": [f]}
    raise AssertionError(f"{name} not in {path}")


def _run(tmp_path, aoi: dict, registry, out_name: str) -> tuple[dict, object]:
    area = tmp_path / "aoi.geojson"
    area.write_text(json.dumps(aoi, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / out_name
    r = runner.invoke(app, ["coverage", "--area", str(area), "--cameras", str(registry), "--out", str(out),
                            "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout.strip().splitlines()[-1]), out


def _check(summary: dict, out) -> None:
    df = pyogrio.read_dataframe(out)  # GDAL with default settings
    df = df.sort_values("rank")  # FlatGeobuf keeps spatial-index order
    assert len(df) == summary["zones"] > 0
    geoms = np.asarray(df.geometry.values, dtype=object)
    reasons = [shapely.is_valid_reason(g) for g in geoms if not shapely.is_valid(g)]
    assert not reasons, reasons[:3]
    assert list(df["rank"]) == list(range(1, len(df) + 1))
    assert set(df.columns) >= {"rank", "area_m2", "centroid_lat", "centroid_lon"}
    assert (df["area_m2"] >= 25.0).all()
    written = float(df["area_m2"].sum())
    assert written <= summary["uncovered_area_m2"] * 1.0001


@pytest.mark.parametrize("suffix", [".geojson", ".geojsonl", ".gpkg", ".fgb"])
def test_busan_district_all_formats_valid_and_readable(tmp_path, data_dir, suffix):
    reg = shared_path("cctv_registry", "busan_cctv_standard_2024.csv")
    aoi = _district(shared_path("boundaries", "southkorea-maps", "skorea_municipalities_geo_simple.json"),
                    "해운대구", "21")
    summary, out = _run(tmp_path, aoi, reg, f"haeundae{suffix}")
    assert summary["cameras_used"] > 500
    _check(summary, out)


def test_daejeon_district_valid(tmp_path, data_dir):
    reg = shared_path("cctv_registry", "daejeon_cctv_standard_2026.csv")
    aoi = _district(shared_path("boundaries", "southkorea-maps", "skorea_municipalities_geo_simple.json"),
                    "유성구", "25")
    summary, out = _run(tmp_path, aoi, reg, "yuseong.geojson")
    assert summary["cameras_used"] > 300
    _check(summary, out)


def test_seoul_nowon_with_real_camera_pattern_valid(tmp_path, data_dir):
    """The reported case: Nowon district, thousands of 50 m discs. The real Busan point
    pattern (Seoul has no registry file here) is moved onto Nowon's centroid."""
    aoi = _district(shared_path("boundaries", "seoul_municipalities_2018.geojson"), "노원구")
    c = shapely.geometry.shape(aoi["features"][0]["geometry"]).centroid
    src = shared_path("cctv_registry", "busan_cctv_standard_2024.csv")
    with src.open(encoding="utf-8") as fh:
        rows = [(float(r["WGS84위도"]), float(r["WGS84경도"])) for r in csv.DictReader(fh)
                if r["WGS84위도"] and r["WGS84경도"]]
    lat = np.array([r[0] for r in rows])
    lon = np.array([r[1] for r in rows])
    ok = (lat > 34) & (lon > 128)
    lat = lat[ok] - np.median(lat[ok]) + c.y
    lon = lon[ok] - np.median(lon[ok]) + c.x
    reg = tmp_path / "nowon_cams.csv"
    with reg.open("w", encoding="utf-8") as fh:
        fh.write("id,lat,lon,heading_deg,fov_deg,range_m\n")
        for i, (a, b) in enumerate(zip(lat, lon, strict=True)):
            fh.write(f"n{i},{a:.7f},{b:.7f},0,360,50\n")
    summary, out = _run(tmp_path, aoi, reg, "nowon.geojson")
    assert summary["cameras_used"] > 1000
    _check(summary, out)
    # the same area as the plain (untiled, single union_all) overlay, within 0.1 %
    from geo.coverage import uncovered_zones
    from geo.sectors import Cameras

    plain = uncovered_zones(aoi, Cameras(lat, lon, 0.0, 360.0, 50.0))
    assert summary["uncovered_area_m2"] == pytest.approx(plain.uncovered_area_m2, rel=1e-3)


def test_index_is_cached_and_rebuilt_when_registry_changes(tmp_path, data_dir):
    from disaster_ops.services import coverage as cov_svc

    reg = tmp_path / "cams.csv"
    reg.write_text("id,lat,lon,heading_deg,fov_deg,range_m\na,37.5,127.0,0,360,50\n", encoding="utf-8")
    first = cov_svc.file_index(reg)
    assert cov_svc.file_index(reg) is first  # reused in the process
    cov_svc.clear_memory()
    again = cov_svc.file_index(reg)  # from the disk cache
    assert again is not first and again.covered_area_m2 == pytest.approx(first.covered_area_m2)
    reg.write_text("id,lat,lon,heading_deg,fov_deg,range_m\na,37.5,127.0,0,360,80\n", encoding="utf-8")
    changed = cov_svc.file_index(reg)
    assert changed.covered_area_m2 > first.covered_area_m2 * 2


def test_db_index_invalidated_by_import(tmp_path, engine):
    from disaster_ops.services import coverage as cov_svc
    from disaster_ops.services.cameras import import_registry

    reg = tmp_path / "cams.csv"
    reg.write_text("id,lat,lon,heading_deg,fov_deg,range_m\na,37.5,127.0,0,360,50\n", encoding="utf-8")
    import_registry(reg, engine=engine)
    one = cov_svc.db_index(engine=engine)
    assert cov_svc.db_index(engine=engine) is one
    reg.write_text("id,lat,lon,heading_deg,fov_deg,range_m\nb,37.51,127.0,0,360,50\n", encoding="utf-8")
    import_registry(reg, engine=engine)
    two = cov_svc.db_index(engine=engine)
    assert len(two.cameras) == 2 and two.covered_area_m2 == pytest.approx(2 * one.covered_area_m2, rel=1e-6)


def _zone_set(out) -> dict[bytes, object]:
    df = pyogrio.read_dataframe(out)  # GDAL with default settings
    geoms = shapely.normalize(np.asarray(df.geometry.values, dtype=object))
    return dict(zip(shapely.to_wkb(geoms).tolist(), geoms, strict=True))


def test_one_moved_camera_rebuilds_only_its_group_and_changes_only_the_zones_near_it(tmp_path, data_dir,
                                                                                      monkeypatch):
    """The real Busan registry over the whole city, then the same file with one camera in
    Haeundae moved 33 m north (a re-export). The second run re-unions only the groups of
    overlapping sectors around that camera (the rest come from the cached index), every
    zone it changed lies within the camera's reach, and its output is byte for byte what a
    build from scratch (fresh data directory) writes."""
    from disaster_ops.config import get_settings
    from disaster_ops.services import coverage as cov_svc

    city = _district(shared_path("boundaries", "southkorea-maps", "skorea_provinces_geo_simple.json"), "부산광역시")
    district = shapely.geometry.shape(_district(shared_path("boundaries", "southkorea-maps",
                                                            "skorea_municipalities_geo_simple.json"),
                                                "해운대구", "21")["features"][0]["geometry"])
    reg = tmp_path / "busan.csv"
    reg.write_bytes(shared_path("cctv_registry", "busan_cctv_standard_2024.csv").read_bytes())
    cov_svc.clear_memory()
    before, out_before = _run(tmp_path, city, reg, "before.geojsonl")

    lines = reg.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    ilat, ilon = header.index("WGS84위도"), header.index("WGS84경도")
    for n, line in enumerate(lines[1:], 1):
        row = next(csv.reader([line]))
        if row[ilat] and row[ilon] and line.count(row[ilat]) == 1 and \
                district.contains(shapely.Point(float(row[ilon]), float(row[ilat]))):
            break
    lat, lon = float(row[ilat]), float(row[ilon])
    lines[n] = line.replace(row[ilat], f"{lat + 0.0003:.8f}")
    reg.write_text("".join(lines), encoding="utf-8")
    cov_svc.clear_memory()  # as a new process would: only the disk cache is left
    after, out_after = _run(tmp_path, city, reg, "after.geojsonl")
    index = cov_svc.file_index(reg)  # the index that run built (kept in memory)
    assert index.groups is not None and 1 <= index.groups.unioned <= 3
    assert index.groups.reused > 100 * index.groups.unioned
    assert after["cameras_used"] == before["cameras_used"]

    old, new = _zone_set(out_before), _zone_set(out_after)
    changed = [g for k, g in old.items() if k not in new] + [g for k, g in new.items() if k not in old]
    assert changed, "moving a camera changed no zone"
    reach_deg = (get_settings().camera_defaults.ptz_range_m + 60.0) / 88_000.0  # > range in degrees of lon here
    near = shapely.box(lon - reach_deg, lat - reach_deg, lon + reach_deg, lat + 0.0003 + reach_deg)
    assert all(g.intersects(near) for g in changed)
    assert len(old) - sum(k not in new for k in old) >= len(old) - 2  # the other zones are the same polygons

    monkeypatch.setenv("DISASTER_OPS_DATA_DIR", str(tmp_path / "fresh"))
    get_settings.cache_clear()
    cov_svc.clear_memory()
    scratch, out_scratch = _run(tmp_path, city, reg, "scratch.geojsonl")
    assert cov_svc.file_index(reg).groups.reused == 0
    assert out_scratch.read_bytes() == out_after.read_bytes()
    assert scratch == {**after, "out": scratch["out"]}


def _cluster_csv(path, lat, lon, header="id,lat,lon,heading_deg,fov_deg,range_m") -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        for i, (a, b) in enumerate(zip(lat, lon, strict=True)):
            fh.write(f"k{i},{a:.7f},{b:.7f},{(i * 37) % 360},{360 if i % 2 else 90},60\n")


def test_a_new_file_and_a_re_import_reuse_the_unchanged_groups(tmp_path, engine):
    """A registry exported again under a new name, and a database re-import with one camera
    moved, union only the groups the change touches; the answers equal a fresh build."""
    from disaster_ops.services import coverage as cov_svc
    from disaster_ops.services.cameras import import_registry
    from geo.coverage import CoverageIndex
    from geo.sectors import Cameras

    rng = np.random.default_rng(3)
    lat = 35.15 + rng.normal(0, 0.008, 600)
    lon = 129.05 + rng.normal(0, 0.008, 600)
    moved = int(np.argmin(np.hypot(lat - 35.15, lon - 129.05)))  # in the dense middle: in a group
    a = tmp_path / "export_monday.csv"
    _cluster_csv(a, lat, lon)
    first = cov_svc.file_index(a)
    assert first.groups.reused == 0 and first.groups.unioned > 20
    lat[moved] += 0.0003
    b = tmp_path / "export_tuesday.csv"
    _cluster_csv(b, lat, lon)
    cov_svc.clear_memory()  # a new process: the newest cached index is the one reused
    second = cov_svc.file_index(b)
    assert 1 <= second.groups.unioned <= 3 and second.groups.reused >= first.groups.unioned - 4
    as_written = [np.array([float(f"{v:.7f}") for v in x]) for x in (lat, lon)]
    fresh = CoverageIndex.build(Cameras(*as_written, (np.arange(600) * 37) % 360.0,
                                        np.where(np.arange(600) % 2, 360.0, 90.0), 60.0),
                                precompute=False, union=True)
    assert (shapely.to_wkb(second.union) == shapely.to_wkb(fresh.union)).all()

    import_registry(a, engine=engine)
    before = cov_svc.db_index(engine=engine)
    import_registry(b, engine=engine)  # the same keys: the moved camera is updated in place
    after = cov_svc.db_index(engine=engine)
    assert len(after.cameras) == 600 and after is not before
    assert 1 <= after.groups.unioned <= 3 and after.groups.reused >= before.groups.unioned - 4
    assert shapely.area(after.union).sum() == pytest.approx(shapely.area(fresh.union).sum(), rel=1e-12)


def test_a_damaged_cache_is_rebuilt_not_reused(tmp_path, data_dir):
    """A truncated cache file, or one whose group table does not match its union, is neither
    trusted as the index nor reused for a rebuild: the answer equals a fresh build."""
    from disaster_ops.services import coverage as cov_svc
    from geo.coverage import CoverageIndex

    rng = np.random.default_rng(4)
    lat = 35.15 + rng.normal(0, 0.006, 300)
    lon = 129.05 + rng.normal(0, 0.006, 300)
    reg = tmp_path / "cams.csv"
    _cluster_csv(reg, lat, lon)
    good = cov_svc.file_index(reg)
    (cache,) = (data_dir / "cache" / "coverage").glob("*.npz")
    with np.load(cache) as z:
        fields = dict(z)
    fields["group_n"] = fields["group_n"] + 1  # parts no longer add up
    np.savez(cache.with_name("tampered.npz"), **fields)
    with pytest.raises(ValueError, match="group table"):
        CoverageIndex.load(cache.with_name("tampered.npz"))
    cache.with_name("tampered.npz").replace(cache)
    cov_svc.clear_memory()
    again = cov_svc.file_index(reg)  # the damaged file is not trusted: rebuilt
    assert again.groups.reused == 0
    assert (shapely.to_wkb(again.union) == shapely.to_wkb(good.union)).all()
    (cache,) = (data_dir / "cache" / "coverage").glob("*.npz")
    cache.write_bytes(cache.read_bytes()[:1000])  # truncated
    cov_svc.clear_memory()
    lat[0] += 0.0003
    _cluster_csv(reg, lat, lon)
    changed = cov_svc.file_index(reg)  # nothing to reuse: a full build, same as from scratch
    assert changed.groups.reused == 0 and changed.groups.unioned > 5


def test_the_cache_keeps_the_union_exactly_and_can_be_written_beside_the_query(tmp_path, data_dir, monkeypatch):
    """Cache version 7 keeps the union as flat coordinate arrays: read back, the same parts
    byte for byte; an index cache of the earlier WKB layout still loads (a rebuild may take
    groups from it). Inside ``background_cache_writes`` (the coverage command) the file is
    written on a thread: the index is usable at once and the file is complete on exit."""
    from disaster_ops.services import coverage as cov_svc
    from geo.coverage import CoverageIndex, _wkb_blob

    rng = np.random.default_rng(7)
    reg = tmp_path / "cams.csv"
    _cluster_csv(reg, 35.15 + rng.normal(0, 0.006, 300), 129.05 + rng.normal(0, 0.006, 300))
    cache_dir = data_dir / "cache" / "coverage"
    writers = []
    real_write = cov_svc._write_cache

    def on_which_thread(key, arrays):
        writers.append(threading.current_thread() is threading.main_thread())
        real_write(key, arrays)

    import threading

    with monkeypatch.context() as m:
        m.setattr(cov_svc, "_write_cache", on_which_thread)
        with cov_svc.background_cache_writes():
            idx = cov_svc.file_index(reg)
        assert writers == [False]  # written on a thread, finished when the block ended
    (cache,) = cache_dir.glob("*.npz")
    assert not list(cache_dir.glob(".*"))  # no temporary file left
    back = CoverageIndex.load(cache)
    assert shapely.get_num_interior_rings(idx.union).sum() > 0  # holes round-trip too
    assert (shapely.to_wkb(back.union) == shapely.to_wkb(idx.union)).all()
    assert (back.groups.group_keys == idx.groups.group_keys).all()
    with np.load(cache) as z:  # the earlier layout: the union as WKB
        fields = {k: z[k] for k in z.files if not k.startswith("union_")}
    blob, fields["union_offsets"] = _wkb_blob(idx.union)
    fields["union"] = np.frombuffer(blob, dtype=np.uint8)
    np.savez(tmp_path / "v6.npz", **fields)
    assert (shapely.to_wkb(CoverageIndex.load(tmp_path / "v6.npz").union) == shapely.to_wkb(idx.union)).all()
    with np.load(cache) as z:
        fields = dict(z)
    fields["union_ring_offsets"] = fields["union_ring_offsets"][:-1]  # offsets that do not add up
    np.savez(tmp_path / "bad.npz", **fields)
    with pytest.raises(ValueError, match="union arrays"):
        CoverageIndex.load(tmp_path / "bad.npz")
