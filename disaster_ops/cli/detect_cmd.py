"""``disaster-ops detect`` and ``disaster-ops eval``.

``detect PATH... --json`` prints one JSON object per image or sampled video frame:
``{"source": ..., "frame": n, "detections": [{"kind", "confidence", "bbox", ...}]}``;
a file that cannot be read gives ``{"source": ..., "frame": null, "error": ...}`` and
the other files still run (exit code 2 at the end if any input failed).

``--kinds`` picks what is reported (default: the hazard kinds fire, smoke, flood). With
people kinds (``person``, ``collapse``, ``crowding``, ``loitering``) each frame also has
its persons in ``detections`` (kind ``person``, ``posture``, ``fall_score`` and, on videos,
``track_id``), their ``count`` (and ``density_per_m2`` when the people settings give the
zone's ground area) and ``events``: the collapse / crowding / loitering events confirmed
at that frame (time-based events need a video; each video is one camera).

``eval DIR... [--json]`` prints per-kind image-level precision, recall, F1 and
false-alarm rate, plus box mAP50 where labels have boxes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from disaster_ops.cli._common import app, fail, print_json
from disaster_ops.cli.exit_codes import ExitCode

logger = logging.getLogger(__name__)

BATCH = 8


# The registered detector types (disaster_ops.detect.backends; a test keeps this list true).
DETECTOR_TYPES = ("hazardnet", "hazardnet-torch", "person", "ultralytics")
DETECTOR_HELP = ("Detector backend: hazardnet (shipped ONNX model, CPU), hazardnet-torch (same model, "
                 "PyTorch), person (people, upright or fallen; --kinds person runs it beside the hazards), "
                 "ultralytics (a YOLO .pt/.onnx given with --weights). Example: --detector hazardnet")

def _detector(detector_type: str, weights: str | None, imgsz: int | None):
    from pydantic import ValidationError

    from disaster_ops.detect.base import create_detector
    from disaster_ops.detect.config import DetectorConfig
    from disaster_ops.detect.errors import DetectError

    try:
        return create_detector(DetectorConfig(type=detector_type, weights=weights, input_size_px=imgsz))
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"detector option {'.'.join(map(str, err['loc']))}: {err['msg']}")
    except DetectError as exc:
        fail(str(exc))


def _emit(obj: dict, as_json: bool) -> None:
    if as_json:
        print_json(obj)
        return
    if "error" in obj:
        typer.echo(f"{obj['source']}: ERROR {obj['error']}")
        return
    dets = obj["detections"]
    desc = "; ".join(f"{d['kind']}{'#' + str(d['track_id']) if d.get('track_id', -1) >= 0 else ''} "
                     f"{d['confidence']:.2f} {d['bbox']}" for d in dets) or "nothing"
    typer.echo(f"{obj['source']}#{obj['frame']}: {desc}")
    for e in obj.get("events", []):
        typer.echo(f"  EVENT {e['kind']} " + " ".join(f"{k}={v}" for k, v in e.items() if k != "kind"))


def _parse_kinds(kinds: str | None) -> tuple[list[str], list[str]]:
    """(hazard kinds, people kinds) asked for with ``--kinds``; default: the hazard kinds."""
    from disaster_ops.detect.config import ALL_KINDS, KNOWN_KINDS, PEOPLE_KINDS

    if kinds is None:
        return list(KNOWN_KINDS), []
    asked = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in asked if k not in ALL_KINDS]
    if unknown or not asked:
        fail(f"--kinds: unknown kind(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(ALL_KINDS)}")
    return [k for k in asked if k in KNOWN_KINDS], [k for k in asked if k in PEOPLE_KINDS]


def _people_config(path: Path | None, people_kinds: list[str]):
    """The camera settings used for people analytics of every input (``--people-config``)."""
    from pydantic import ValidationError

    from disaster_ops.detect.config import CameraDetectConfig
    from disaster_ops.people.config import PeopleConfig

    people = PeopleConfig()
    if path is not None:
        try:
            people = PeopleConfig.model_validate_json(path.read_bytes())
        except OSError as exc:
            fail(f"--people-config {path}: {exc.strerror or exc}")
        except ValidationError as exc:
            err = exc.errors()[0]
            fail(f"--people-config {path}: {'.'.join(map(str, err['loc'])) or 'file'}: {err['msg']}")
    return CameraDetectConfig(kinds=people_kinds, people=people)


@app.command("detect")
def detect_command(
    paths: list[Path] = typer.Argument(..., help="Images, videos or folders (searched recursively)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per image / video frame."),
    fps: float = typer.Option(1.0, "--fps", min=0.01, max=120.0, help="Video sampling rate, frames per second."),
    max_frames: int | None = typer.Option(None, "--max-frames", min=1, help="At most this many frames per video, a count. Example: --max-frames 100"),
    detector_type: str = typer.Option("hazardnet", "--detector", help=DETECTOR_HELP),
    weights: str | None = typer.Option(None, "--weights", help="Model weights (default: shipped HazardNet)."),
    imgsz: int | None = typer.Option(None, "--imgsz", help="Square model input, px (multiple of 32)."),
    kinds: str | None = typer.Option(None, "--kinds", help="What to report (default: fire,smoke,flood); people kinds: person, collapse, crowding, loitering. Example: --kinds person,collapse,crowding"),
    people_config: Path | None = typer.Option(None, "--people-config", help="People settings JSON (collapse, crowding zone and area, loitering zones) for every input. Example: --people-config people.json"),
    person_imgsz: int | None = typer.Option(None, "--person-imgsz", help="Person model input, px, multiple of 32 (default 640, the packaged model; smaller is exported once). Example: --person-imgsz 320"),
    snapshots: Path | None = typer.Option(None, "--snapshots", help="Save the frame of each people event in this folder. Example: --snapshots events/"),
) -> None:
    """Detect fire, smoke and flood (and people, collapse, crowding, loitering) in images, videos and folders.

    Example: disaster-ops detect frame.jpg clip.mp4 --fps 1 --json"""
    from disaster_ops.detect.config import CameraDetectConfig
    from disaster_ops.detect.errors import FrameError
    from disaster_ops.detect.frames import expand_inputs, is_video, iter_video, read_image

    hazard_kinds, people_kinds = _parse_kinds(kinds)
    people_cfg = _people_config(people_config, people_kinds) if people_kinds else None
    files = expand_inputs(paths)
    if not files:
        fail(f"no image or video found in {', '.join(map(str, paths))}")
    detector = _detector(detector_type, weights, imgsz) if hazard_kinds else None
    hazard_cfg = CameraDetectConfig(kinds=hazard_kinds) if hazard_kinds and kinds is not None else None
    person_detector = _detector("person", None, person_imgsz) if people_kinds else None
    analyzers: dict[str, object] = {}
    failed = 0
    pending: list[tuple[str, int, object, float | None]] = []

    def analyzer(src: str, timed: bool):
        from disaster_ops.people.analyzer import PeopleAnalyzer

        if src not in analyzers:
            analyzers[src] = PeopleAnalyzer(src, people_cfg, fps=fps if timed else None, snapshot_dir=snapshots)
        return analyzers[src]

    def flush() -> None:
        if not pending:
            return
        images = [img for _, _, img, _ in pending]
        dets = (detector.detect_batch(images, [hazard_cfg] * len(images) if hazard_cfg else None)
                if detector else [None] * len(images))
        persons = person_detector.detect_batch(images) if person_detector else [None] * len(images)
        for (src, idx, img, t), d, p in zip(pending, dets, persons):
            obj = {"source": src, "frame": idx, "detections": d.to_json() if d is not None else []}
            if p is not None:
                pf = analyzer(src, t is not None).update(p, img, t or 0.0)
                if t is not None:
                    obj["time_s"] = round(t, 3)
                obj["detections"] += pf.persons.to_json()
                obj.update(pf.to_json())
                del obj["persons"]
            _emit(obj, as_json)
        pending.clear()

    for f in files:
        try:
            if is_video(f):
                for sf in iter_video(f, fps=fps, max_frames=max_frames):
                    pending.append((str(f), sf.frame_index, sf.image, sf.time_s))
                    if len(pending) >= BATCH:
                        flush()
            else:
                pending.append((str(f), 0, read_image(f), None))
            if len(pending) >= BATCH:
                flush()
        except FrameError as exc:
            flush()
            failed += 1
            _emit({"source": str(f), "frame": None, "error": exc.reason}, as_json)
    flush()
    if failed:
        raise typer.Exit(ExitCode.BAD_INPUT)  # some inputs could not be read


@app.command("eval")
def eval_command(
    dirs: list[Path] = typer.Argument(None, help="Labelled folders: fire/ smoke/ flood/ normal/, YOLO data.yaml, or images/ masks/."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable report."),
    detector_type: str = typer.Option("hazardnet", "--detector", help=DETECTOR_HELP),
    weights: str | None = typer.Option(None, "--weights", help="Model weights (default: shipped HazardNet)."),
    imgsz: int | None = typer.Option(None, "--imgsz", help="Square model input, px (multiple of 32)."),
    flood_share: float = typer.Option(0.05, "--flood-share", min=0.0, max=1.0, help="Mask layout: water share making an image 'flood', a fraction 0-1. Example: --flood-share 0.1"),
    dry_crops: bool = typer.Option(True, "--dry-crops/--no-dry-crops", help="Mask layout: add each image's dry window as a normal sample."),
    use_holdout: bool = typer.Option(True, "--holdout/--no-holdout", help="Use the model's training hold-out lists (add held-out normals, restrict mask sets)."),
    label_audit: bool = typer.Option(False, "--label-audit/--no-label-audit", help="Apply the shipped label audit (images whose published label is plainly wrong, each with its reason)."),
    audit_file: Path | None = typer.Option(None, "--audit-file", help="Apply this label audit file instead of the shipped one."),
    cross_source: Path | None = typer.Option(None, "--cross-source", help="Shared data root (../shared/data): figures per source group with 95 % intervals; groups the model never trained on are scored on all their images, trained groups on their test split only."),
    groups: list[str] = typer.Option([], "--group", help="With --cross-source: only these source groups (repeatable)."),
) -> None:
    """Image-level precision / recall / F1 / false-alarm rate per kind (+ box mAP50).

    Example: disaster-ops eval data/fire_test --json"""
    from disaster_ops.detect.errors import DetectError
    from disaster_ops.detect.evaluation import evaluate, load_audit, load_dataset

    detector = _detector(detector_type, weights, imgsz)
    if cross_source is not None:
        _eval_cross_source(detector, cross_source, groups, as_json)
        return
    if not dirs:
        fail("give labelled folders, or --cross-source DATA_ROOT")
    holdout = None
    if use_holdout and hasattr(detector, "meta"):
        holdout = detector.meta.raw.get("holdout")
    samples = []
    try:
        for d in dirs:
            samples += load_dataset(d, holdout=holdout, flood_share=flood_share, dry_crops=dry_crops)
    except DetectError as exc:
        fail(str(exc))
    if not samples:
        fail(f"no labelled image found in {', '.join(map(str, dirs))}")
    changes = []
    if label_audit or audit_file:
        try:
            samples, changes = (load_audit(audit_file) if audit_file else load_audit()).apply(samples)
        except DetectError as exc:
            fail(str(exc))
    report = evaluate(detector, samples)
    out = report.as_dict()
    out["datasets"] = [str(d) for d in dirs]
    out["label_audit"] = [{"file": c.file, "action": c.action, "reason": c.reason} for c in changes]
    if as_json:
        print_json(out)
        return
    typer.echo(f"{report.images} images ({', '.join(f'{k}: {v}' for k, v in report.groups.items())}); "
               f"{report.normals} normal scenes; {report.seconds:.1f} s")
    typer.echo(f"{'kind':<7}{'pos':>5}{'neg':>5}{'prec':>8}{'recall':>8}{'F1':>7}{'FA-rate':>9}{'mAP50':>8}")
    for m in report.kinds.values():
        d = m.as_dict()
        ap = "-" if d["map50"] is None else f"{d['map50']:.3f}"
        if d["positives"]:
            prf = f"{d['precision']:>8.3f}{d['recall']:>8.3f}{d['f1']:>7.3f}"
        else:  # no positive of this kind in the data: only false alarms are meaningful
            prf = f"{'-':>8}{'-':>8}{'-':>7}"
        typer.echo(f"{m.kind:<7}{d['positives']:>5}{d['negatives']:>5}{prf}{d['false_alarm_rate']:>9.3f}{ap:>8}")
    typer.echo(f"false-alarm rate on normal scenes (any kind): {report.false_alarm_rate:.3f}")
    if changes:
        typer.echo(f"label audit: {len(changes)} changes applied "
                   f"({sum(c.action == 'exclude' for c in changes)} excluded, "
                   f"{sum(c.action.startswith('relabel') for c in changes)} relabelled); --json lists them with reasons")
    if report.unreadable:
        typer.echo(f"unreadable: {len(report.unreadable)} files")


def _eval_cross_source(detector, data_root: Path, groups: list[str], as_json: bool) -> None:
    """``eval --cross-source``: per source group, never-trained groups apart from trained ones."""
    from disaster_ops.detect.errors import DetectError
    from disaster_ops.detect.evaluation.cross_source import evaluate_cross_source
    from disaster_ops.detect.evaluation.sources import SOURCE_GROUPS

    if not data_root.is_dir():
        fail(f"{data_root}: not a folder")
    unknown = [g for g in groups if g not in set(SOURCE_GROUPS.values())]
    if unknown:
        fail(f"unknown source group(s) {', '.join(unknown)}; known: {', '.join(sorted(set(SOURCE_GROUPS.values())))}")
    meta = detector.meta.raw if hasattr(detector, "meta") else {}
    trained = meta.get("trained_groups")
    if trained is None:  # an older model without the record: it saw (parts of) these sources
        trained = ["cctv", "aerial_flood", "video"]
    try:
        figs, _ = evaluate_cross_source(detector, data_root, trained, groups=groups or None)
    except DetectError as exc:
        fail(str(exc))
    if not figs:
        fail(f"no labelled image of the known sources found under {data_root}")
    if as_json:
        print_json({"data_root": str(data_root), "model": meta.get("name"), "trained_groups": list(trained),
                    "groups": [f.as_dict() for f in figs]})
        return
    typer.echo(f"model {meta.get('name', '?')}; trained on groups: {', '.join(trained)}")
    typer.echo("figures: value [95 % interval]; never-trained groups on all images, trained groups on test split only")
    for f in figs:
        tag = "in-source test split" if f.seen_in_training else "NEVER TRAINED ON"
        typer.echo(f"\n{f.group} ({tag}): {f.images} images, {f.normals} normal scenes; "
                   f"any-kind false alarms {f.any_false_alarms}/{f.normals} = {f.any_false_alarm_rate}")
        for kind, d in f.kinds.items():
            if d["positives"]:
                typer.echo(f"  {kind:<6} pos {d['positives']:>4}  P {_fmt(d['precision'])}  R {_fmt(d['recall'])}  "
                           f"F1 {_fmt(d['f1'])}  FA {_fmt(d['false_alarm_rate'])}")
            else:
                typer.echo(f"  {kind:<6} pos    0  FA on normal scenes {_fmt(d['false_alarm_rate'])}")


def _fmt(d: dict) -> str:
    return f"{d['value']:.3f} [{d['ci95'][0]:.3f}, {d['ci95'][1]:.3f}]"
