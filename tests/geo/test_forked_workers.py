"""The coverage command's output check on a forked worker (geo.forked_workers): the zones'
lon/lat polygons are checked while the file is written, and a zone that rounding to the
output grid broke is repaired before the file is renamed into place, exactly as the
in-line check repairs it."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
import shapely

from geo import forked_workers, zones_io
from geo.coverage import uncovered_zones
from geo.sectors import Cameras

needs_fork = pytest.mark.skipif(not forked_workers.can_fork(), reason="no fork on this platform")

X0, Y0 = 127.0, 37.5
GAP_DEG = 3e-10  # two holes of the area 0.03 mm apart: the 1e-9 degree output grid joins them


def _area_rounding_breaks() -> shapely.Polygon:
    """A 500 x 550 m block with two square holes whose facing edges are GAP_DEG apart."""
    shell = [(X0, Y0), (X0 + 0.006, Y0), (X0 + 0.006, Y0 + 0.005), (X0, Y0 + 0.005), (X0, Y0)]
    x = X0 + 0.001
    east = [(x + GAP_DEG, Y0 + 0.001), (X0 + 0.002, Y0 + 0.001), (X0 + 0.002, Y0 + 0.002), (x + GAP_DEG, Y0 + 0.002)]
    west = [(X0 + 0.0005, Y0 + 0.0012), (x, Y0 + 0.0012), (x, Y0 + 0.0018), (X0 + 0.0005, Y0 + 0.0018)]
    return shapely.Polygon(shell, [east + east[:1], west + west[:1]])


def _one_camera() -> Cameras:
    return Cameras(np.array([37.504]), np.array([127.005]), np.array([0.0]), np.array([360.0]), np.array([20.0]))


def _wkb(result) -> list[bytes]:
    return list(shapely.to_wkb([z.polygon_wgs84 for z in result.zones]))


def test_a_zone_broken_by_rounding_is_repaired_by_the_deferred_check_as_in_line():
    area = _area_rounding_breaks()
    assert area.is_valid
    in_line = uncovered_zones(area, _one_camera(), min_area_m2=0.0)
    deferred = uncovered_zones(area, _one_camera(), min_area_m2=0.0, check_output=False)
    assert not deferred.zones[0].polygon_wgs84.is_valid  # the case is real: rounding broke it
    checked = deferred.output_check()()
    assert checked is not deferred
    assert all(z.polygon_wgs84.is_valid for z in checked.zones)
    assert _wkb(checked) == _wkb(in_line)
    assert [z.rank for z in checked.zones] == [z.rank for z in in_line.zones]
    # a result that needed nothing is handed back as it is
    plain = uncovered_zones(shapely.box(X0, Y0, X0 + 0.003, Y0 + 0.002), _one_camera(), check_output=False)
    assert plain.output_check()() is plain


@needs_fork
def test_the_check_on_a_worker_gives_the_same_answer(monkeypatch):
    monkeypatch.setattr(forked_workers, "VALIDITY_MIN_COORDS", 0)
    deferred = uncovered_zones(_area_rounding_breaks(), _one_camera(), min_area_m2=0.0, check_output=False)
    geoms = np.array([z.polygon_wgs84 for z in deferred.zones] + [shapely.box(0, 0, 1, 1)], dtype=object)
    with forked_workers.early_workers(2):
        pending = forked_workers.validity(geoms)
        assert pending.worker is not None  # sent to the worker, not checked here
        assert pending.result().tolist() == shapely.is_valid(geoms).tolist() == [False, True]
        again = uncovered_zones(_area_rounding_breaks(), _one_camera(), min_area_m2=0.0, check_output=False)
        assert _wkb(again.output_check()()) == _wkb(uncovered_zones(_area_rounding_breaks(), _one_camera(),
                                                                   min_area_m2=0.0))


@needs_fork
def test_a_dead_worker_means_the_check_runs_here(monkeypatch, caplog):
    monkeypatch.setattr(forked_workers, "VALIDITY_MIN_COORDS", 0)
    monkeypatch.setattr(forked_workers, "_serve", lambda *a: os._exit(3))
    geoms = np.array([z.polygon_wgs84 for z in uncovered_zones(
        _area_rounding_breaks(), _one_camera(), min_area_m2=0.0, check_output=False).zones], dtype=object)
    with caplog.at_level(logging.WARNING, logger="geo.forked_workers"), forked_workers.early_workers(2):
        got = forked_workers.validity(geoms).result()
    assert got.tolist() == [False]
    assert "worker failed" in caplog.text or "checking here" in caplog.text


def test_the_command_writes_the_repaired_zone(tmp_path, data_dir, monkeypatch):
    """End to end: the file the command renames into place holds only valid polygons, the
    same as the in-line check gives, although the check ran (on its worker, where fork
    exists) while the file was being written."""
    from typer.testing import CliRunner

    from disaster_ops.cli import app

    area = tmp_path / "area.geojson"
    area.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(
        _area_rounding_breaks())}), encoding="utf-8")
    reg = tmp_path / "cams.csv"
    reg.write_text("id,lat,lon,heading_deg,fov_deg,range_m\nc1,37.504,127.005,0,360,20\n", encoding="utf-8")
    out = tmp_path / "zones.geojsonl"
    monkeypatch.setattr(forked_workers, "VALIDITY_MIN_COORDS", 0)
    sent = []
    real = forked_workers.validity

    def spy(g):  # whether the check went to the worker (result() clears it later)
        pending = real(g)
        sent.append(pending.worker is not None or not forked_workers.can_fork() or (os.cpu_count() or 1) < 2)
        return pending

    monkeypatch.setattr(forked_workers, "validity", spy)
    real_write = zones_io._write

    def write_then_check(zones, tmp, kind):  # the final name appears only after the check's answer
        assert not out.exists()
        real_write(zones, tmp, kind)

    monkeypatch.setattr(zones_io, "_write", write_then_check)
    r = CliRunner().invoke(app, ["coverage", "--area", str(area), "--cameras", str(reg), "--out", str(out),
                                 "--min-area-m2", "0", "--json"])
    assert r.exit_code == 0, r.output
    assert sent == [True]
    geoms = [shapely.from_geojson(json.dumps(json.loads(line)["geometry"]))
             for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(geoms) == json.loads(r.stdout.strip().splitlines()[-1])["zones"] == 1
    assert shapely.is_valid(geoms).all()
    expected = uncovered_zones(_area_rounding_breaks(), _one_camera(), min_area_m2=0.0).zones[0].polygon_wgs84
    assert shapely.normalize(geoms[0]).equals_exact(shapely.normalize(expected), tolerance=1e-12)
    assert not list(tmp_path.glob(".*part*"))  # no temporary file left behind


@needs_fork
def test_a_worker_owing_an_answer_gets_no_new_job(monkeypatch):
    """A check whose answer was never asked for leaves its worker owing: the next job runs
    here instead of reading that stale answer, and the worker serves again once read."""
    monkeypatch.setattr(forked_workers, "VALIDITY_MIN_COORDS", 0)
    good = np.array([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)], dtype=object)
    bad = np.array([shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])], dtype=object)
    with forked_workers.early_workers(2):
        first = forked_workers.validity(good)
        second = forked_workers.validity(bad)
        assert first.worker is not None and second.worker is None  # not sent to the owing worker
        assert second.result().tolist() == [False] and first.result().tolist() == [True, True]
        third = forked_workers.validity(bad)
        assert third.worker is not None and third.result().tolist() == [False]


@needs_fork
def test_a_failure_in_this_process_retires_the_busy_workers(monkeypatch):
    """If this process's own share fails, the workers' answers are never read: they are
    stopped rather than left to answer a later job with a stale result."""
    from geo import clipper_union

    if not clipper_union.available():
        pytest.skip("needs clipper2")
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 2000, (400, 2))
    params = np.column_stack([xy, np.zeros(400), np.full(400, 360.0), np.full(400, 30.0)])
    groups = [np.arange(k, min(k + 4, 400)) for k in range(0, 400, 4)]
    n_seg = np.full(400, 24)
    monkeypatch.setattr(clipper_union, "PARALLEL_MIN_RINGS", 0)
    real = clipper_union._sector_share
    calls = []

    def fail_here(*a):
        calls.append(1)
        raise RuntimeError("this process failed")

    with forked_workers.early_workers(2):
        procs = [proc for proc, _, _ in forked_workers._pool]
        monkeypatch.setattr(clipper_union, "_sector_share", fail_here)
        with pytest.raises(RuntimeError):
            clipper_union.union_sector_groups(params, n_seg, groups, workers=2)
        assert calls and forked_workers.pool() == [] and not procs[0].is_alive()
        monkeypatch.setattr(clipper_union, "_sector_share", real)
        parts, n_parts, _ = clipper_union.union_sector_groups(params, n_seg, groups, workers=2)  # here, alone
        assert n_parts.size == len(groups) and shapely.is_valid(parts).all()


def test_a_failed_check_leaves_the_previous_file_and_no_half_file(tmp_path):
    """The output is renamed into place only after the check: if the check fails (or the
    user stops the command), the previous file is untouched and no temporary file is left."""
    zones = uncovered_zones(_area_rounding_breaks(), _one_camera(), min_area_m2=0.0).zones
    out = tmp_path / "zones.geojsonl"
    out.write_text("previous answer\n", encoding="utf-8")

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        zones_io.write_zones(zones, out, before_commit=interrupted)
    assert out.read_text(encoding="utf-8") == "previous answer\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zones.geojsonl"]
