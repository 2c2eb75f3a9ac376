"""``disaster-ops coverage``: the zones of an area that no camera sees, as a GIS file.

Cameras come from a registry file (Korean CCTV standard CSV, GeoJSON or plain CSV, read by
:mod:`disaster_ops.registry`) or, by default, from the database. The geometry is
:func:`geo.coverage.uncovered_zones` on the indexed path: the union of all view sectors is
built once per registry version and cached (:mod:`disaster_ops.services.coverage`), and
zones are cut from it without a province-sized overlay.
Output: one valid feature per zone (:mod:`geo.zones_io`), GeoJSON, GeoJSON sequence,
GeoPackage or FlatGeobuf by the ``--out`` suffix.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from disaster_ops.cli._common import app, fail, print_json
from disaster_ops.config import get_settings
from disaster_ops.errors import InputError
from geo.aoi import PointRadius, load_aoi
from geo.coverage import uncovered_zones
from geo.errors import GeoError
from geo.zones_io import FORMATS, format_for, write_zones

logger = logging.getLogger(__name__)


def _parse_latlon(text: str, option: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        fail(f"{option} must be 'LAT,LON' in degrees, got {text!r}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        fail(f"{option}: {lat},{lon} is not a WGS84 lat,lon")
    return lat, lon


@app.command("coverage")
def coverage(
    out: Annotated[Path, typer.Option(
        "--out", help="Where to write the uncovered zones: .geojson, .geojsonl (one feature a line), "
                      ".gpkg or .fgb.")],
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
    min_area_m2: Annotated[float | None, typer.Option(
        "--min-area-m2", min=0.0, help="Drop zones smaller than this, m² (default: the setting "
        "coverage.gap_min_area_m2, 100 m², as on the dashboard). Example: --min-area-m2 25")] = None,
    rank_from: Annotated[str | None, typer.Option(
        "--rank-from", help="'LAT,LON': rank zones nearest first (default: largest).")] = None,
    out_format: Annotated[str | None, typer.Option(
        "--format", help=f"Output format ({', '.join(FORMATS)}); default: from the --out suffix.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Compute the parts of an area that no camera sees and write them as a GIS file.

    Example: disaster-ops coverage --around 35.105,129.039 --radius-m 500 --out gaps.geojson"""
    from disaster_ops.cli._heap import batch_memory
    from disaster_ops.services.coverage import background_cache_writes, union_workers
    from geo.forked_workers import early_workers

    # A one-shot process: freed memory reused, no cyclic GC; workers forked while the
    # process is still small (they share the Clipper2 unions of a large cold build and
    # check the output while it is written); the index cache written beside the query.
    with batch_memory(), early_workers(union_workers()), background_cache_writes():
        _coverage(out, area, around, radius_m, cameras, fov_deg, range_m, min_area_m2, rank_from, out_format,
                  as_json)


def _coverage(out: Path, area: Path | None, around: str | None, radius_m: float, cameras: Path | None,
              fov_deg: float | None, range_m: float | None, min_area_m2: float | None, rank_from: str | None,
              out_format: str | None, as_json: bool) -> None:
    from disaster_ops.services import coverage as cov_svc

    if (area is None) == (around is None):
        fail("give exactly one of --area FILE or --around LAT,LON")
    try:
        format_for(out, out_format)
    except GeoError as exc:
        fail(str(exc))
    try:
        lim = get_settings().limits
        budget = {"max_vertices": lim.aoi_max_vertices, "max_area_km2": lim.aoi_max_area_km2,
                  "max_file_bytes": lim.aoi_max_bytes}
        if area is not None:
            aoi = load_aoi(area, **budget)
        else:
            lat, lon = _parse_latlon(around, "--around")
            aoi = load_aoi(PointRadius(lat, lon, radius_m), **budget)
    except GeoError as exc:
        fail(str(exc))
    rank_point = _parse_latlon(rank_from, "--rank-from") if rank_from else None

    overrides = cov_svc.Overrides(fov_deg=fov_deg, range_m=range_m)
    if min_area_m2 is None:
        min_area_m2 = get_settings().coverage.gap_min_area_m2
    try:
        if cameras is not None:
            index = cov_svc.file_index(cameras, aoi=aoi, overrides=overrides)
        else:
            from disaster_ops.storage.migrate import ensure_schema

            ensure_schema()
            index = cov_svc.db_index(aoi=aoi, overrides=overrides)
        # The output's validity check runs on a worker while the file is written (below).
        result = uncovered_zones(aoi, index, min_area_m2=min_area_m2, rank_from=rank_point, check_output=False)
    except InputError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{cameras}: cannot read ({exc.strerror or exc})")
    except GeoError as exc:
        fail(str(exc))
    checked = result.output_check()
    final = [result]

    def repaired_zones() -> list | None:  # the file is renamed into place only after the check
        final[0] = checked()
        return None if final[0] is result else final[0].zones

    try:
        written = write_zones(result.zones, out, fmt=out_format, before_commit=repaired_zones)
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror or exc})")
    result = final[0]
    skipped = index.rows_skipped

    summary = {
        "out": str(out),
        "format": written,
        "aoi_area_m2": round(result.aoi_area_m2, 2),
        "covered_area_m2": round(result.covered_area_m2, 2),
        "covered_fraction": round(result.covered_fraction, 6),
        "uncovered_area_m2": round(result.uncovered_area_m2, 2),
        "zones": len(result.zones),
        "dropped_area_m2": round(result.dropped_area_m2, 2),
        "cameras_considered": len(index.cameras) + len(index.invalid),
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
