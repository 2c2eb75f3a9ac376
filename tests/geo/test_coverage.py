import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.aoi import PointRadius, load_aoi
from geo.coverage import CoverageIndex, TiledCoverage, uncovered_zones
from geo.errors import InvalidGeometryError
from geo.sectors import Cameras

BOUNDARIES = Path("/work/shared/data/boundaries")


def grid_cameras(lat0=37.5, lon0=127.0, n=12, step_deg=0.001, seed=3):
    rng = np.random.default_rng(seed)
    la, lo = np.meshgrid(lat0 + np.arange(n) * step_deg, lon0 + np.arange(n) * step_deg)
    m = la.size
    return Cameras(la.ravel(), lo.ravel(), rng.uniform(0, 360, m), rng.choice([60.0, 90.0, 360.0], m),
                   rng.uniform(30.0, 80.0, m))


def box(lon0, lat0, lon1, lat1):
    return shapely.box(lon0, lat0, lon1, lat1)


def assert_area_identity(res):
    total = res.covered_area_m2 + res.uncovered_area_m2
    assert abs(total - res.aoi_area_m2) / res.aoi_area_m2 < 1e-4  # 0.01 %
    kept = sum(z.area_m2 for z in res.zones)
    assert kept + res.dropped_area_m2 == pytest.approx(res.uncovered_area_m2, rel=1e-9)


def test_uncovered_plus_covered_equals_aoi_polygon():
    cams = grid_cameras()
    res = uncovered_zones(box(127.0, 37.5, 127.012, 37.51), cams, min_area_m2=10.0)
    assert 0.05 < res.covered_fraction < 0.95
    assert_area_identity(res)
    assert all(z.polygon_m.is_valid and z.area_m2 >= 10.0 for z in res.zones)
    areas = [z.area_m2 for z in res.zones]
    assert areas == sorted(areas, reverse=True)
    assert [z.rank for z in res.zones] == list(range(1, len(areas) + 1))
    # zones really are outside every sector
    cover = shapely.union_all(shapely.buffer(res.covered_m, -0.01))
    assert all(shapely.intersection(z.polygon_m, cover).area < 1e-3 for z in res.zones)


def test_polygon_with_hole_and_multipolygon():
    outer = box(127.0, 37.5, 127.012, 37.51)
    hole = box(127.004, 37.503, 127.008, 37.507)
    holed = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    far = box(127.05, 37.55, 127.052, 37.552)  # no camera there: fully uncovered
    aoi = shapely.MultiPolygon([holed, far])
    res = uncovered_zones(aoi, grid_cameras(), min_area_m2=0.0)
    assert_area_identity(res)
    # nothing inside the hole is reported
    hole_m = res.frame.geom_to_m(hole)
    assert sum(shapely.intersection(z.polygon_m, hole_m).area for z in res.zones) < 1e-6
    far_m = res.frame.geom_to_m(far)
    assert res.zones[0].polygon_m.equals_exact(far_m, tolerance=1e-6) or \
        abs(res.zones[0].polygon_m.area - far_m.area) < 1.0 or any(
            abs(z.polygon_m.area - far_m.area) < 1.0 for z in res.zones)


def test_point_radius_aoi_and_rank_from():
    cams = grid_cameras()
    aoi = PointRadius(37.505, 127.005, 600.0)
    res = uncovered_zones(aoi, cams, rank_from=(37.505, 127.005))
    assert_area_identity(res)
    assert res.aoi_area_m2 == pytest.approx(np.pi * 600**2, rel=0.002)
    d = [z.distance_m for z in res.zones]
    assert d == sorted(d)


def test_no_cameras_means_whole_aoi_uncovered():
    cams = Cameras([], [], [], [], [])
    res = uncovered_zones(PointRadius(37.5, 127.0, 100.0), cams)
    assert res.covered_area_m2 == 0
    assert len(res.zones) == 1 and res.zones[0].area_m2 == pytest.approx(res.aoi_area_m2)


def test_invalid_cameras_in_the_batch_are_reported_not_fatal():
    cams = grid_cameras(n=4)
    cams.fov_deg[0] = -1.0
    cams.heading_deg[1] = np.nan
    cams.fov_deg[1] = 60.0
    res = uncovered_zones(box(127.0, 37.5, 127.004, 37.504), cams)
    reasons = dict(res.invalid_cameras)
    assert reasons["0"].startswith("fov_deg") and reasons["1"] == "heading_deg missing"
    assert_area_identity(res)


def test_bowtie_is_repaired_or_rejected():
    bowtie = shapely.Polygon([(127.0, 37.5), (127.01, 37.51), (127.01, 37.5), (127.0, 37.51)])
    assert not bowtie.is_valid
    res = uncovered_zones(bowtie, grid_cameras())
    assert res.aoi_m.is_valid and res.aoi_area_m2 > 0
    assert_area_identity(res)
    with pytest.raises(InvalidGeometryError, match="invalid polygon.*Self-intersection"):
        uncovered_zones(bowtie, grid_cameras(), repair=False)


@pytest.mark.parametrize("aoi,match", [
    (shapely.Polygon(), "empty"),
    (shapely.LineString([(127, 37.5), (127.1, 37.6)]), "expected a Polygon"),
    (shapely.Polygon([(127, 37.5), (127.1, 37.6), (127.2, 37.7)]), "zero area"),
    (shapely.box(200000, 400000, 201000, 401000), "not WGS84 lon/lat"),
    ({"type": "FeatureCollection", "features": []}, "no geometries"),
    ({"foo": 1}, "not a GeoJSON"),
])
def test_unusable_aoi_is_rejected_with_a_clear_error(aoi, match):
    with pytest.raises(InvalidGeometryError, match=match):
        load_aoi(aoi)


def test_index_with_tiles_matches_plain_computation():
    cams = grid_cameras(n=20)
    aoi = PointRadius(37.509, 127.009, 700.0)
    plain = uncovered_zones(aoi, cams)
    idx = CoverageIndex.build(cams, frame=plain.frame, tile_m=300.0)
    fast = uncovered_zones(aoi, idx)
    assert fast.covered_area_m2 == pytest.approx(plain.covered_area_m2, rel=1e-6)
    assert len(fast.zones) == len(plain.zones)
    assert fast.uncovered_m.is_valid
    assert fast.uncovered_m.symmetric_difference(plain.uncovered_m).area < 1e-6 * plain.aoi_area_m2
    assert fast.covered_m.area == pytest.approx(plain.covered_m.area, rel=1e-6)
    assert_area_identity(fast)
    # an AOI with a hole, spanning many tiles, through the index
    ring = shapely.Point(127.009, 37.509).buffer(0.008)
    holed = ring.difference(shapely.Point(127.009, 37.509).buffer(0.003))
    a = uncovered_zones(holed, cams)
    b = uncovered_zones(holed, idx)
    assert b.uncovered_area_m2 == pytest.approx(a.uncovered_area_m2, rel=1e-6)
    assert [round(z.area_m2, 3) for z in b.zones] == [round(z.area_m2, 3) for z in a.zones]
    no_tiles = uncovered_zones(aoi, CoverageIndex.build(cams, frame=plain.frame, precompute=False))
    assert no_tiles.covered_area_m2 == pytest.approx(plain.covered_area_m2, rel=1e-6)


def test_tiled_union_area_equals_union_all():
    cams = grid_cameras(n=25)
    idx = CoverageIndex.build(cams, tile_m=250.0)
    ref = shapely.union_all(idx.polygons_m).area
    assert idx.tiled.area_m2 == pytest.approx(ref, rel=1e-9)
    assert idx.tiled.merged().area == pytest.approx(ref, rel=1e-9)
    assert TiledCoverage.build(np.array([], dtype=object)).area_m2 == 0


@pytest.mark.skipif(not (BOUNDARIES / "seoul_municipalities_2018.geojson").is_file(),
                    reason="real boundary data not present")
def test_admin_boundary_geojson_file_as_aoi(tmp_path):
    src = json.loads((BOUNDARIES / "seoul_municipalities_2018.geojson").read_text(encoding="utf-8"))
    feats = src["features"]
    one = next(f for f in feats if "종로" in json.dumps(f["properties"], ensure_ascii=False))
    path = tmp_path / "jongno.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [one]}), encoding="utf-8")
    aoi = load_aoi(path)
    c = aoi.centroid
    rng = np.random.default_rng(0)
    cams = Cameras(c.y + rng.normal(0, 0.01, 3000), c.x + rng.normal(0, 0.01, 3000), rng.uniform(0, 360, 3000),
                   np.full(3000, 90.0), np.full(3000, 60.0))
    res = uncovered_zones(path, cams)
    assert 20e6 < res.aoi_area_m2 < 30e6  # Jongno-gu is about 23.9 km²
    assert 0 < res.covered_fraction < 1
    assert_area_identity(res)


def test_index_gaps_survive_save_and_answer_like_the_plain_computation(tmp_path):
    """The per-tile gaps (tile minus coverage) kept in the index: whole tiles inside the AOI
    use them as stored, edge tiles are cut; saved and loaded, or computed lazily, the
    answer is the plain computation's."""
    cams = grid_cameras(n=20)
    ring = shapely.Point(127.009, 37.509).buffer(0.008)
    holed = ring.difference(shapely.Point(127.009, 37.509).buffer(0.003))
    plain = uncovered_zones(holed, cams)
    idx = CoverageIndex.build(cams, frame=plain.frame, tile_m=300.0)
    assert idx.tiled._gaps  # computed at build, for every tile holding coverage
    idx.save(tmp_path / "index.npz")
    loaded = CoverageIndex.load(tmp_path / "index.npz")
    assert set(loaded.tiled._gaps) == set(idx.tiled._gaps)
    t = idx.tiled
    lazy = CoverageIndex(idx.frame, idx.cameras, TiledCoverage(t.pieces, t.tile_m, t.tree, t.tile_x, t.tile_y))
    for index in (idx, loaded, lazy):
        got = uncovered_zones(holed, index)
        assert got.uncovered_area_m2 == pytest.approx(plain.uncovered_area_m2, rel=1e-6)
        assert [round(z.area_m2, 3) for z in got.zones] == [round(z.area_m2, 3) for z in plain.zones]
        assert all(z.polygon_m.is_valid and z.polygon_wgs84.is_valid for z in got.zones)
    assert lazy.tiled._gaps  # filled for the tiles the query needed


def test_zone_geojson_writer_round_trips_exactly():
    from geo.zones_io import geometries_json

    holed = shapely.Polygon([(127.0, 37.5), (127.01, 37.5), (127.01, 37.51), (127.0, 37.51)],
                            [[(127.002, 37.502), (127.003, 37.502), (127.003, 37.503)]])
    multi = shapely.MultiPolygon([holed, shapely.box(127.1 + 1e-9 / 3, 37.6, 127.2, 37.7)])
    for g, text in zip([holed, multi], geometries_json(np.array([holed, multi], dtype=object)), strict=True):
        back = shapely.from_geojson(text.decode())
        assert back.geom_type == g.geom_type and shapely.equals_exact(back, g, tolerance=0)


def test_zones_cut_from_the_union_match_the_overlay_with_pockets_and_islands():
    """uncovered_from_union builds zones from rings, not one overlay: a pocket closed by
    parts that only touch at points, a covered ring with an uncovered hole holding a
    covered island, and a part crossing the area's edge all come out as the overlay does."""
    from geo.coverage import uncovered_from_union

    tri = [shapely.Polygon([(0, 1), (1, 0), (1, 1)]), shapely.Polygon([(1, 0), (0, -1), (1, -1)]),
           shapely.Polygon([(0, -1), (-1, 0), (-1, -1)]), shapely.Polygon([(-1, 0), (0, 1), (-1, 1)])]
    ring = shapely.box(10, 10, 20, 20).difference(shapely.box(12, 12, 18, 18))
    island = shapely.box(14, 14, 16, 16)
    edge = shapely.box(28, 0, 35, 5)  # crosses the area's edge at x = 30
    parts = np.array([*tri, ring, island, edge], dtype=object)
    area = shapely.box(-5, -5, 30, 25)
    zones = uncovered_from_union(area, parts, shapely.STRtree(parts))
    ref = area.difference(shapely.union_all(parts))
    assert shapely.is_valid(zones).all()
    assert len(zones) == len(shapely.get_parts(ref)) == 3  # outside, the pocket, the hole around the island
    assert shapely.multipolygons(zones).symmetric_difference(ref).area < 1e-9
    pocket = [z for z in zones if z.area == pytest.approx(2.0)]
    assert len(pocket) == 1 and pocket[0].equals(shapely.Polygon([(0, 1), (1, 0), (0, -1), (-1, 0)]))
    # a small area inside the ring's hole: the island's outline is its only hole
    inner = uncovered_from_union(shapely.box(13, 13, 17, 17), parts, shapely.STRtree(parts))
    assert len(inner) == 1 and inner[0].area == pytest.approx(16 - 4) and len(inner[0].interiors) == 1
    # Told which parts are of one group (the touching triangles; the rest alone), the touch
    # search reads only rings that can touch: the same zones. Touching parts split over
    # groups would break that promise, and the pocket would be lost: the group matters.
    groups = np.array([0, 0, 0, 0, 1, 2, 3])
    for area_, want in ((area, zones), (shapely.box(13, 13, 17, 17), inner)):
        got = uncovered_from_union(area_, parts, shapely.STRtree(parts), groups)
        assert (shapely.to_wkb(got) == shapely.to_wkb(want)).all()
    wrong = uncovered_from_union(area, parts, shapely.STRtree(parts), np.arange(7))
    assert not any(z.equals(pocket[0]) for z in wrong)


def test_the_touch_search_by_group_gives_the_same_zones_on_a_real_registry(data_dir):
    """The real Busan registry's union (Clipper2 parts, groups from the build): zones of
    areas inside it, across its edge and around all of it are byte for byte the same with
    and without the parts' groups."""
    from disaster_ops.registry import CameraRecord, read_registry
    from geo.coverage import CoverageIndex, uncovered_from_union
    from geo.sectors import Cameras
    from tests.conftest import shared_path

    _, _, rows = read_registry(shared_path("cctv_registry", "busan_cctv_standard_2024.csv"))
    idx = CoverageIndex.build(Cameras.from_records([r for r in rows if isinstance(r, CameraRecord)]),
                              precompute=False, union=True)
    groups = idx.groups.part_groups()
    assert (idx.groups.group_n >= 2).any()  # groups of several parts exist
    x0, y0, x1, y1 = shapely.total_bounds(idx.union)
    cents = shapely.centroid(idx.union)
    cx, cy = float(np.median(shapely.get_x(cents))), float(np.median(shapely.get_y(cents)))  # in the city
    for area in (shapely.box(x0 - 10, y0 - 10, x1 + 10, y1 + 10), shapely.box(cx - 3000, cy - 3000, cx + 3000, cy + 3000),
                 shapely.Point(cx + 1500, cy - 800).buffer(2500)):
        plain = uncovered_from_union(area, idx.union, idx.union_tree)
        by_group = uncovered_from_union(area, idx.union, idx.union_tree, groups)
        assert shapely.get_num_interior_rings(plain).sum() > 10  # many parts inside
        assert (shapely.to_wkb(by_group) == shapely.to_wkb(plain)).all()


def test_an_area_with_a_hole_inside_a_covered_ring_gives_the_overlay(data_dir):
    """A ring of 360° cameras around the hole of an area with a hole (found in review): the
    ring's own hole holds the area's hole, so its inside is a zone minus that hole, not a
    zone over it; the zones equal the plain overlay and are valid, in metres and in lon/lat."""
    from geo.coverage import CoverageIndex, uncovered_zones
    from geo.sectors import Cameras

    lat0, lon0 = 37.5, 127.0
    ang = np.radians(np.arange(36) * 10.0)
    lat = lat0 + 150 * np.cos(ang) / 111_320
    lon = lon0 + 150 * np.sin(ang) / (111_320 * np.cos(np.radians(lat0)))
    cams = Cameras(lat, lon, np.zeros(36), np.full(36, 360.0), np.full(36, 40.0))
    dlat, dlon = 500 / 111_320, 500 / (111_320 * np.cos(np.radians(lat0)))
    hlat, hlon = 40 / 111_320, 40 / (111_320 * np.cos(np.radians(lat0)))
    area = shapely.Polygon(
        [(lon0 - dlon, lat0 - dlat), (lon0 + dlon, lat0 - dlat), (lon0 + dlon, lat0 + dlat), (lon0 - dlon, lat0 + dlat)],
        [[(lon0 - hlon, lat0 - hlat), (lon0 + hlon, lat0 - hlat), (lon0 + hlon, lat0 + hlat), (lon0 - hlon, lat0 + hlat)]])
    idx = CoverageIndex.build(cams, precompute=False, union=True)
    assert shapely.get_num_interior_rings(idx.union).max() >= 1  # the covered ring has a hole
    got = uncovered_zones(area, idx, min_area_m2=0.0)
    plain = uncovered_zones(area, cams, min_area_m2=0.0)
    assert all(z.polygon_m.is_valid and z.polygon_wgs84.is_valid for z in got.zones)
    union_got = shapely.union_all([z.polygon_m for z in got.zones])
    union_plain = shapely.union_all([z.polygon_m for z in plain.zones])
    assert union_got.symmetric_difference(union_plain).area < 2.0  # m² (the 1 mm union grid along ~1.9 km)
    hole_m = shapely.Polygon(got.aoi_m.interiors[0])
    assert all(shapely.intersection(z.polygon_m, hole_m).area < 1e-6 for z in got.zones)  # nothing over the hole
    assert sum(z.area_m2 for z in got.zones) == pytest.approx(sum(z.area_m2 for z in plain.zones), rel=1e-6)
    assert len(got.zones) == len(plain.zones) == 2
