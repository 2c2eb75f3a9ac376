"""``disaster-ops plan``: a coverage mission from zone polygons to QGC ``.plan`` (and friends)."""

from __future__ import annotations

from pathlib import Path

import shapely
import typer

from disaster_ops.cli._common import app, fail, print_json
from drone_link.files import MissionFileError, write_plan, write_waypoints
from drone_link.files.export import write_geojson, write_kml
from drone_link.files.zones import read_polygons
from drone_link.planner import (
    CAMERA_PRESETS,
    Airspace,
    CameraModel,
    Endurance,
    PlanningError,
    SurveySpec,
    camera_preset,
    plan_coverage,
)


def _out_path(base: Path, drone: int, sortie: int, many: bool) -> Path:
    """``mission.plan`` for one flight; ``mission_d1_s2.plan`` when there are several."""
    if not many:
        return base
    return base.with_name(f"{base.stem}_d{drone + 1}_s{sortie + 1}{base.suffix}")


def _home(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        fail(f"--home: expected LAT,LON in degrees, got {text!r}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        fail(f"--home: {lat},{lon} is not a WGS84 position")
    return lat, lon


@app.command("plan")
def plan(
    area: Path = typer.Option(..., "--area", help="Zones to cover: GeoJSON polygons (WGS84)."),
    out: Path = typer.Option(..., "--out", help="QGroundControl .plan file to write."),
    alt_m: float | None = typer.Option(None, "--alt-m", help="Altitude above home, metres."),
    gsd_cm: float | None = typer.Option(None, "--gsd-cm", help="Target GSD, cm/px (instead of --alt-m)."),
    overlap_front: float = typer.Option(0.75, "--overlap-front", min=0.0, max=0.94),
    overlap_side: float = typer.Option(0.65, "--overlap-side", min=0.0, max=0.94),
    camera: str = typer.Option("mavic3e-wide", "--camera",
                               help=f"Camera preset: {', '.join(sorted(CAMERA_PRESETS))}."),
    hfov_deg: float | None = typer.Option(None, "--hfov-deg", help="Custom camera HFOV (overrides --camera)."),
    image_px: str = typer.Option("4000x3000", "--image-px", help="Custom camera image size WxH."),
    speed_m_s: float = typer.Option(8.0, "--speed-m-s", min=0.5, max=40.0),
    turnaround_m: float = typer.Option(10.0, "--turnaround-m", min=0.0),
    max_alt_m: float = typer.Option(150.0, "--max-alt-m", help="Altitude cap AGL (Korea: 150 m)."),
    clamp_alt: bool = typer.Option(False, "--clamp-alt", help="Clamp to the cap with a warning instead of failing."),
    exclude: Path | None = typer.Option(None, "--exclude", help="No-fly polygons (GeoJSON)."),
    fence: Path | None = typer.Option(None, "--fence", help="Inclusion fence: one polygon (GeoJSON)."),
    margin_m: float = typer.Option(5.0, "--margin-m", min=0.0, help="Distance kept from fence and no-fly zones."),
    drones: int = typer.Option(1, "--drones", min=1, max=20),
    battery_min: float | None = typer.Option(None, "--battery-min", help="Flight minutes per battery."),
    reserve: float = typer.Option(0.25, "--reserve", min=0.0, max=0.8, help="Battery share kept in reserve."),
    home: str | None = typer.Option(None, "--home", help="Launch point LAT,LON (default: first waypoint)."),
    waypoint_limit: int | None = typer.Option(None, "--waypoint-limit", help="Warn above this many items."),
    firmware: str = typer.Option("ardupilot", "--firmware", help="ardupilot or px4 (QGC firmwareType)."),
    waypoints: Path | None = typer.Option(None, "--waypoints", help="Also write QGC WPL 110 .waypoints."),
    geojson: Path | None = typer.Option(None, "--geojson", help="Also write path + photo footprints GeoJSON."),
    kml: Path | None = typer.Option(None, "--kml", help="Also write path + photo footprints KML."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan report as JSON."),
) -> None:
    """Plan a photo survey of the zones and write it as mission files."""
    if firmware not in ("ardupilot", "px4"):
        fail(f"--firmware: expected ardupilot or px4, got {firmware!r}")
    try:
        zones = read_polygons(area)
        exclusions = tuple(read_polygons(exclude)) if exclude else ()
        fence_poly = None
        if fence is not None:
            fence_polys = read_polygons(fence)
            if len(fence_polys) != 1:
                fail(f"{fence}: the fence must be one polygon, found {len(fence_polys)}")
            fence_poly = fence_polys[0]
    except MissionFileError as exc:
        fail(str(exc))
    try:
        if hfov_deg is not None:
            try:
                w_px, h_px = (int(v) for v in image_px.lower().split("x"))
            except ValueError:
                fail(f"--image-px: expected WxH, got {image_px!r}")
            cam = CameraModel.from_hfov(name=f"hfov{hfov_deg:g}", hfov_deg=hfov_deg,
                                        image_width_px=w_px, image_height_px=h_px)
        else:
            cam = camera_preset(camera)
        if alt_m is None and gsd_cm is None:
            fail("give --alt-m or --gsd-cm")
        spec = SurveySpec(camera=cam, alt_rel_m=alt_m, target_gsd_cm_px=gsd_cm,
                          front_overlap=overlap_front, side_overlap=overlap_side,
                          speed_m_s=speed_m_s, turnaround_m=turnaround_m, max_alt_rel_m=max_alt_m,
                          clamp_altitude=clamp_alt)
        result = plan_coverage(
            shapely.MultiPolygon(zones) if len(zones) > 1 else zones[0], spec,
            airspace=Airspace(fence=fence_poly, exclusions=exclusions, margin_m=margin_m),
            endurance=Endurance(battery_min=battery_min, reserve_share=reserve) if battery_min else None,
            drones=drones, home_latlon=_home(home), waypoint_limit=waypoint_limit)
    except PlanningError as exc:
        fail(str(exc))
    many = len(result.sorties) > 1
    written: list[str] = []
    for s in result.sorties:
        written.append(str(write_plan(s.mission, _out_path(out, s.drone, s.index, many),
                                      firmware=firmware)))
        if waypoints is not None:
            written.append(str(write_waypoints(s.mission, _out_path(waypoints, s.drone, s.index, many))))
    if geojson is not None:
        written.append(str(write_geojson(result, geojson)))
    if kml is not None:
        written.append(str(write_kml(result, kml)))
    report = result.report
    if as_json:
        print_json({"report": report.to_dict(), "files": written,
                    "sorties": [{"drone": s.drone + 1, "sortie": s.index + 1, **s.report.to_dict()}
                                for s in result.sorties]})
        return
    for w in report.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(
        f"{len(result.sorties)} flight(s), {report.distance_m / 1000:.2f} km, "
        f"{report.flight_time_s / 60:.1f} min, {report.photo_count} photos, "
        f"GSD {report.gsd_cm_px:.2f} cm/px at {report.alt_rel_m:.0f} m, "
        f"covers {report.covered_share:.1%} of {report.zone_area_m2 / 1e6:.3f} km²")
    for path in written:
        typer.echo(f"wrote {path}")
