"""Cross-source figures of HazardNet: leave-one-group-out models + the shipped model.

* Each ``hazardnet_s320_wo_<group>`` model (``training/train_hazardnet.py --runs all``,
  same recipe and seed as the shipped one, thresholds chosen on its own val split) is
  scored on *every* image of the group it never saw; pooling these gives, for each image
  of the shared data, the verdict of a model that never saw its source.
* The shipped model is scored on the ``test`` split of every group (in-source, never
  trained on) and on the evaluation-only ``people`` scenes (never trained on, never used
  for any choice).

Run once per shipped model (the figures are recorded in docs/BENCHMARKS.md)::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/cross_source.py --data ../shared/data \
        --folds build/hazard_models --out docs/benchmarks/cross_source.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from disaster_ops.detect.backends.hazardnet import DEFAULT_WEIGHTS, HazardNetDetector
from disaster_ops.detect.config import DetectorConfig
from disaster_ops.detect.evaluation.cross_source import Outcome, evaluate_cross_source, figures
from disaster_ops.detect.evaluation.sources import KINDS, SOURCE_GROUPS, SourceSample


def _row(f) -> str:
    cells = []
    for k in KINDS:
        d = f.kinds[k]
        cells.append(f"{d['f1']['value']:.3f} [{d['f1']['ci95'][0]:.3f}-{d['f1']['ci95'][1]:.3f}] (n={d['positives']})"
                     if d["positives"] else "-")
    fa = f.any_false_alarm_rate
    return (f"| {f.group} | {f.images} | " + " | ".join(cells)
            + f" | {f.any_false_alarms}/{f.normals} = {fa.value:.3f} [{fa.low:.3f}-{fa.high:.3f}] |")


def _load_outcomes(paths: list[Path]) -> tuple[list[Outcome], list[Outcome]]:
    """(fold outcomes, shipped outcomes) saved by earlier runs (``--out``)."""
    source_of = {g: s for s, g in reversed(list(SOURCE_GROUPS.items()))}
    folds, shipped = [], []
    for p in paths:
        for o in json.loads(p.read_text())["outcomes"]:
            smp = SourceSample(source_of[o["group"]], o["key"], Path(o["key"]), tuple(o["labels"]), "")
            (folds if o["by"] == "fold" else shipped).append(Outcome(smp, frozenset(o["found"]), tuple(o["scores"])))
    return folds, shipped


def report(pooled: list[Outcome], s_out: list[Outcome], shipped_trained: list[str], out: Path | None, extra: dict) -> None:
    by_group: dict[str, list[Outcome]] = {}
    for o in pooled:
        by_group.setdefault(o.sample.group, []).append(o)
    per_fold = [figures(g, os_, False) for g, os_ in sorted(by_group.items())]
    s_by: dict[str, list[Outcome]] = {}
    for o in s_out:
        s_by.setdefault(o.sample.group, []).append(o)
    s_figs = [figures(g, os_, g in shipped_trained) for g, os_ in sorted(s_by.items())]
    people = [o for o in s_out if o.sample.group == "people"]
    fs_fig = figures("LOGO fire/smoke sources (cctv, web, street, video)",
                     [o for o in pooled if o.sample.group in ("cctv", "web", "street", "video")], False)
    fl_fig = figures("LOGO flood sources (flood_street, aerial_flood)",
                     [o for o in pooled if o.sample.group in ("flood_street", "aerial_flood")], False)
    logo_all = figures("LOGO pooled (each image by a model that never saw its source)", pooled, False)
    logo_people = figures("LOGO pooled + people scenes (shipped model, never trained on)", pooled + people, False)
    normal_unseen = [o for o in pooled + people if o.sample.is_normal]
    print("\n| group | images | F1 fire | F1 smoke | F1 flood | any-kind false alarms on normal scenes |")
    print("|---|---|---|---|---|---|")
    for f in [*per_fold, fs_fig, fl_fig, logo_all, logo_people]:
        print(_row(f))
    if s_figs:
        print("\nshipped model:")
        for f in s_figs:
            print(_row(f) + (" (in-source test split)" if f.seen_in_training else " (never trained on)"))
    if out:
        out.write_text(json.dumps({
            **extra,
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "leave_one_group_out": [f.as_dict() for f in per_fold],
            "pooled": [f.as_dict() for f in (fs_fig, fl_fig, logo_all, logo_people)],
            "shipped": [f.as_dict() for f in s_figs],
            "false_alarm_images_never_trained": sorted(o.sample.key + " -> " + ",".join(sorted(o.found))
                                                       for o in normal_unseen if o.found),
            "missed_never_trained": sorted(o.sample.key + " missed " + ",".join(sorted(o.sample.kinds - o.found))
                                           for o in pooled if o.sample.kinds - o.found),
        }, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--folds", type=Path, required=True, help="folder with hazardnet_s320_wo_<group>.onnx/.json")
    ap.add_argument("--shipped", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--max-per-group", type=int, default=700, help="thin larger groups to about this many images")
    ap.add_argument("--only", nargs="*", help="only these left-out groups (run folds in parallel processes)")
    ap.add_argument("--no-shipped", action="store_true")
    ap.add_argument("--merge", type=Path, nargs="*", help="only pool the outcomes saved by earlier runs")
    args = ap.parse_args()
    if args.merge:
        folds, shipped_out = _load_outcomes(args.merge)
        trained = json.loads(args.shipped.with_suffix(".json").read_text())["trained_groups"]
        report(folds, shipped_out, trained, args.out, {"merged_from": [str(p) for p in args.merge]})
        return
    t0 = time.monotonic()
    pooled = []
    for onnx in sorted(args.folds.glob("hazardnet_s320_wo_*.onnx")):
        det = HazardNetDetector(DetectorConfig(weights=str(onnx)))
        meta = det.meta.raw
        group = meta["left_out_group"]
        if args.only and group not in args.only:
            continue
        figs, outcomes = evaluate_cross_source(det, args.data, meta["trained_groups"], groups=[group],
                                               max_per_group=args.max_per_group)
        pooled += [o for o in outcomes if o.sample.group == group]
        print(f"{onnx.name}: {_row(next(f for f in figs if f.group == group))}", flush=True)
    s_out, trained = [], []
    if not args.no_shipped:
        shipped = HazardNetDetector(DetectorConfig(weights=str(args.shipped)))
        trained = shipped.meta.raw["trained_groups"]
        _, s_out = evaluate_cross_source(shipped, args.data, trained)
    report(pooled, s_out, trained, args.out, {"max_per_group": args.max_per_group, "outcomes": [
        {"key": o.sample.key, "group": o.sample.group, "labels": list(o.sample.labels), "found": sorted(o.found),
         "scores": [round(x, 4) for x in o.scores], "by": by}
        for by, os_ in (("fold", pooled), ("shipped", s_out)) for o in os_]})
    print(f"{time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
