"""The Clipper2 per-group union engine (geo/clipper_union.py) against GEOS's ``union_all``:
the same parts on real registries, holes and islands kept, vertex-touching output made
valid, and the GEOS fallback when the ``clipper2`` package cannot be imported."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import shapely

from geo import clipper_union, forked_workers
from geo.union import grouped_union
from tests.conftest import shared_path

pytestmark = pytest.mark.skipif(not clipper_union.available(), reason="clipper2-py not installed")


def _cells(cells) -> tuple[np.ndarray, np.ndarray, list[shapely.Polygon]]:
    """Unit squares (1 m, as closed rings on the 1 mm grid) at integer ``cells``."""
    rings, polys = [], []
    for i, j in cells:
        sq = np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1], [i, j]], dtype=float)
        rings.append(clipper_union.to_grid(sq))
        polys.append(shapely.Polygon(sq))
    ends = np.cumsum([r.shape[0] for r in rings])
    return np.concatenate(rings), np.column_stack([ends - 5, ends]), polys


def test_a_hole_touching_the_shell_at_a_vertex_comes_out_valid():
    """Seven cells of a 3x3 block (the centre and one corner missing): the hole touches the
    notch at one point. Clipper2 folds that hole into the shell's ring (a self-touching
    ring, invalid for GEOS/QGIS/PostGIS); the engine returns the valid shell + hole."""
    cells = [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (0, 2), (1, 2)]
    grid, bounds, polys = _cells(cells)
    raw = clipper_union._clipper2.union([grid[a:b - 1] for a, b in bounds.tolist()],
                                         clipper_union._clipper2.FillRule.NON_ZERO)
    assert len(raw) == 1 and not shapely.Polygon(raw[0] / 1000.0).is_valid  # what Clipper2 gives
    parts, n, failed = clipper_union.union_groups(grid, bounds, [np.arange(len(cells))])
    assert n.tolist() == [1] and failed.size == 0 and shapely.is_valid(parts).all()
    assert shapely.get_num_interior_rings(parts[0]) == 1
    ref = shapely.union_all(polys)
    assert parts[0].area == pytest.approx(7.0) and parts[0].symmetric_difference(ref).area < 1e-12


def test_holes_and_islands_in_holes_are_kept():
    """A 5x5 frame (hole 3x3) with a cell in the middle of the hole, and a second group:
    a 3x3 ring far away. Parts: frame with hole + island, then ring with hole."""
    frame = [(i, j) for i in range(5) for j in range(5) if i in (0, 4) or j in (0, 4)]
    ring = [(20 + i, j) for i in range(3) for j in range(3) if (i, j) != (1, 1)]
    grid, bounds, polys = _cells([*frame, (2, 2), *ring])
    groups = [np.arange(len(frame) + 1), np.arange(len(frame) + 1, len(frame) + 1 + len(ring))]
    parts, n, failed = clipper_union.union_groups(grid, bounds, groups)
    assert n.tolist() == [2, 1] and failed.size == 0 and shapely.is_valid(parts).all()
    assert sorted(shapely.get_num_interior_rings(parts).tolist()) == [0, 1, 1]
    assert sorted(shapely.area(parts).tolist()) == pytest.approx([1.0, 8.0, 16.0])
    ref = shapely.union_all(polys)
    assert shapely.multipolygons(parts).symmetric_difference(ref).area < 1e-12


def test_holes_of_a_very_large_group_are_placed_the_same_way(monkeypatch):
    """Groups too large for all hole x shell box pairs at once use an STRtree: same parts."""
    frame = [(i, j) for i in range(7) for j in range(7) if i in (0, 6) or j in (0, 6)]
    inner = [(i, j) for i in range(2, 5) for j in range(2, 5) if (i, j) != (3, 3)]  # island with a hole
    grid, bounds, polys = _cells([*frame, *inner])
    groups = [np.arange(len(frame) + len(inner))]
    parts, n, _ = clipper_union.union_groups(grid, bounds, groups)
    monkeypatch.setattr(clipper_union, "_PAIRS_AT_ONCE", 0)
    again, n2, _ = clipper_union.union_groups(grid, bounds, groups)
    assert n.tolist() == n2.tolist() == [2]
    assert (shapely.to_wkb(parts) == shapely.to_wkb(again)).all()
    assert shapely.get_num_interior_rings(parts).tolist() == [1, 1]
    assert shapely.multipolygons(parts).symmetric_difference(shapely.union_all(polys)).area < 1e-12


@pytest.mark.parametrize("name", ["busan_cctv_standard_2024.csv", "daejeon_cctv_standard_2026.csv"])
def test_parts_equal_geos_union_all_on_real_registries(name, data_dir):
    """Every group of overlapping sectors of a real city registry: the Clipper2 parts and
    GEOS's ``union_all`` parts agree group by group (same number of parts and holes, area
    and outline apart by less than the 1 mm grid along the outline; the whole area within
    1e-6), all valid, no two parts overlap, and lone sectors are not touched."""
    from disaster_ops.config import get_settings
    from disaster_ops.registry import CameraRecord, read_registry
    from geo.sectors import Cameras, SectorDefaults, sector_polygons, sector_rings, sector_shapes

    d = get_settings().camera_defaults
    _, _, rows = read_registry(shared_path("cctv_registry", name), defaults=d)
    cams = Cameras.from_records([r for r in rows if isinstance(r, CameraRecord)])
    sh = sector_shapes(cams, defaults=SectorDefaults(d.heading_deg, d.fov_deg, d.range_m))
    ok = np.flatnonzero(sh.valid)
    params, n_seg = sh.params_m[ok], sh.n_seg[ok]

    def build(engine):
        return grouped_union(params, n_seg + 2, lambda idx: sector_polygons(params[idx], n_seg[idx]),
                             rings=lambda idx: sector_rings(params[idx], n_seg[idx]), engine=engine)

    clip, geos = build("clipper2"), build("geos")
    assert clip.group_keys.shape[0] > 100 and clip.n_alone == geos.n_alone
    assert (clip.group_n == geos.group_n).all()  # (groups within 2 mm are joined: none here)
    assert shapely.is_valid(clip.parts).all()
    assert shapely.multipolygons(clip.parts).is_valid  # disjoint (may touch at points)
    lone = slice(0, clip.n_alone)
    assert (shapely.to_wkb(clip.parts[lone]) == shapely.to_wkb(geos.parts[lone])).all()  # not rounded

    def per_group(g):  # each group's parts as one MultiPolygon (parts' order differs by engine)
        idx = np.repeat(np.arange(g.group_n.size), g.group_n)
        return shapely.multipolygons(g.parts[g.n_alone:], indices=idx)

    mc, mg = per_group(clip), per_group(geos)
    holes = shapely.get_num_interior_rings(clip.parts[clip.n_alone:]), shapely.get_num_interior_rings(
        geos.parts[geos.n_alone:])
    ic, ig = (np.repeat(np.arange(g.group_n.size), g.group_n) for g in (clip, geos))
    assert (np.bincount(ic, weights=holes[0]) == np.bincount(ig, weights=holes[1])).all()
    a, b = shapely.area(mc), shapely.area(mg)
    assert (np.abs(a - b) <= 1e-3 * shapely.length(mg)).all()  # each group: rounding to 1 mm only
    assert shapely.area(clip.parts).sum() == pytest.approx(shapely.area(geos.parts).sum(), rel=1e-6)
    sym = shapely.area(shapely.symmetric_difference(mc, mg))
    assert (sym <= 1e-3 * shapely.length(mg)).all()  # under 1 mm along the outline


def test_without_clipper2_the_geos_fallback_runs_and_says_so_once(monkeypatch, caplog):
    """``clipper2-py`` missing: the union falls back to ``shapely.union_all`` (exact), one
    warning in the log, and its groups are keyed apart from Clipper2's."""
    rng = np.random.default_rng(3)
    n = 400
    from geo.crs import LocalFrame
    from geo.sectors import Cameras, view_sectors

    cams = Cameras(37.5 + rng.normal(0, 0.003, n), 127.0 + rng.normal(0, 0.003, n), rng.uniform(0, 360, n),
                   rng.choice([360.0, 90.0], n), 60.0)
    s = view_sectors(cams, frame=LocalFrame.around(37.5, 127.0))
    polys, params = s.polygons_m[s.valid], s.params_m[s.valid]
    nv = shapely.get_num_coordinates(polys) - 1
    with_clipper = grouped_union(params, nv, lambda idx: polys[idx])
    monkeypatch.setattr(clipper_union, "_clipper2", None)
    monkeypatch.setattr(clipper_union, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="geo.clipper_union"):
        g = grouped_union(params, nv, lambda idx: polys[idx])
        again = grouped_union(params, nv, lambda idx: polys[idx], previous=with_clipper)
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert "fall back to shapely.union_all" in caplog.records[0].getMessage()
    ref = shapely.union_all(polys)
    assert shapely.area(g.parts).sum() == pytest.approx(ref.area, rel=1e-9)
    assert again.reused == 0  # Clipper2's groups are not taken for GEOS's
    assert not set(map(bytes, g.group_keys)) & set(map(bytes, with_clipper.group_keys))


def test_a_group_whose_output_cannot_be_read_is_unioned_by_geos(monkeypatch):
    """Should Clipper2 ever give a hole ring that lies in no shell of its group, that group
    (only) is unioned by ``shapely.union_all``: the union stays whole and valid."""
    from geo.crs import LocalFrame
    from geo.sectors import Cameras, view_sectors

    rng = np.random.default_rng(12)
    n = 600
    cams = Cameras(37.5 + rng.normal(0, 0.004, n), 127.0 + rng.normal(0, 0.004, n), 0.0, 360.0, 70.0)
    s = view_sectors(cams, frame=LocalFrame.around(37.5, 127.0))
    polys, params = s.polygons_m[s.valid], s.params_m[s.valid]
    nv = shapely.get_num_coordinates(polys) - 1
    good = grouped_union(params, nv, lambda idx: polys[idx])
    assert shapely.get_num_interior_rings(good.parts).sum() > 0  # some group has holes
    real = clipper_union._hole_owners
    monkeypatch.setattr(clipper_union, "_hole_owners", lambda *a: np.full(real(*a).shape, -1))
    g = grouped_union(params, nv, lambda idx: polys[idx])
    assert (g.group_keys == good.group_keys).all() and shapely.is_valid(g.parts).all()
    ref = shapely.union_all(polys)
    assert shapely.area(g.parts).sum() == pytest.approx(ref.area, rel=1e-6)
    assert shapely.multipolygons(g.parts).symmetric_difference(ref).area < 1e-5 * ref.area
    if forked_workers.can_fork():  # the same through a union worker (failed groups named back)
        monkeypatch.setattr(clipper_union, "PARALLEL_MIN_RINGS", 0)
        with forked_workers.early_workers(2):
            w = grouped_union(params, nv, lambda idx: polys[idx], workers=2)
        assert (shapely.to_wkb(w.parts) == shapely.to_wkb(g.parts)).all() and (w.group_n == g.group_n).all()


def test_a_cache_of_the_previous_version_is_not_used(tmp_path, data_dir, monkeypatch):
    """Bumping the cache version (as this engine change did) makes the next run build anew:
    the old file is neither answered from nor its groups taken."""
    from disaster_ops.services import coverage as cov_svc

    rng = np.random.default_rng(8)
    reg = tmp_path / "cams.csv"
    with reg.open("w", encoding="utf-8") as fh:
        fh.write("id,lat,lon,heading_deg,fov_deg,range_m\n")
        for i in range(300):
            fh.write(f"c{i},{35.15 + rng.normal(0, 0.005):.7f},{129.05 + rng.normal(0, 0.005):.7f},"
                     f"{rng.uniform(0, 360):.1f},360,50\n")
    with monkeypatch.context() as m:  # the previous version: cache version 5, GEOS unions
        m.setattr(cov_svc, "_CACHE_VERSION", "5")
        m.setattr(clipper_union, "_clipper2", None)
        old = cov_svc.file_index(reg)
    cov_svc.clear_memory()
    assert len(list((data_dir / "cache" / "coverage").glob("*.npz"))) == 1
    new = cov_svc.file_index(reg)
    assert new is not old and new.groups.reused == 0 and new.groups.unioned > 5
    assert new.covered_area_m2 == pytest.approx(old.covered_area_m2, rel=1e-6)


def _busan_rows():
    from disaster_ops.config import get_settings
    from disaster_ops.registry import CameraRecord, read_registry
    from geo.sectors import Cameras, SectorDefaults, sector_shapes

    d = get_settings().camera_defaults
    _, _, rows = read_registry(shared_path("cctv_registry", "busan_cctv_standard_2024.csv"), defaults=d)
    cams = Cameras.from_records([r for r in rows if isinstance(r, CameraRecord)])
    sh = sector_shapes(cams, defaults=SectorDefaults(d.heading_deg, d.fov_deg, d.range_m))
    ok = np.flatnonzero(sh.valid)
    return sh.params_m[ok], sh.n_seg[ok]


@pytest.mark.skipif(not forked_workers.can_fork(), reason="no fork on this platform")
def test_forked_workers_give_the_same_bytes_as_one_process(monkeypatch, data_dir):
    """The real Busan registry unioned with the Clipper2 calls shared by 1, 2 and 3
    processes (workers forked early, as the command does): the same parts, byte for byte,
    in the same order (and the same keys); the workers are gone afterwards."""
    from geo.sectors import sector_polygons, sector_rings

    params, n_seg = _busan_rows()
    monkeypatch.setattr(clipper_union, "PARALLEL_MIN_RINGS", 0)  # Busan is under the province threshold

    def build(workers):
        return grouped_union(params, n_seg + 2, lambda idx: sector_polygons(params[idx], n_seg[idx]),
                             rings=lambda idx: sector_rings(params[idx], n_seg[idx]), workers=workers)

    def build_from_rows(workers):  # what the product does: each process builds its share's rings
        return grouped_union(params, n_seg + 2, lambda idx: sector_polygons(params[idx], n_seg[idx]),
                             sectors=True, workers=workers)

    one = build(1)
    assert one.group_keys.shape[0] > 100
    with forked_workers.early_workers(3):
        procs = [proc for proc, _, _ in forked_workers._pool]
        assert len(procs) == 2 and all(proc.is_alive() for proc in procs)
        for workers, how in ((2, build), (3, build), (3, build_from_rows), (1, build_from_rows),
                             (2, build_from_rows)):  # (the workers serve several calls)
            got = how(workers)
            assert (got.group_n == one.group_n).all() and (got.group_keys == one.group_keys).all()
            assert (shapely.to_wkb(got.parts) == shapely.to_wkb(one.parts)).all()
    assert forked_workers._pool is None and not any(proc.is_alive() for proc in procs)


def test_a_sectors_ring_is_the_same_doubles_whatever_rows_it_is_built_with():
    """union_sector_groups builds each share's rings apart: on the real Busan rows, the rings
    of any subset are bit for bit the rings of the same rows built all together."""
    from geo.sectors import sector_rings

    params, n_seg = _busan_rows()
    coords, bounds = sector_rings(params, n_seg)
    rng = np.random.default_rng(3)
    for rows in (rng.choice(n_seg.size, 777, replace=False), np.arange(1, n_seg.size, 2), np.array([5])):
        sub, sub_bounds = sector_rings(params[rows], n_seg[rows])
        for i, r in enumerate(rows.tolist()):
            assert sub[sub_bounds[i, 0]:sub_bounds[i, 1]].tobytes() == coords[bounds[r, 0]:bounds[r, 1]].tobytes()


def _three_groups_one_process():
    """A ring of cells (a hole), a 3x3 block and a pair: (grid, bounds, groups, the union
    computed in this process alone)."""
    frame = [(i, j) for i in range(5) for j in range(5) if i in (0, 4) or j in (0, 4)]
    cells = [*frame, *[(20 + i, j) for i in range(3) for j in range(3)], (40, 0), (41, 0)]
    grid, bounds, _ = _cells(cells)
    groups = [np.arange(16), np.arange(16, 25), np.arange(25, 27)]
    return grid, bounds, groups, clipper_union.union_groups(grid, bounds, groups)


@pytest.mark.skipif(not forked_workers.can_fork(), reason="no fork on this platform")
def test_a_worker_that_dies_is_replaced_by_this_process(monkeypatch, caplog):
    """A forked worker that exits without an answer: its groups are unioned here (logged),
    same parts as one process."""
    import os

    grid, bounds, groups, one = _three_groups_one_process()
    monkeypatch.setattr(clipper_union, "PARALLEL_MIN_RINGS", 0)
    monkeypatch.setattr(forked_workers, "_serve", lambda *a: os._exit(3))
    with caplog.at_level(logging.WARNING, logger="geo.clipper_union"), forked_workers.early_workers(2):
        two = clipper_union.union_groups(grid, bounds, groups, workers=2)
    assert "worker for" in caplog.text
    assert (two[1] == one[1]).all() and (shapely.to_wkb(two[0]) == shapely.to_wkb(one[0])).all()


@pytest.mark.skipif(not forked_workers.can_fork(), reason="no fork on this platform")
def test_a_worker_that_hangs_is_stopped_at_its_deadline(monkeypatch, caplog):
    """A forked worker that never answers does not hang the command: at the deadline it is
    stopped and its groups are unioned here (logged), same parts as one process; a later
    call does not read a stale answer from it."""
    import time

    grid, bounds, groups, one = _three_groups_one_process()
    monkeypatch.setattr(clipper_union, "PARALLEL_MIN_RINGS", 0)
    monkeypatch.setattr(forked_workers, "DEADLINE_MIN_S", 0.5)
    monkeypatch.setattr(forked_workers, "_serve", lambda *a: time.sleep(60))
    with caplog.at_level(logging.WARNING, logger="geo.clipper_union"), forked_workers.early_workers(2):
        procs = [proc for proc, _, _ in forked_workers._pool]
        t0 = time.monotonic()
        two = clipper_union.union_groups(grid, bounds, groups, workers=2)
        waited_s = time.monotonic() - t0
        assert forked_workers.pool() == []  # the stopped worker is not used again
        again = clipper_union.union_groups(grid, bounds, groups, workers=2)
    assert "deadline" in caplog.text
    assert waited_s < 30  # not the worker's 60 s
    for got in (two, again):
        assert (got[1] == one[1]).all() and (shapely.to_wkb(got[0]) == shapely.to_wkb(one[0])).all()
    assert not any(proc.is_alive() for proc in procs)
