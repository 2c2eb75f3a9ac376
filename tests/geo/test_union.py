import numpy as np
import pytest
import shapely

from geo.coverage import TiledCoverage, _strip_seam_vertices
from geo.crs import LocalFrame
from geo.sectors import Cameras, view_sectors
from geo.union import contained_in_discs, dedupe_polygons


def city_sectors(n=3000, seed=5):
    rng = np.random.default_rng(seed)
    lat = np.round(37.5 + rng.normal(0, 0.004, n), 4)  # rounded like the real registries: many co-located rows
    lon = np.round(127.0 + rng.normal(0, 0.005, n), 4)
    disc = rng.random(n) < 0.5
    cams = Cameras(lat, lon, rng.uniform(0, 360, n), np.where(disc, 360.0, 60.0), np.where(disc, 100.0, 50.0))
    s = view_sectors(cams, frame=LocalFrame.around(37.5, 127.0))
    return s.polygons_m, disc


def test_dedupe_keeps_first_of_identical_only():
    a = shapely.box(0, 0, 1, 1)
    b = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])  # same bounds/area/count, different vertex order
    polys = np.array([a, shapely.box(0, 0, 1, 1), b, shapely.box(5, 5, 6, 6)], dtype=object)
    assert dedupe_polygons(polys).tolist() == [0, 2, 3]


def test_contained_in_discs_is_safe_and_finds_inner_sectors():
    polys, disc = city_sectors()
    drop = contained_in_discs(polys, disc)
    assert 0 < drop.sum() < polys.size
    # every dropped polygon really is covered by some other disc
    tree = shapely.STRtree(polys[disc])
    i, _ = tree.query(polys[drop], predicate="covered_by")
    assert np.unique(i).size == drop.sum()


def test_tiled_union_equals_union_all_and_threads_agree():
    polys, disc = city_sectors()
    ref = shapely.union_all(polys).area
    one = TiledCoverage.build(polys, tile_m=400.0, is_disc=disc)
    two = TiledCoverage.build(polys, tile_m=400.0, is_disc=disc, workers=2)
    assert one.area_m2 == pytest.approx(ref, rel=1e-9)
    assert two.area_m2 == pytest.approx(ref, rel=1e-9)
    assert shapely.is_valid(one.pieces).all()
    # pieces of different tiles do not overlap
    assert sum(shapely.area(one.pieces)) == pytest.approx(one.merged().area, rel=1e-9)


def test_merged_dissolves_seams_exactly_with_a_coverage_union():
    polys, disc = city_sectors(n=4000, seed=11)
    tiled = TiledCoverage.build(polys, tile_m=250.0, is_disc=disc)
    stripped = _strip_seam_vertices(tiled.pieces, tiled.tile_m)
    assert shapely.is_valid(stripped).all()
    fast = shapely.coverage_union_all(stripped)  # raises if the seams were not exactly noded
    ref = shapely.union_all(polys)
    merged = tiled.merged()
    assert merged.is_valid and fast.is_valid
    assert merged.symmetric_difference(ref).area < 1e-6 * ref.area
    assert len(shapely.get_parts(merged)) == len(shapely.get_parts(ref))


# Per-group union engines: GEOS is exact to rounding; Clipper2 works on a 1 mm grid, so
# its area may differ by ~1e-8 relative and its outline by under a millimetre.
ENGINES = [pytest.param("geos", 1e-9, id="geos"), pytest.param("clipper2", 1e-6, id="clipper2")]


@pytest.mark.parametrize(("engine", "rel"), ENGINES)
def test_shape_based_prefilter_is_safe_and_union_parts_equal_union_all(engine, rel):
    """The product's union: duplicates and contained sectors found from the sectors' shape
    parameters (no vertex read), then a disjoint-subset union; the geometry is the plain
    ``union_all`` of every sector, including wide sectors (fov > 180) and odd headings."""
    from geo.union import contained_in_discs_by_shape, union_parts

    rng = np.random.default_rng(21)
    n = 3000
    lat = np.round(37.5 + rng.normal(0, 0.004, n), 4)
    lon = np.round(127.0 + rng.normal(0, 0.005, n), 4)
    fov = rng.choice([360.0, 60.0, 120.0, 200.0, 300.0], n)
    cams = Cameras(lat, lon, rng.uniform(0, 360, n), fov, rng.choice([30.0, 50.0, 100.0], n))
    s = view_sectors(cams, frame=LocalFrame.around(37.5, 127.0))
    polys, params = s.polygons_m[s.valid], s.params_m[s.valid]
    drop = contained_in_discs_by_shape(params, shapely.get_num_coordinates(polys) - 1)
    assert 0 < drop.sum() < polys.size
    disc = params[:, 3] >= 360.0
    i, _ = shapely.STRtree(polys[disc]).query(polys[drop], predicate="covered_by")
    assert np.unique(i).size == drop.sum()  # each dropped polygon lies in some disc
    parts = union_parts(polys, disc, params=params, engine=engine)
    ref = shapely.union_all(polys)
    assert shapely.is_valid(parts).all()
    assert shapely.area(parts).sum() == pytest.approx(ref.area, rel=rel)
    assert shapely.multipolygons(parts).is_valid  # parts never overlap
    assert shapely.multipolygons(parts).symmetric_difference(ref).area < 10 * rel * ref.area


@pytest.mark.parametrize(("engine", "rel"), ENGINES)
def test_grouped_union_rebuilds_only_the_groups_a_change_touches_and_equals_a_fresh_build(engine, rel):
    """A registry edit (one camera moved, one added) re-unions only the groups of
    overlapping sectors it touches; every other group comes from the previous build, and
    the parts are exactly (same coordinates, same order) those of a build from scratch."""
    from geo.union import grouped_union

    rng = np.random.default_rng(5)
    n = 2000
    lat = 37.5 + rng.normal(0, 0.03, n)
    lon = 127.0 + rng.normal(0, 0.04, n)
    fov = rng.choice([360.0, 60.0, 120.0, 200.0], n)
    head = rng.uniform(0, 360, n)
    reach = rng.choice([30.0, 50.0, 100.0], n)
    frame = LocalFrame.around(37.5, 127.0)

    def build(cams, previous=None):
        s = view_sectors(cams, frame=frame)
        polys, params = s.polygons_m[s.valid], s.params_m[s.valid]
        asked = []

        def polygons(idx):
            asked.append(np.asarray(idx).size)
            return polys[idx]

        g = grouped_union(params, shapely.get_num_coordinates(polys) - 1, polygons, previous=previous, engine=engine)
        return g, polys, sum(asked)

    first, polys, built_first = build(Cameras(lat, lon, head, fov, reach))
    ref = shapely.union_all(polys)
    assert shapely.area(first.parts).sum() == pytest.approx(ref.area, rel=rel)
    assert first.unioned == first.group_keys.shape[0] > 50 and first.reused == 0
    lat2, lon2 = lat.copy(), lon.copy()
    lat2[17] += 0.0003  # ~33 m north
    cams2 = Cameras(np.r_[lat2, 37.5], np.r_[lon2, 127.0], np.r_[head, 0.0], np.r_[fov, 360.0], np.r_[reach, 80.0])
    again, polys2, built_again = build(cams2, previous=first)
    fresh, _, _ = build(cams2)
    assert 1 <= again.unioned <= 4 and again.reused >= first.unioned - 8
    # reused groups' polygons are never built (only lone sectors and the touched groups)
    assert built_again - again.n_alone < (built_first - first.n_alone) / 5
    assert again.n_alone == fresh.n_alone and (again.group_keys == fresh.group_keys).all()
    assert (shapely.to_wkb(again.parts) == shapely.to_wkb(fresh.parts)).all()
    ref2 = shapely.union_all(polys2)
    assert shapely.multipolygons(again.parts).symmetric_difference(ref2).area < 10 * rel * ref2.area


def test_threaded_tree_queries_and_reprojection_give_the_same_arrays(monkeypatch):
    """query_pairs and wgs84_on_grid split large inputs over two threads: the same pairs in
    the same order, and the same doubles, as one call (thresholds lowered to use threads on
    a small input)."""
    import os

    from geo import coverage as gcov
    from geo import union as gunion
    from geo.crs import LocalFrame

    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 5000, 3001), rng.uniform(0, 5000, 3001)
    boxes = shapely.box(x - 40, y - 40, x + 40, y + 40)
    tree = shapely.STRtree(boxes)
    one = tree.query(boxes)
    frame = LocalFrame.around(37.5, 127.0)
    polys = shapely.buffer(shapely.points(x + 300_000, y + 4_150_000), 30.0)
    single = gcov.wgs84_on_grid(frame, polys)
    monkeypatch.setattr(gunion, "THREADED_QUERY_GEOMS", 0)
    monkeypatch.setattr(gcov, "THREADED_REPROJECTION_COORDS", 0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    two = gunion.query_pairs(tree, boxes)
    assert one[0].size > 3001 and all(np.array_equal(p, q) for p, q in zip(one, two, strict=True))
    threaded = gcov.wgs84_on_grid(frame, polys)
    assert (shapely.to_wkb(threaded) == shapely.to_wkb(single)).all()
