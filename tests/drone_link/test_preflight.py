"""Pre-flight check: every violation listed at once, against a real DEM and named no-fly zones."""

from __future__ import annotations

import shapely

from drone_link.files import plan_from_dict, plan_to_dict
from drone_link.planner import Airspace, SurveySpec, camera_preset, plan_coverage
from drone_link.planner.preflight import Check, Limits, NoFlyZone, preflight
from drone_link.planner.terrain import Terrain
from tests.conftest import shared_path

NAMSAN = shapely.box(126.9835, 37.5475, 126.9935, 37.5545)
SEOUL_STATION = (37.5547, 126.9707)
SPEC = SurveySpec(camera=camera_preset("mavic3e-wide"), alt_rel_m=80)


def test_a_relative_altitude_mission_over_namsan_fails_terrain_and_everything_else_is_listed():
    dem = shared_path("dem", "seoul_dem_90m.tif")
    plan = plan_coverage(NAMSAN, SPEC, home_latlon=SEOUL_STATION)  # 80 m above Seoul Station: no fence
    mission = plan_from_dict(plan_to_dict(plan.sorties[0].mission))  # as stored and re-read
    terrain = Terrain.open(dem, bounds_wgs84=(126.96, 37.54, 127.0, 37.56))
    tower = NoFlyZone("N Seoul Tower TFR", shapely.Point(126.9882, 37.5512).buffer(0.002))
    res = preflight(mission, limits=Limits(max_waypoints=10, usable_flight_s=120, min_clearance_m=30),
                    no_fly=[tower], terrain=terrain)
    checks = {v.check for v in res.violations}
    assert {Check.FENCE, Check.NO_FLY, Check.WAYPOINTS, Check.ENDURANCE, Check.TERRAIN} <= checks
    assert any("'N Seoul Tower TFR'" in v.message for v in res.violations)
    terrain_v = next(v for v in res.violations if v.check is Check.TERRAIN)
    assert "over the ground" in terrain_v.message and res.min_clearance_m < 0  # it would hit Namsan
    assert not res.ok and res.summary().count(";") == len(res.violations) - 1


def test_a_safe_plan_passes_and_zones_above_the_cap_do_not_count():
    plan = plan_coverage(NAMSAN, SPEC, home_latlon=SEOUL_STATION,
                         airspace=Airspace(fence=shapely.box(126.965, 37.540, 127.0, 37.560)))
    high = NoFlyZone("airway above 300 m", shapely.box(126.96, 37.54, 127.0, 37.56), lower_m=300)
    res = preflight(plan.sorties[0].mission, limits=Limits(), no_fly=[high])
    assert res.ok, res.summary()
    assert res.warnings == ["terrain clearance not checked: no DEM"]
    assert abs(res.flight_time_s - plan.sorties[0].report.flight_time_s) < 0.05 * res.flight_time_s
