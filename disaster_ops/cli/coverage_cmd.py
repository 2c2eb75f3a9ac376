"""``disaster-ops coverage``: the zones of an area that no camera sees, as GeoJSON.

Cameras come from a registry file (Korean CCTV standard CSV, GeoJSON or plain CSV, read by
:mod:`disaster_ops.registry`) or, by default, from the database. The geometry is
:func:`geo.coverage.uncovered_zones`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from disaster_ops.cli._common import app, fail, print_json
from disaster_ops.config import get_settings
from disaster_ops.errors import InputError
from geo.aoi import PointRadius, load_aoi
from geo.coverage import uncovered_zones
from geo.errors import GeoError
from geo.sectors import Cameras

logger = logging.getLogger(__name__)


def _parse_latlon(text: str, option: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        fail(f"{option} must be 'LAT,LON' in degrees, got {text!r}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        fail(f"{option}: {lat},{lon} is not a WGS84 lat,lon")
    return lat, lon


def _cameras_from_file(path: Path) -> tuple[Cameras, int]:
    from disaster_ops.registry import CameraRecord, read_registry

    _, _, rows = read_registry(path, defaults=get_settings().camera_defaults)
    records, skipped = [], 0
    for row in rows:
        if isinstance(row, CameraRecord):
            records.append(row)
        else:
            skipped += 1
            logger.info("coverage: skipped %s", row)
    return Cameras.from_records(records), skipped


def _cameras_from_db(bounds: tuple[float, float, float, float], reach_m: float) -> Cameras:
    from disaster_ops.services.cameras import cameras_near
    from disaster_ops.storage.migrate import ensure_schema

    ensure_schema()
    return cameras_near(bounds, reach_m=reach_m)


@app.command("coverage")
def coverage(
    out: Annotated[Path, typer.Option("--out", help="Where to write the uncovered zones (GeoJSON FeatureCollection).")],
    area: Annotated[Path | None, typer.Option(
        "--area", help="AOI GeoJSON (Polygon/MultiPolygon, Feature or FeatureCollection, lon/lat).")] = None,
    around: Annotated[str | None, typer.Option("--around", help="AOI as a circle: 'LAT,LON' (with --radius-m).")] = None,
    radius_m: Annotated[float, typer.Option("--radius-m", min=1.0, help="Radius of the --around circle, metres.")] = 2000.0,
    cameras: Annotated[Path | None, typer.Option(
        "--cameras", help="Registry file (CSV or GeoJSON); default: the database.")] = None,
    fov_deg: Annotated[float | None, typer.Option(
        "--fov-deg", min=0.001, max=360.0, help="Override every camera's FOV, degrees.")] = None,
    range_m: Annotated[float | None, typer.Option(
        "--range-m", min=0.001, help="Override every camera's range, metres.")] = None,
    min_area_m2: Annotated[float, typer.Option("--min-area-m2", min=0.0, help="Drop zones smaller than this, m².")] = 25.0,
    rank_from: Annotated[str | None, typer.Option(
        "--rank-from", help="'LAT,LON': rank zones nearest first (default: largest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Compute the parts of an area that no camera sees and write them as GeoJSON."""
    if (area is None) == (around is None):
        fail("give exactly one of --area FILE or --around LAT,LON")
    try:
        if area is not None:
            aoi = load_aoi(area)
        else:
            lat, lon = _parse_latlon(around, "--around")
            aoi = PointRadius(lat, lon, radius_m)
    except GeoError as exc:
        fail(str(exc))
    rank_point = _parse_latlon(rank_from, "--rank-from") if rank_from else None

    settings = get_settings()
    skipped = 0
    try:
        if cameras is not None:
            cams, skipped = _cameras_from_file(cameras)
        else:
            bounds = (aoi.polygon_wgs84() if isinstance(aoi, PointRadius) else aoi).bounds
            reach = max(settings.camera_defaults.ptz_range_m, settings.camera_defaults.range_m, range_m or 0.0, 2000.0)
            cams = _cameras_from_db(bounds, reach)
    except InputError as exc:
        fail(str(exc))
    if fov_deg is not None:
        cams.fov_deg = np.full(len(cams), float(fov_deg))
    if range_m is not None:
        cams.range_m = np.full(len(cams), float(range_m))

    try:
        result = uncovered_zones(aoi, cams, min_area_m2=min_area_m2, rank_from=rank_point)
    except GeoError as exc:
        fail(str(exc))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.to_geojson(), ensure_ascii=False), encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror or exc})")

    summary = {
        "out": str(out),
        "aoi_area_m2": round(result.aoi_area_m2, 2),
        "covered_area_m2": round(result.covered_area_m2, 2),
        "covered_fraction": round(result.covered_fraction, 6),
        "uncovered_area_m2": round(result.uncovered_area_m2, 2),
        "zones": len(result.zones),
        "dropped_area_m2": round(result.dropped_area_m2, 2),
        "cameras_considered": len(cams),
        "cameras_used": result.cameras_used,
        "cameras_invalid": len(result.invalid_cameras),
        "rows_skipped": skipped,
    }
    if as_json:
        print_json(summary)
        return
    for cam_id, reason in result.invalid_cameras[:20]:
        typer.echo(f"camera {cam_id}: ignored ({reason})", err=True)
    typer.echo(
        f"AOI {result.aoi_area_m2 / 1e6:.3f} km², covered {100 * result.covered_fraction:.1f} % "
        f"by {result.cameras_used} cameras; {len(result.zones)} uncovered zones "
        f"(>= {min_area_m2:g} m², {result.uncovered_area_m2 / 1e6:.3f} km²) -> {out}"
    )
