"""Coverage planner benchmark: planning time and path length against the area/swath lower bound.

Zones: a real concave Seoul neighbourhood (신정6동, about 0.94 km², from
/work/shared/data when present) and a synthetic 1 km² concave U-shaped zone.
Baseline, measured in the same run: a naive plan with a fixed sweep angle (legs
east-west) and one cell per line (each line flown from its first to its last
crossing, across any gap), as a simple lawnmower tool would. A second
comparison keeps the cell decomposition but fixes the angle (legs east-west),
to separate the gain of the angle choice from that of the decomposition.

Safety section (issue #11, ``--safety``): the dashboard/CLI planning path
(``services.planning.plan_survey``: geofence, no-fly layer, endurance sorties,
waypoint limit, pre-flight check) on 부암동 (2.2 km² between Inwangsan and
Bukaksan, real relief), with and without two no-fly zones and terrain following
over the real Seoul 90 m DEM; baseline: the same path with neither, same run.

Run: ``.venv/bin/python benchmarks/plan.py [--runs 15] [--safety]``. Prints one table and,
with ``--json``, the figures as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import time
from dataclasses import replace
from pathlib import Path

import shapely
from shapely import affinity
from shapely.geometry import shape

from drone_link.planner import Airspace, SurveySpec, camera_preset, plan_coverage
from drone_link.planner.path import CameraOff, CameraOn, Waypoint
from drone_link.planner.sweep import rotate_m, sweep_lines
from geo.crs import LocalFrame

SEOUL_DONGS = Path("/work/shared/data/boundaries/seoul-maps/seoul_submunicipalities_geo_simple.json")
SPEC = SurveySpec(camera=camera_preset("mavic3e-wide"), alt_rel_m=80, front_overlap=0.75,
                  side_overlap=0.65, speed_m_s=8.0, turnaround_m=10.0)


def zones() -> dict[str, shapely.Polygon]:
    out = {}
    if SEOUL_DONGS.exists():
        feats = json.loads(SEOUL_DONGS.read_text(encoding="utf-8"))["features"]
        out["seoul-sinjeong6"] = shape(next(f for f in feats
                                            if f["properties"]["name"] == "신정6동")["geometry"])
    frame = LocalFrame.around(37.5665, 126.9780)
    x0, y0 = (float(v) for v in frame.to_xy_m(37.5665, 126.9780))
    u = shapely.Polygon([(0, 0), (1250, 0), (1250, 1000), (830, 1000), (830, 390), (420, 390),
                         (420, 1000), (0, 1000)])  # 1.0 km², concave
    u = affinity.translate(affinity.rotate(u, 20, origin=(0, 0)), x0, y0)
    out["u-shape-1km2"] = frame.geom_to_wgs84(u)
    return out


def nofly_case() -> tuple[shapely.Polygon, Airspace, tuple[float, float]]:
    """The U with two no-fly zones (one cutting an arm, one between home and the zone)."""
    frame = LocalFrame.around(37.5665, 126.9780)
    x0, y0 = (float(v) for v in frame.to_xy_m(37.5665, 126.9780))
    nofly = [shapely.box(-100, 500, 500, 650), shapely.Point(600, -700).buffer(200)]
    excl = tuple(frame.geom_to_wgs84(affinity.translate(affinity.rotate(p, 20, origin=(0, 0)), x0, y0))
                 for p in nofly)
    lat, lon = frame.to_latlon(x0 + 600, y0 - 1200)
    return zones()["u-shape-1km2"], Airspace(exclusions=excl, margin_m=10.0), (float(lat), float(lon))


def survey_figures(plan) -> dict:
    """Lengths of the survey part (first photo leg to last), legs and turns."""
    s = plan.sorties[0]
    heading = math.radians(90.0 - plan.report.sweep_headings_deg[0])
    on, prev = False, None
    survey_m = legs_m = 0.0
    n_legs = 0
    started = False
    pending = 0.0
    for a in s.actions:
        if isinstance(a, CameraOn):
            on, started = True, True
        elif isinstance(a, CameraOff):
            on = False
        elif isinstance(a, Waypoint):
            if prev is not None and started:
                seg = math.hypot(a.x_m - prev.x_m, a.y_m - prev.y_m)
                pending += seg
                if on:
                    survey_m += pending
                    pending = 0.0
                    ang = math.atan2(a.y_m - prev.y_m, a.x_m - prev.x_m)
                    if abs(math.sin(ang - heading)) < 0.02 and seg > plan.report.line_spacing_m:
                        legs_m += seg
                        n_legs += 1
            prev = a
    return {"survey_m": survey_m, "legs_m": legs_m, "n_legs": n_legs}


def naive_length_m(zone_wgs84) -> float:
    """Fixed angle (legs east-west), one cell: every line flown min→max crossing plus turnaround."""
    frame = LocalFrame.for_geometry(zone_wgs84)
    z = frame.geom_to_m(zone_wgs84)
    _w, _h, spacing, _trig = SPEC.swath_geometry(SPEC.alt_rel_m)
    lines = sweep_lines(rotate_m(z, 0.0), spacing_m=spacing, merge_gap_m=0.0)
    pts = []
    right = False
    for ln in lines:
        if not ln.intervals:
            continue
        lo, hi = ln.intervals[0][0] - SPEC.turnaround_m, ln.intervals[-1][1] + SPEC.turnaround_m
        pts += [(hi, ln.y_m), (lo, ln.y_m)] if right else [(lo, ln.y_m), (hi, ln.y_m)]
        right = not right
    return sum(math.dist(a, b) for a, b in itertools.pairwise(pts))


def timed(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


SEOUL_DEM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dem" / "seoul_dem_90m.tif"


def safety_rows(runs: int) -> list[dict]:
    """Planning time of the shared safe path: no-fly zones and terrain on a hilly real dong."""
    from disaster_ops.config import PlanningSafety
    from disaster_ops.services import planning
    from drone_link.planner.preflight import NoFlyZone
    from drone_link.planner.terrain import Terrain

    feats = json.loads(SEOUL_DONGS.read_text(encoding="utf-8"))["features"]
    zone = shape(next(f for f in feats if f["properties"]["name"] == "부암동")["geometry"])
    launch = planning.Launch(37.5925, 126.9615, "launch point", "bench", 25.0, 700)
    frame = LocalFrame.around(37.5925, 126.9615)
    nofly = []
    for name, (lat, lon, r) in {"synthetic TFR A": (37.5880, 126.9680, 180.0),
                                "synthetic TFR B": (37.5975, 126.9650, 120.0)}.items():
        x, y = (float(v) for v in frame.to_xy_m(lat, lon))
        nofly.append(NoFlyZone(name, frame.geom_to_wgs84(shapely.Point(x, y).buffer(r))))
    safety = PlanningSafety(min_clearance_m=40.0)
    bounds = tuple(shapely.union_all([zone, shapely.Point(launch.lon, launch.lat)]).buffer(0.005).bounds)
    t_dem, terrain = timed(lambda: Terrain.open(SEOUL_DEM, bounds_wgs84=bounds), runs)
    rows = []
    for label, nf, ter in (("baseline (fence, sorties, pre-flight)", [], None),
                           ("+ 2 no-fly zones", nofly, None),
                           ("+ terrain (Seoul 90 m DEM)", [], terrain),
                           ("+ no-fly + terrain", nofly, terrain)):
        t, sp = timed(lambda nf=nf, ter=ter: planning.plan_survey(
            [zone], SPEC, launches=[launch], safety=safety, no_fly=nf, terrain=ter), runs)
        rows.append({"case": label, "plan_ms_median": round(t * 1000, 1), "sorties": len(sp.sorties),
                     "items_max": max(len(s.mission.items) + 1 for s in sp.sorties),
                     "distance_km": round(sp.report.distance_m / 1000, 2),
                     "covered_share": sp.report.covered_share,
                     "min_clearance_m": sp.report.min_clearance_m, "max_alt_agl_m": sp.report.max_alt_agl_m})
    rows.append({"case": "DEM window read (rasterio)", "plan_ms_median": round(t_dem * 1000, 1)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--safety", action="store_true", help="Only the safe-planning section (issue #11).")
    args = ap.parse_args()
    if args.safety:
        rows = safety_rows(args.runs)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        cols = list(rows[0])
        print(" | ".join(cols))
        for r in rows:
            print(" | ".join(str(r.get(c, "")) for c in cols))
        return
    plan_coverage(zones()["u-shape-1km2"], SPEC)  # warm caches (pyproj transformers)
    rows = []
    for name, zone in zones().items():
        t_plan, plan = timed(lambda z=zone: plan_coverage(z, SPEC), args.runs)
        t_naive, naive_m = timed(lambda z=zone: naive_length_m(z), args.runs)
        f = survey_figures(plan)
        fixed = survey_figures(plan_coverage(zone, replace(SPEC, sweep_angle_deg=90.0)))
        area = plan.report.zone_area_m2
        lb = area / plan.report.line_spacing_m
        turn_ext = f["n_legs"] * 2 * plan.report.turnaround_m
        rows.append({
            "zone": name, "area_km2": round(area / 1e6, 3),
            "hull_share": round(plan.zones_m[0].area / plan.zones_m[0].convex_hull.area, 3),
            "plan_ms_median": round(t_plan * 1000, 1), "naive_ms_median": round(t_naive * 1000, 1),
            "sweep_heading_deg": plan.report.sweep_headings_deg[0],
            "lower_bound_m": round(lb), "survey_m": round(f["survey_m"]),
            "ratio_survey_to_lb": round(f["survey_m"] / lb, 3),
            "ratio_legs_to_lb": round((f["legs_m"] - turn_ext) / lb, 3),
            "legs": f["n_legs"], "naive_m": round(naive_m),
            "naive_ratio_to_lb": round(naive_m / lb, 3),
            "naive_over_planned": round(naive_m / f["survey_m"], 3),
            "fixed_ew_cells_m": round(fixed["survey_m"]),
            "fixed_ew_over_planned": round(fixed["survey_m"] / f["survey_m"], 3),
            "covered_share": plan.report.covered_share, "photos": plan.report.photo_count,
        })
    zone, airspace, home = nofly_case()
    t_nf, plan = timed(lambda: plan_coverage(zone, SPEC, airspace=airspace, home_latlon=home), args.runs)
    t_free, _ = timed(lambda: plan_coverage(zone, SPEC, home_latlon=home), args.runs)
    nofly_row = {"zone": "u-shape-1km2 + 2 no-fly zones, home beyond one",
                 "plan_ms_median": round(t_nf * 1000, 1),
                 "same_without_no_fly_ms": round(t_free * 1000, 1),
                 "covered_share": plan.report.covered_share, "distance_m": plan.report.distance_m}
    if args.json:
        print(json.dumps(rows + [nofly_row], ensure_ascii=False, indent=2))
        return
    cols = list(rows[0])
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    print(" | ".join(f"{k}={v}" for k, v in nofly_row.items()))


if __name__ == "__main__":
    main()
