"""Choose HazardNet's per-kind thresholds on the validation split and record its calibration.

For each model (``.onnx`` with ``.json``, as written by ``train_hazardnet.py --assemble``)
the ``val`` split of the groups it was trained on is run through the real detector
(original images, ONNX Runtime). Per kind, among thresholds 0.30-0.95 whose false-alarm
rate on the val *normal scenes* is at most ``--target-fa`` (default 2 % per kind, counted in images), the one
with the best val F1 is kept. Only ``val`` images are used: neither the ``test`` split nor
a left-out group influences any threshold. The reliability table (image score bin ->
share of val images that show the kind) is written beside the thresholds.

    nice -n 10 .venv/bin/python training/calibrate_hazardnet.py --data ../shared/data build/hazard_models/*.onnx
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from disaster_ops.detect.evaluation.metrics import reliability_table
from disaster_ops.detect.evaluation.sources import KINDS, SOURCE_GROUPS, all_samples

logger = logging.getLogger("calibrate_hazardnet")
GRID = np.round(np.arange(0.3, 0.951, 0.025), 3)


def choose(scores: np.ndarray, labels: np.ndarray, target_fa: float) -> tuple[dict, list[dict]]:
    """Per kind: best val F1 among thresholds whose false alarms on val normal scenes stay
    within the target (counted in images: at most max(1, round(target x normal images)));
    where no threshold does, the one with the fewest such false alarms (then best F1)."""
    normal = (labels == 0).all(axis=1)
    allowed = max(1, round(target_fa * int(normal.sum())))
    thresholds, info = {}, []
    for k, kind in enumerate(KINDS):
        known = labels[:, k] >= 0
        pos, neg = known & (labels[:, k] == 1), known & (labels[:, k] == 0)
        cands = []
        for t in GRID:
            pred = scores[:, k] >= t
            n_fa = int(pred[normal].sum())
            tp, fp, fn = int((pred & pos).sum()), int((pred & neg).sum()), int((~pred & pos).sum())
            cands.append((float(t), 2 * tp / max(1, 2 * tp + fp + fn), tp, fp, fn, n_fa))
        ok = [c for c in cands if c[5] <= allowed]
        t, f1, tp, fp, fn, n_fa = max(ok, key=lambda c: c[1]) if ok else min(cands, key=lambda c: (c[5], -c[1]))
        thresholds[kind] = t
        info.append({"kind": kind, "threshold": t, "val_f1": round(f1, 4), "val_recall": round(tp / max(1, tp + fn), 4),
                     "val_precision": round(tp / max(1, tp + fp), 4), "val_false_alarms_normal": n_fa,
                     "val_normal_images": int(normal.sum()), "allowed_false_alarms": allowed, "target_met": bool(ok),
                     "val_positives": int(pos.sum())})
    return thresholds, info


def reliability(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, list[dict]]:
    return reliability_table(scores, labels, KINDS, bins)


def val_scores(models: list[Path], data: Path) -> dict[Path, tuple[np.ndarray, np.ndarray]]:
    """Image scores (top-3 cells per kind) of each model on the val split of its trained groups.

    The frozen backbone is shared by all models, so it runs once per image (PyTorch
    checkpoints ``.pt`` beside the ``.onnx``; the exported graphs compute the same maps).
    Images are resized exactly as the detector does.
    """
    import cv2
    import torch

    from disaster_ops.detect.evaluation.cross_source import _frames, _image
    from disaster_ops.detect.hazard_net import head_probabilities, load_hazard_net

    nets, metas = {}, {}
    for m in models:
        ckpt = torch.load(m.with_suffix(".pt"), map_location="cpu", weights_only=False)
        nets[m], metas[m] = load_hazard_net(ckpt), json.loads(m.with_suffix(".json").read_text())
    groups = set().union(*(set(meta["trained_groups"]) for meta in metas.values()))
    sources = tuple(s for s, g in SOURCE_GROUPS.items() if g in groups)
    val = [s for s in all_samples(data, sources) if s.split == "val"]
    frames = _frames(val)
    first = next(iter(nets.values()))
    size = int(next(iter(metas.values()))["input_size_px"])
    rows: dict[Path, list] = {m: [] for m in models}
    with torch.inference_mode():
        for i in range(0, len(val), 16):
            chunk = val[i : i + 16]
            batch = np.stack([cv2.resize(_image(s, frames), (size, size), interpolation=cv2.INTER_AREA) for s in chunk])
            x = torch.from_numpy(batch).float().permute(0, 3, 1, 2).flip(1) / 255.0
            p3, p4 = first.features(x)
            for m, net in nets.items():
                prob = head_probabilities(net.head(p3, p4)).numpy()
                sc = np.sort(prob.reshape(len(chunk), 3, -1), axis=2)[:, :, -3:].mean(axis=2)
                for s, row in zip(chunk, sc):
                    if s.group in metas[m]["trained_groups"]:
                        rows[m].append((row, s.labels))
            if i % 160 == 0:
                logger.info("val %d/%d", i, len(val))
    return {m: (np.array([r[0] for r in rows[m]]), np.array([r[1] for r in rows[m]])) for m in models}


def calibrate(model: Path, scores: np.ndarray, labels: np.ndarray, target_fa: float, holdout: dict) -> None:
    meta_path = model.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["holdout"] = holdout  # the test split in the format ``disaster-ops eval DIR`` reads
    thresholds, info = choose(scores, labels, target_fa)
    meta["thresholds"] = thresholds
    meta["threshold_selection"] = {"rule": f"per kind: best val F1 among thresholds 0.30-0.95 with at most "
                                           f"max(1, round({target_fa:.0%} x n)) false alarms on the n val normal "
                                           "scenes; if none, the fewest false alarms",
                                   "val_images": len(labels), "per_kind": info}
    meta["reliability_val"] = reliability(scores, labels)
    normal = (labels == 0).all(axis=1)
    pred_any = (scores >= np.array([thresholds[k] for k in KINDS])).any(axis=1)
    meta["val_any_kind_false_alarm_rate"] = round(float(pred_any[normal].mean()), 4) if normal.any() else None
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    pt = model.with_suffix(".pt")
    if pt.exists():
        import torch

        ckpt = torch.load(pt, map_location="cpu", weights_only=False)
        ckpt["meta"] = meta
        torch.save(ckpt, pt)
    logger.info("%s: thresholds %s; val any-kind false alarms %s; %s", model.name, thresholds,
                meta["val_any_kind_false_alarm_rate"], info)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", type=Path, nargs="+")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--target-fa", type=float, default=0.02)
    ap.add_argument("--from-cache", action="store_true", help="reuse build/calibration_val_scores.npz")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch_threads = 2
    import torch

    torch.set_num_threads(torch_threads)
    cache = Path("build/calibration_val_scores.npz")
    if args.from_cache and cache.exists():
        raw = np.load(cache)
        got = {m: (raw[m.stem + ":scores"], raw[m.stem + ":labels"]) for m in args.models}
    else:
        got = val_scores(args.models, args.data)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **{f"{m.stem}:{n}": a for m, (sc, lb) in got.items() for n, a in (("scores", sc), ("labels", lb))})
    from disaster_ops.detect.evaluation.sources import legacy_holdout

    holdout = legacy_holdout(args.data)
    for m, (scores, labels) in got.items():
        calibrate(m, scores, labels, args.target_fa, holdout)


if __name__ == "__main__":
    main()
