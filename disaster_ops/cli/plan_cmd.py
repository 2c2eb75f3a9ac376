"""``disaster-ops plan``: a coverage survey or a search pattern → QGC ``.plan`` (and friends).

Uses the same planning path as the dashboard (:mod:`disaster_ops.services.planning`):
launch point, geofence, the stored no-fly layer, battery sorties, waypoint limit,
terrain from a DEM and the pre-flight check, whose violations are all printed
before exiting with code 2.
"""

from __future__ import annotations

from pathlib import Path

import shapely
import typer

from disaster_ops.cli._common import app, fail, print_json
from disaster_ops.config import get_settings
from disaster_ops.errors import InputError
from disaster_ops.services import planning
from drone_link.files import MissionFileError, write_plan, write_waypoints
from drone_link.files.airspace import read_airspace
from drone_link.files.export import write_geojson, write_kml
from drone_link.files.zones import read_polygons
from drone_link.planner import CAMERA_PRESETS, CameraModel, PlanningError, SurveySpec, camera_preset
from drone_link.planner.limits import PlanLimits, check_mission_size, check_survey_size
from drone_link.planner.preflight import NoFlyZone

PATTERNS = ("survey", *planning.SEARCH_PATTERNS)


def _out_path(base: Path, drone: int, sortie: int, many: bool) -> Path:
    """``mission.plan`` for one flight; ``mission_d1_s2.plan`` when there are several."""
    if not many:
        return base
    return base.with_name(f"{base.stem}_d{drone + 1}_s{sortie + 1}{base.suffix}")


def _latlon(text: str | None, flag: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        fail(f"{flag}: expected LAT,LON in degrees, got {text!r}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        fail(f"{flag}: {lat},{lon} is not a WGS84 position")
    return lat, lon


def _camera(camera: str, hfov_deg: float | None, image_px: str) -> CameraModel:
    if hfov_deg is None:
        return camera_preset(camera)
    try:
        w_px, h_px = (int(v) for v in image_px.lower().split("x"))
    except ValueError:
        fail(f"--image-px: expected WxH, got {image_px!r}")
    return CameraModel.from_hfov(name=f"hfov{hfov_deg:g}", hfov_deg=hfov_deg,
                                 image_width_px=w_px, image_height_px=h_px)


@app.command("plan")
def plan(
    out: Path = typer.Option(..., "--out", help="QGroundControl .plan file to write."),
    area: Path | None = typer.Option(None, "--area", help="Zones to cover: GeoJSON polygons (WGS84). "
                                     "Needed for --pattern survey."),
    pattern: str = typer.Option("survey", "--pattern", help=f"What to fly: {', '.join(PATTERNS)}."),
    start: str | None = typer.Option(None, "--start", help="Search datum LAT,LON (incident or last "
                                     "known position) for the search patterns."),
    radius_m: float = typer.Option(300.0, "--radius-m", min=10.0, max=20000.0,
                                   help="Search radius (expanding square half-side, sector radius), metres."),
    heading_deg: float = typer.Option(0.0, "--heading-deg", help="Search pattern's first leg heading, degrees."),
    length_m: float | None = typer.Option(None, "--length-m", help="Parallel track: leg length, metres."),
    width_m: float | None = typer.Option(None, "--width-m", help="Parallel track: searched width, metres."),
    track_spacing_m: float | None = typer.Option(None, "--track-spacing-m",
                                                 help="Search track spacing, metres (default: camera swath)."),
    alt_m: float | None = typer.Option(None, "--alt-m", help="Flight altitude, metres: above the ground "
                                       "with --dem (terrain following), else above the launch point."),
    gsd_cm: float | None = typer.Option(None, "--gsd-cm", help="Target GSD, cm/px (instead of --alt-m)."),
    overlap_front: float = typer.Option(0.75, "--overlap-front", min=0.0, max=0.94, help="Forward overlap of consecutive photos, a fraction 0-0.94 (0.75 = 75 %). Example: --overlap-front 0.8"),
    overlap_side: float = typer.Option(0.65, "--overlap-side", min=0.0, max=0.94, help="Side overlap of neighbouring lines, a fraction 0-0.94 (0.65 = 65 %). Example: --overlap-side 0.7"),
    camera: str = typer.Option("mavic3e-wide", "--camera",
                               help=f"Camera preset: {', '.join(sorted(CAMERA_PRESETS))}."),
    hfov_deg: float | None = typer.Option(None, "--hfov-deg", help="Custom camera HFOV (overrides --camera)."),
    image_px: str = typer.Option("4000x3000", "--image-px", help="Custom camera image size WxH."),
    speed_m_s: float = typer.Option(8.0, "--speed-m-s", min=0.5, max=40.0, help="Survey ground speed, metres per second. Example: --speed-m-s 6"),
    turnaround_m: float = typer.Option(10.0, "--turnaround-m", min=0.0, help="Run-out beyond each survey line for the turn, metres. Example: --turnaround-m 15"),
    max_alt_agl_m: float | None = typer.Option(None, "--max-alt-agl-m",
                                               help="Altitude cap, metres (Korea: 150 m above ground). "
                                               "With --dem checked against the DEM ground everywhere on "
                                               "the path; without, it caps the height above the launch point."),
    max_alt_m: float | None = typer.Option(None, "--max-alt-m", hidden=True,
                                           help="Deprecated alias of --max-alt-agl-m."),
    clamp_alt: bool = typer.Option(False, "--clamp-alt", help="Clamp to the cap with a warning instead of failing."),
    exclude: list[Path] = typer.Option([], "--exclude", help="Extra no-fly zones (GeoJSON or KML), "
                                       "besides the stored airspace layer."),
    use_airspace: bool = typer.Option(True, "--airspace/--no-airspace",
                                      help="Avoid the airspace layer stored with 'disaster-ops airspace import'."),
    fence: Path | None = typer.Option(None, "--fence", help="Inclusion fence: one polygon (GeoJSON); "
                                      "default: the area and launch points plus --fence-margin-m."),
    fence_margin_m: float | None = typer.Option(None, "--fence-margin-m", min=10.0,
                                                help="Margin of the automatic geofence, metres."),
    margin_m: float | None = typer.Option(None, "--margin-m", min=0.0,
                                          help="Distance kept from fence and no-fly zones, metres."),
    drones: int | None = typer.Option(None, "--drones", min=1, max=20,
                                      help="Number of drones, a count (default: one per --drone, else 1). Example: --drones 2"),
    drone: list[str] = typer.Option([], "--drone", help="Registered drone(s) to plan for: launch from its "
                                    "live position or home, its endurance and waypoint limit."),
    battery_minutes: float | None = typer.Option(None, "--battery-minutes", min=1.0,
                                                 help="Flight time of one battery, minutes (default: the "
                                                 "drone's endurance_min). Example: --battery-minutes 25"),
    battery_min: float | None = typer.Option(None, "--battery-min", hidden=True,
                                             help="Deprecated alias of --battery-minutes."),
    reserve: float | None = typer.Option(None, "--reserve", min=0.0, max=0.8,
                                         help="Battery share kept in reserve, a fraction 0-0.8 (default: the planning setting). Example: --reserve 0.25"),
    home: str | None = typer.Option(None, "--home", "--launch",
                                    help="Launch point LAT,LON (default: the drone's position; else the "
                                    "first waypoint, with a warning)."),
    waypoint_limit: int | None = typer.Option(None, "--waypoint-limit", help="Vehicle's mission item limit, a count: "
                                              "sorties are split to fit."),
    dem: Path | None = typer.Option(None, "--dem", help="GeoTIFF DEM (metres AMSL): terrain-following "
                                    "AMSL waypoints (default: the configured planning.dem_path)."),
    dem_crs: str | None = typer.Option(None, "--dem-crs", help="DEM CRS when the file lacks one, e.g. EPSG:5186."),
    min_clearance_m: float | None = typer.Option(None, "--min-clearance-m", min=1.0,
                                                 help="Minimum height over the DEM ground, metres."),
    max_climb_m_s: float | None = typer.Option(None, "--max-climb-m-s", min=0.1, help="Steepest climb the vehicle may fly between waypoints, metres per second (default: the planning setting). Example: --max-climb-m-s 3"),
    max_descent_m_s: float | None = typer.Option(None, "--max-descent-m-s", min=0.1, help="Steepest descent between waypoints, metres per second (default: the planning setting). Example: --max-descent-m-s 2"),
    firmware: str = typer.Option("ardupilot", "--firmware", help="ardupilot or px4 (QGC firmwareType)."),
    waypoints: Path | None = typer.Option(None, "--waypoints", help="Also write QGC WPL 110 .waypoints."),
    geojson: Path | None = typer.Option(None, "--geojson", help="Also write path + photo footprints GeoJSON."),
    kml: Path | None = typer.Option(None, "--kml", help="Also write path + photo footprints KML."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan report as JSON."),
) -> None:
    """Plan a photo survey of zones, or a search pattern from a datum, and write mission files.

    Example: disaster-ops plan --area zones.geojson --alt-m 80 --home 35.10,129.03 --out mission.plan"""
    if firmware not in ("ardupilot", "px4"):
        fail(f"--firmware: expected ardupilot or px4, got {firmware!r}")
    if pattern not in PATTERNS:
        fail(f"--pattern: expected one of {', '.join(PATTERNS)}, got {pattern!r}")
    if battery_min is not None:
        typer.echo("warning: --battery-min is deprecated (it means minutes, not a minimum), "
                   "use --battery-minutes", err=True)
        battery_minutes = battery_minutes if battery_minutes is not None else battery_min
    battery_min = battery_minutes
    if max_alt_m is not None:
        typer.echo("warning: --max-alt-m is deprecated, use --max-alt-agl-m", err=True)
        max_alt_agl_m = max_alt_agl_m if max_alt_agl_m is not None else max_alt_m
    base = get_settings().planning
    overrides = {k: v for k, v in {
        "max_alt_agl_m": max_alt_agl_m, "fence_margin_m": fence_margin_m, "airspace_margin_m": margin_m,
        "reserve_share": reserve, "dem_path": str(dem) if dem else None, "dem_crs": dem_crs,
        "min_clearance_m": min_clearance_m, "max_climb_m_s": max_climb_m_s,
        "max_descent_m_s": max_descent_m_s}.items() if v is not None}
    safety = base.model_copy(update=overrides)
    launch_ll = _latlon(home, "--home")
    datum = _latlon(start, "--start")
    lim = get_settings().limits
    budget = {"max_vertices": lim.aoi_max_vertices, "max_file_bytes": lim.aoi_max_bytes}
    limits = PlanLimits(max_area_km2=lim.aoi_max_area_km2, max_photos=lim.plan_max_photos,
                        max_waypoints=lim.plan_max_waypoints)
    try:
        zones, fence_poly, extra = [], None, []
        if pattern == "survey":
            if area is None:
                fail("--area is needed for --pattern survey")
            zones = read_polygons(area, **budget)
        elif datum is None:
            fail(f"--start LAT,LON is needed for --pattern {pattern}")
        if fence is not None:
            fence_polys = read_polygons(fence, **budget)
            if len(fence_polys) != 1:
                fail(f"{fence}: the fence must be one polygon, found {len(fence_polys)}")
            fence_poly = fence_polys[0]
        for f in exclude:
            extra.extend(NoFlyZone(z.name, z.polygon, z.lower_m) for z in read_airspace(f))
    except MissionFileError as exc:
        fail(str(exc))
    if alt_m is None and gsd_cm is None:
        fail("give --alt-m or --gsd-cm")
    try:
        spec = SurveySpec(camera=_camera(camera, hfov_deg, image_px), alt_rel_m=alt_m,
                          target_gsd_cm_px=gsd_cm, front_overlap=overlap_front, side_overlap=overlap_side,
                          speed_m_s=speed_m_s, turnaround_m=turnaround_m,
                          max_alt_rel_m=safety.max_alt_agl_m, clamp_altitude=clamp_alt)
        spec.resolve_altitude([])
        launches = planning.launches_for(drone, launch_latlon=launch_ll) if drone else \
            ([planning.Launch(launch_ll[0], launch_ll[1], "launch point")] if launch_ll else [])
        if not launches:
            typer.echo("warning: no --home/--drone: the mission takes off at its first waypoint", err=True)
        if pattern == "survey":
            geom = shapely.union_all(zones)
        else:
            geom = shapely.Point(datum[1], datum[0]).buffer(max(radius_m, length_m or 0, width_m or 0) / 80_000)
        check_survey_size(geom, spec, limits)  # before any sweep line is built
        bounds = _bounds(geom, launches, safety.fence_margin_m)
        no_fly = (planning.stored_no_fly(bounds) if use_airspace else []) + extra
        terrain = planning.load_terrain(safety, bounds)
        if pattern == "survey":
            safe = planning.plan_survey(zones, spec, launches=launches, safety=safety, no_fly=no_fly,
                                        drones=drones or (len(drone) if drone else 1), fence=fence_poly,
                                        battery_min=battery_min, waypoint_limit=waypoint_limit,
                                        terrain=terrain, require_launch=False)
        else:
            if geojson is not None or kml is not None:
                fail("--geojson/--kml are written for surveys only")
            safe = planning.plan_search(pattern, datum[0], datum[1], spec,
                                        launch=launches[0] if launches else None, safety=safety,
                                        no_fly=no_fly, radius_m=radius_m, heading_deg=heading_deg,
                                        length_m=length_m, width_m=width_m, track_spacing_m=track_spacing_m,
                                        terrain=terrain, battery_min=battery_min,
                                        waypoint_limit=waypoint_limit)
        check_mission_size([s.mission for s in safe.sorties], limits)
    except (PlanningError, InputError, KeyError) as exc:
        fail(str(exc).strip("'\""))
    _write(safe, out=out, waypoints=waypoints, geojson=geojson, kml=kml, firmware=firmware, as_json=as_json)


def _bounds(geom, launches, margin_m: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = geom.bounds
    for lc in launches:
        x0, y0, x1, y1 = min(x0, lc.lon), min(y0, lc.lat), max(x1, lc.lon), max(y1, lc.lat)
    pad = margin_m / 90_000.0 + 0.002
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def _write(safe: planning.SafePlan, *, out: Path, waypoints: Path | None, geojson: Path | None,
           kml: Path | None, firmware: str, as_json: bool) -> None:
    many = len(safe.sorties) > 1
    written: list[str] = []
    for s in safe.sorties:
        written.append(str(write_plan(s.mission, _out_path(out, s.drone_index, s.index, many),
                                      firmware=firmware)))
        if waypoints is not None:
            written.append(str(write_waypoints(s.mission, _out_path(waypoints, s.drone_index, s.index, many))))
    if geojson is not None:
        written.append(str(write_geojson(safe.coverage, geojson)))
    if kml is not None:
        written.append(str(write_kml(safe.coverage, kml)))
    report = safe.report
    if as_json:
        print_json({"report": report.to_dict(), "files": written, "notes": safe.notes,
                    "no_fly_considered": safe.no_fly_names,
                    "sorties": [{"drone": s.drone_index + 1, "sortie": s.index + 1, **s.summary()}
                                for s in safe.sorties]})
        return
    for w in [*safe.notes, *report.warnings, *{w for s in safe.sorties for w in s.preflight.warnings}]:
        typer.echo(f"warning: {w}", err=True)
    datum = (f"{report.alt_rel_m:.0f} m above ground (DEM, AMSL waypoints)" if report.alt_mode == "terrain_amsl"
             else f"{report.alt_rel_m:.0f} m above the launch point")
    typer.echo(
        f"{len(safe.sorties)} flight(s), {report.distance_m / 1000:.2f} km, "
        f"{report.flight_time_s / 60:.1f} min, {report.photo_count} photos, "
        f"GSD {report.gsd_cm_px:.2f} cm/px at {datum}, "
        f"covers {report.covered_share:.1%} of {report.zone_area_m2 / 1e6:.3f} km²; pre-flight check passed")
    for path in written:
        typer.echo(f"wrote {path}")
