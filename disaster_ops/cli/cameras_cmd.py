"""``disaster-ops cameras import|list|config``: the camera registry and per-camera detection settings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from disaster_ops.cli._common import (
    AS_OPTION_HELP,
    LOCAL_ADMIN_HELP,
    app,
    fail,
    note,
    operator_principal,
    print_json,
    service_errors,
)
from disaster_ops.services import cameras as svc
from disaster_ops.storage.migrate import ensure_schema

cameras_app = typer.Typer(help="Camera registry: import and list fixed CCTV, and each camera's detection "
                          "settings (config).", no_args_is_help=True)
app.add_typer(cameras_app, name="cameras")
err = Console(stderr=True)


@cameras_app.command("import")
def import_(
    files: list[Path] = typer.Argument(..., help="Registry files: Korean CCTV standard CSV, GeoJSON or plain CSV."),
    strict: bool = typer.Option(False, "--strict", help="Fail (exit 2) on the first bad row; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON report per file."),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
) -> None:
    """Import (or update) cameras. Bad rows are skipped and reported with file and row.

    Example: disaster-ops cameras import cctv_standard.csv --local-admin"""
    ensure_schema()
    me = operator_principal(as_user, local)
    for f in files:
        with service_errors(), Progress(TextColumn("{task.description}"), BarColumn(),
                                        TextColumn("{task.completed} rows"), TimeElapsedColumn(), console=err,
                                        transient=True, disable=as_json or not err.is_terminal) as bar:
            task = bar.add_task(f"importing {f.name}", total=None)
            report = svc.import_registry(f, strict=strict, principal=me,
                                         progress=lambda n, task=task: bar.update(task, completed=n))
        if as_json:
            print_json(report.as_dict())
            continue
        for issue in report.skipped[:50]:
            typer.echo(f"skipped {issue}", err=True)
        if len(report.skipped) > 50:
            typer.echo(f"... and {len(report.skipped) - 50} more skipped rows (use --json for all)", err=True)
        typer.echo(
            f"{f}: {report.format} ({report.encoding}), {report.rows_read} rows: "
            f"{report.imported} imported, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.skipped_count} skipped in {report.seconds:.2f} s"
        )


@cameras_app.command("list")
def list_(
    bbox: str | None = typer.Option(None, "--bbox", help="Box west,south,east,north in degrees (WGS84). Example: --bbox 126.9,37.5,127.1,37.6"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Print at most this many cameras, a count (default: all). Example: --limit 20"),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List cameras, optionally inside a lon/lat box. The first column is the source_key that
    `cameras config` and `watch --camera` take.

    Example: disaster-ops cameras list --bbox 126.9,37.5,127.1,37.6 --limit 20"""
    ensure_schema()
    try:
        box = svc.BBox.parse(bbox) if bbox else None
    except ValueError as exc:
        fail(f"--bbox: {exc}")
    cams = svc.list_cameras(bbox=box, limit=limit)
    if as_json:
        print_json([svc.camera_as_dict(c) for c in cams])
        return
    for c in cams:
        h = svc.camera_health(c)
        last = f"{h.last_frame_at:%H:%M:%S}Z" if h.last_frame_at else "-"
        typer.echo(f"{c.source_key:<24} {c.id:>7}  {c.lat:.6f} {c.lon:.6f}  hdg {c.heading_deg:5.1f} fov {c.fov_deg:5.1f} "
                   f"rng {c.range_m:5.0f} m  {h.status.value:<8} last frame {last}  {c.name}"
                   + (f"  [{h.reason}]" if h.reason else ""))
    note(f"{len(cams)} cameras")


def _polygon(text: str, option: str) -> list[tuple[float, float]]:
    """``"x,y x,y x,y"`` (pixels) -> [(x, y), ...]; a clear error for anything else."""
    try:
        pts = [tuple(float(v) for v in p.split(",")) for p in text.replace(";", " ").split()]
    except ValueError:
        fail(f"{option}: {text!r} is not a polygon; write pixel points as 'x,y x,y x,y'")
    if len(pts) < 3 or any(len(p) != 2 for p in pts):
        fail(f"{option}: {text!r} needs at least 3 points written 'x,y'")
    return pts


@cameras_app.command("config")
def config_(
    key: str = typer.Argument(..., help="Camera key (source_key, see `cameras list --json`)."),
    from_file: Path | None = typer.Option(None, "--file", help="Replace all settings with this JSON file ('-' = stdin)."),
    kinds: str | None = typer.Option(None, "--kinds", help="Hazard kinds to report, e.g. fire,smoke."),
    threshold: list[str] = typer.Option([], "--threshold", help="KIND=VALUE minimum confidence 0..1 (repeatable)."),
    roi: list[str] = typer.Option([], "--roi", help="Region of interest 'x,y x,y x,y' in pixels (repeatable; replaces)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Exclusion mask 'x,y x,y x,y' (neon sign, sky; repeatable; replaces)."),
    flood_reference: Path | None = typer.Option(None, "--flood-reference", help="Dry-weather frame of this view: flood counts only new water."),
    ground_roi: list[str] = typer.Option([], "--ground-roi", help="Ground that can flood, 'x,y x,y x,y' (repeatable; replaces)."),
    flood_direct: bool = typer.Option(False, "--flood-direct", help="Back to the model's own water map (no reference)."),
    people_json: Path | None = typer.Option(None, "--people-json", help="People settings (collapse, crowding zone, loitering zones) from this JSON file; enable them with --kinds person,collapse,crowding,loitering."),
    reset: bool = typer.Option(False, "--reset", help="Back to the default settings."),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP + " Needed to change settings."),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the resulting settings as JSON."),
) -> None:
    """Show or change one camera's detection settings (every change is audited).

    Without options it prints the current settings. Changes take effect when the watcher
    (re)starts.
    Example: disaster-ops cameras config busan-jung-0001 --kinds fire,smoke --threshold fire=0.5 --as park.manager
    """
    from disaster_ops.detect import (
        CameraDetectConfig,  # lazy: keeps `cameras list` free of OpenCV/ONNX
    )
    from disaster_ops.services import camera_config as cfg_svc

    ensure_schema()
    wants_change = reset or from_file is not None or kinds is not None or any(
        (threshold, roi, exclude, ground_roi, flood_reference, flood_direct, people_json))
    me = operator_principal(as_user, local) if wants_change else None
    with service_errors():
        cfg = cfg_svc.get_detect_config(key)
        changed = False
        if reset:
            cfg, changed = CameraDetectConfig(), True
        if from_file is not None:
            text = sys.stdin.read() if str(from_file) == "-" else _read_text(from_file)
            cfg, changed = cfg_svc.parse_detect_config(text, source=str(from_file)), True
        data = cfg.model_dump(mode="json")
        if kinds is not None:
            data["kinds"] = [k.strip() for k in kinds.split(",") if k.strip()]
            data["thresholds"] = {k: v for k, v in data["thresholds"].items() if k in data["kinds"]}
        for item in threshold:
            kind, sep, value = item.partition("=")
            try:
                if not sep:
                    raise ValueError(item)
                data["thresholds"][kind.strip()] = float(value)
            except ValueError:
                fail(f"--threshold: {item!r} is not KIND=VALUE (e.g. fire=0.9)")
        if roi:
            data["roi"] = [_polygon(p, "--roi") for p in roi]
        if exclude:
            data["exclude"] = [_polygon(p, "--exclude") for p in exclude]
        if ground_roi:
            data["flood"]["ground_roi"] = [_polygon(p, "--ground-roi") for p in ground_roi]
        if flood_reference is not None:
            data["flood"]["reference_image"] = str(cfg_svc.store_reference_image(key, flood_reference))
            data["flood"]["mode"] = "reference"
        if flood_direct:
            data["flood"]["mode"] = "direct"
        if people_json is not None:
            try:
                data["people"] = json.loads(_read_text(people_json))
            except ValueError as exc:
                fail(f"--people-json {people_json}: not JSON ({exc})")
        changed = changed or any((kinds, threshold, roi, exclude, ground_roi, flood_reference, flood_direct,
                                  people_json))
        if changed:
            cfg = cfg_svc.parse_detect_config(json.dumps(data), source="options")
            cfg = cfg_svc.set_detect_config(key, None if cfg == CameraDetectConfig() else cfg, principal=me)
    if as_json:
        print_json(cfg.model_dump(mode="json"))
        return
    flood = cfg.flood
    typer.echo(f"{key}: kinds {', '.join(cfg.kinds)}; thresholds "
               f"{', '.join(f'{k}={v}' for k, v in cfg.thresholds.items()) or 'model defaults'}")
    typer.echo(f"  roi {len(cfg.roi) or 'whole frame'}, exclusions {len(cfg.exclude)}; "
               f"confirm {cfg.confirm.required} of {cfg.confirm.window}; motion gate {'on' if cfg.motion.enabled else 'off'}")
    typer.echo(f"  flood: {flood.mode}" + (f" against {flood.reference_image}, ground ROI "
               f"{len(flood.ground_roi) or 'whole frame'}, >= {flood.min_roi_share:.0%} new water"
               if flood.mode == "reference" else ""))
    if cfg.people_kinds():
        pc = cfg.people
        typer.echo(f"  people: {', '.join(cfg.people_kinds())}; collapse after {pc.collapse.still_s:g} s still "
                   f"({pc.collapse.fall_still_s:g} s after a fall); "
                   f"crowding >= {pc.crowding.density_per_m2:g}/m2 for {pc.crowding.hold_s:g} s in "
                   f"{'a zone' if pc.crowding.zone else 'the whole view'}; loitering zones "
                   f"{', '.join(f'{z.name} ({z.max_dwell_s:g} s)' for z in pc.loitering) or 'none'}")
    if changed:
        typer.echo("  saved (audited); restart the watcher to apply", err=True)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot read ({exc.strerror or exc})")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w <= 0 or h <= 0 or w > 20000 or h > 20000:
            raise ValueError
    except ValueError:
        fail(f"--size must be WIDTHxHEIGHT in pixels (e.g. 1920x1080), got {text!r}")
    return w, h


def _pose(text: str) -> dict[str, float]:
    allowed = {"height_m", "yaw_deg", "pitch_deg", "roll_deg", "hfov_deg"}
    out: dict[str, float] = {}
    for part in text.split(","):
        k, sep, v = part.partition("=")
        k = k.strip()
        try:
            if not sep or k not in allowed:
                raise ValueError
            out[k] = float(v)
        except ValueError:
            fail(f"--pose: {part!r} is not NAME=VALUE with NAME in {', '.join(sorted(allowed))}")
    need = {"height_m", "yaw_deg", "pitch_deg", "hfov_deg"} - set(out)
    if need:
        fail(f"--pose needs {', '.join(sorted(need))}")
    return out


@cameras_app.command("calibrate")
def calibrate(
    key: str = typer.Argument(..., help="Camera key (source_key, see `cameras list --json`)."),
    points: Path | None = typer.Option(None, "--points", help="CSV of control points: u_px,v_px,lat,lon "
                                       "(>= 4 for a homography; with --pose they only measure its error)."),
    pose: str | None = typer.Option(None, "--pose", help="Measured pose instead of a homography: "
                                    "'height_m=8,yaw_deg=45,pitch_deg=-20,hfov_deg=70[,roll_deg=0]'."),
    image: Path | None = typer.Option(None, "--image", help="A frame of this camera: gives the image size and "
                                      "is the background of the check image."),
    size: str | None = typer.Option(None, "--size", help="Image size WIDTHxHEIGHT when no --image is given."),
    check_image: Path | None = typer.Option(None, "--check-image", help="Write the check image here (.jpg/.png): "
                                            "control points green, where the calibration puts them red, "
                                            "10 m ground grid cyan."),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Calibrate a camera's pixel -> ground mapping and store it with its reprojection error.

    Example: disaster-ops cameras calibrate busan-jung-0001 --points control.csv --image frame.jpg --as park.manager"""
    from disaster_ops.services import camera_calibration as cal_svc

    ensure_schema()
    if points is None and pose is None:
        fail("give --points FILE (homography), or --pose (with optional --points to measure it)")
    if (image is None) == (size is None):
        fail("give exactly one of --image FRAME or --size WIDTHxHEIGHT")
    with service_errors():
        cam = cal_svc.get_camera(key)
        if image is not None:
            import cv2

            frame = cv2.imread(str(image))
            if frame is None:
                fail(f"{image}: not an image OpenCV can read")
            height_px, width_px = frame.shape[:2]
        else:
            width_px, height_px = _size(size)
        pts = cal_svc.read_points(points) if points is not None else None
        if pose is not None:
            model = cal_svc.pose_model(cam, width_px=width_px, height_px=height_px, **_pose(pose))
        else:
            model = cal_svc.fit_homography(pts, width_px=width_px, height_px=height_px)
        report = cal_svc.store(key, model, pts, principal=operator_principal(as_user, local))
        # kept for the dashboard's cameras page (drawn over this camera's frame)
        cal_svc.draw_check_image(model, pts, cal_svc.check_image_path(key), background=image, width_px=width_px,
                                 height_px=height_px)
        if check_image is not None:
            cal_svc.draw_check_image(model, pts, check_image, background=image, width_px=width_px,
                                     height_px=height_px)
            report = type(report)(**{**report.__dict__, "check_image": str(check_image)})
    if as_json:
        print_json(report.as_dict())
        return
    d = report.as_dict()
    typer.echo(f"{key}: {d['kind']} calibration stored; reprojection error {d['rms_m']} m RMS "
               f"({d['rms_px']} px) over {d['n_points']} control points ({d['inliers']} inliers)"
               + (f"; check image {d['check_image']}" if d["check_image"] else ""))
