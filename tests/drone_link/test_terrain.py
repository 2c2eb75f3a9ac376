"""Terrain following over a DEM: a synthetic ridge (analytic ground) and the real Seoul 90 m DEM.

Clearances are checked against ground heights computed independently of the planner:
the ridge's formula, and the Seoul DEM's cells read with rasterio's own sampler.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

from drone_link.files import plan_to_dict
from drone_link.files.export import plan_geojson, plan_kml
from drone_link.mission import Cmd, Frame
from drone_link.planner import SurveySpec, camera_preset, plan_coverage
from drone_link.planner.altitude import TerrainFollow
from drone_link.planner.search import expanding_square
from drone_link.planner.terrain import Terrain, TerrainError
from tests.conftest import shared_path

TO_5186 = Transformer.from_crs(4326, 5186, always_xy=True)
FROM_5186 = Transformer.from_crs(5186, 4326, always_xy=True)
X_RIDGE, Y0, X0 = 200_000.0, 550_000.0, 198_000.0  # EPSG:5186 metres, central Seoul
BASE_M, RIDGE_M, SIGMA_M = 40.0, 260.0, 120.0
SPEED = 8.0
SPEC = SurveySpec(camera=camera_preset("mavic3e-wide"), alt_rel_m=70, speed_m_s=SPEED)


def ridge_ground_m(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A north-south ridge 260 m above a 40 m plain."""
    return BASE_M + RIDGE_M * np.exp(-((x - X_RIDGE) ** 2) / (2 * SIGMA_M ** 2)) + 0 * y


def write_ridge_tif(path, *, crs="EPSG:5186", gap=True, cell_m=10.0):
    n = 400
    xs = X0 + (np.arange(n) + 0.5) * cell_m
    ys = Y0 + n * cell_m - (np.arange(n) + 0.5) * cell_m
    xx, yy = np.meshgrid(xs, ys)
    z = ridge_ground_m(xx, yy).astype("float32")
    if gap:  # a -9999 hole on the ridge top, and no nodata tag (as in the Seoul file)
        c = int((X_RIDGE - X0) / cell_m)
        z[200:202, c - 1:c + 1] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs=crs, transform=from_origin(X0, Y0 + n * cell_m, cell_m, cell_m)) as dst:
        dst.write(z, 1)
    return path


def to_wgs84_box(x0, y0, x1, y1) -> shapely.Polygon:
    lon, lat = FROM_5186.transform([x0, x1, x1, x0], [y0, y0, y1, y1])
    return shapely.Polygon(list(zip(lon, lat)))


def flown_profile(mission, step_m=2.0):
    """(lat, lon, alt AMSL) every ``step_m`` along home -> waypoints -> home (home at take-off alt)."""
    home_amsl = mission.home_alt_amsl_m
    pts = []
    take = mission.items[0]
    assert take.command == Cmd.NAV_TAKEOFF and take.frame == Frame.GLOBAL_RELATIVE_ALT
    pts.append((mission.home_lat_deg, mission.home_lon_deg, home_amsl + take.alt_m))
    for it in mission.items:
        if it.command == Cmd.NAV_WAYPOINT:
            assert it.frame == Frame.GLOBAL and it.alt_agl_m is not None
            pts.append((it.lat_deg, it.lon_deg, it.alt_m))
    out = []
    for (la0, lo0, z0), (la1, lo1, z1) in itertools.pairwise(pts):
        x0, y0 = TO_5186.transform(lo0, la0)
        x1, y1 = TO_5186.transform(lo1, la1)
        d = math.hypot(x1 - x0, y1 - y0)
        n = max(1, math.ceil(d / step_m))
        u = np.linspace(0, 1, n + 1)
        out.append((x0 + (x1 - x0) * u, y0 + (y1 - y0) * u, z0 + (z1 - z0) * u, d))
    return pts, out


def test_terrain_following_keeps_clearance_over_a_ridge(tmp_path):
    tif = write_ridge_tif(tmp_path / "ridge.tif")
    zone = to_wgs84_box(X_RIDGE - 600, Y0 + 1200, X_RIDGE + 600, Y0 + 2200)
    home_x, home_y = X_RIDGE - 900, Y0 + 1000
    hlon, hlat = FROM_5186.transform(home_x, home_y)
    terrain = Terrain.open(tif, bounds_wgs84=zone.bounds)
    assert terrain.filled_cells == 4  # the -9999 hole, masked without a nodata tag
    # no binding ceiling: the climb and descent limits hold everywhere
    follow = TerrainFollow(terrain, alt_agl_m=70, min_clearance_m=45, max_climb_m_s=2.5,
                           max_descent_m_s=1.5, max_alt_agl_m=400)
    plan = plan_coverage(zone, SPEC, home_latlon=(hlat, hlon), terrain=follow)
    assert plan.report.alt_mode == "terrain_amsl"
    for s in plan.sorties:
        pts, segs = flown_profile(s.mission)
        for x, y, z, d in segs:
            clearance = z - ridge_ground_m(x, y)
            assert clearance.min() >= 45 - 1.0  # 1 m: the 10 m grid vs the true ridge
            if d > 1:
                dz = z[-1] - z[0]
                # 1 %: distances in EPSG:5186 vs the planner's UTM frame, altitudes to 1 cm
                assert dz / d <= 2.5 / SPEED * 1.01 and -dz / d <= 1.5 / SPEED * 1.01
        # above the ridge the drone is far higher AMSL than over the plain
        alts = [p[2] for p in pts[1:]]
        assert max(alts) > BASE_M + RIDGE_M + 45 and min(alts) < BASE_M + RIDGE_M
    # flying "70 m above home" instead would hit the ridge: the DEM is what makes it safe
    assert BASE_M + 70 < BASE_M + RIDGE_M
    # with the legal 150 m ceiling: clearance first, then the ceiling; steeper legs are flown slower
    capped = plan_coverage(zone, SPEC, home_latlon=(hlat, hlon),
                           terrain=TerrainFollow(terrain, alt_agl_m=70, min_clearance_m=45))
    for s in capped.sorties:
        _, segs = flown_profile(s.mission)
        for x, y, z, _ in segs:
            agl = z - ridge_ground_m(x, y)
            assert agl.min() >= 45 - 1.0 and agl.max() <= 150 + 1.0
    assert any("steeper than the climb/descent limits" in w for w in capped.report.warnings)
    gj = plan_geojson(plan, footprints=False)["features"][0]
    assert gj["properties"]["altitude_datum"] == "amsl" and len(gj["geometry"]["coordinates"][0]) == 3
    assert "<altitudeMode>absolute</altitudeMode>" in plan_kml(plan, footprints=False)
    doc = plan_to_dict(plan.sorties[0].mission)
    assert doc["mission"]["globalPlanAltitudeMode"] == 3
    wp = next(d for d in doc["mission"]["items"] if d["command"] == Cmd.NAV_WAYPOINT)
    assert wp["frame"] == 0 and wp["AltitudeMode"] == 3
    assert wp["AMSLAltAboveTerrain"] == wp["params"][6] and wp["Altitude"] >= 45
    assert doc["mission"]["plannedHomePosition"][2] == pytest.approx(
        float(ridge_ground_m(np.array(home_x), np.array(home_y))), abs=1.0)


def test_search_pattern_follows_terrain_too(tmp_path):
    tif = write_ridge_tif(tmp_path / "ridge.tif", gap=False)
    lon, lat = FROM_5186.transform(X_RIDGE - 150, Y0 + 2000)
    terrain = Terrain.open(tif, bounds_wgs84=(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01))
    sp = expanding_square(lat, lon, SPEC, radius_m=300,
                          terrain=TerrainFollow(terrain, alt_agl_m=70, min_clearance_m=45))
    _, segs = flown_profile(sp.mission)
    assert min((z - ridge_ground_m(x, y)).min() for x, y, z, _ in segs) >= 44


def test_dem_without_crs_needs_one_and_outside_area_is_named(tmp_path):
    tif = write_ridge_tif(tmp_path / "nocrs.tif", crs=None)
    with pytest.raises(TerrainError, match="no CRS"):
        Terrain.open(tif)
    t = Terrain.open(tif, crs="EPSG:5186")
    lon, lat = FROM_5186.transform(X_RIDGE, Y0 + 100)
    assert t.ground_amsl_m(lat, lon)[0] == pytest.approx(BASE_M + RIDGE_M, abs=1.0)
    with pytest.raises(TerrainError, match="does not cover"):
        Terrain.open(tif, crs="EPSG:5186", bounds_wgs84=(129.0, 35.0, 129.01, 35.01), margin_m=0)


def test_terrain_following_over_the_real_seoul_dem():
    """Namsan (262 m) surveyed from Seoul Station: the real DEM, its user-defined CRS and -9999 gaps."""
    dem = shared_path("dem", "seoul_dem_90m.tif")
    zone = shapely.box(126.9835, 37.5475, 126.9935, 37.5545)  # over the summit of Namsan
    home = (37.5547, 126.9707)  # Seoul Station square
    terrain = Terrain.open(dem, bounds_wgs84=zone.union(shapely.Point(home[1], home[0])).bounds)
    follow = TerrainFollow(terrain, alt_agl_m=80, min_clearance_m=50)
    plan = plan_coverage(zone, SurveySpec(camera=camera_preset("mavic3e-wide"), alt_rel_m=80),
                         home_latlon=home, terrain=follow)
    with rasterio.open(dem) as src:
        band = src.read(1)
        for s in plan.sorties:
            _, segs = flown_profile(s.mission, step_m=10.0)
            for x, y, z, _ in segs:
                rows, cols = rasterio.transform.rowcol(src.transform, x, y)
                ground = band[np.asarray(rows), np.asarray(cols)].astype(float)
                ground[ground == -9999.0] = np.nan
                assert np.nanmin(z - ground) >= 50 - 0.5
    assert plan.report.max_alt_agl_m > 80  # Namsan's slopes force climbing early
    assert 200 < max(it.alt_m for s in plan.sorties for it in s.mission.items
                     if it.command == Cmd.NAV_WAYPOINT) < 262 + 80 + 60
    assert json.dumps(plan.report.to_dict())  # report stays JSON-able
