"""The shared training/evaluation data, grouped by *source*, with one deterministic split.

Why: a detector scored on images from the cameras (and the photographers) it was
trained on says little about a new camera. Every image of ``../shared/data`` belongs
to one *source group*; the training script leaves one group out at a time
(leave-one-group-out) and ``disaster-ops eval --cross-source`` reports each group
separately, marking whether the model was trained on it. Within a source the split is
fixed by CRC32 of the file key (``train`` / ``val`` / ``test``): ``val`` is the only data
that model or threshold choices ever look at, ``test`` is never trained on nor used to
choose anything. Video clips are split in time: the first half of each clip is ``test``.

Labels per kind: 1 present, 0 absent, -1 unknown (e.g. smoke is visible but never boxed
in the fire videos; a kind with an unknown label is left out of that kind's figures).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect.errors import DatasetError
from disaster_ops.detect.frames import IMAGE_SUFFIXES

KINDS = ("fire", "smoke", "flood")
FLOOD_IMAGE_SHARE = 0.05  # an aerial photo is "flood" when >= 5 % of its mask is water

# source -> leave-one-group-out group
SOURCE_GROUPS: dict[str, str] = {
    "fire_smoke_cctv": "cctv",
    "fire_smoke_web": "web",
    "fire_smoke_street": "street",
    "flood_street": "flood_street",
    "flood_aerial": "aerial_flood",
    "negatives_webcam": "webcam",
    "negatives_aerial": "aerial_normal",
    "videos": "video",
    "people_scenes": "people",  # evaluation only: never trained on, never used for any choice
}
TRAINABLE_GROUPS = tuple(g for g in dict.fromkeys(SOURCE_GROUPS.values()) if g != "people")
EVAL_ONLY_GROUPS = ("people",)

# training labels corrected by eye (reason kept with the model)
TRAIN_LABEL_FIXES = {
    "img_1047_jpg.rf.311ed0012e100b02be8c19ad8410bf4f.jpg": (
        "labelled full-frame smoke, but shows the same smoke-free street as its neighbouring "
        "frames img_1046/img_1052 of the same clip, which are labelled normal"
    ),
}

VIDEO_TRAIN_FPS = 2.0  # frames per second taken from the trained (second) half of a clip
VIDEO_TEST_FPS = 1.0
PEOPLE_FRAMES_PER_CLIP = 4


@dataclass(frozen=True)
class SourceSample:
    """One labelled image, crop or video frame of the shared data."""

    source: str
    key: str  # stable id relative to the data root, e.g. "fire_smoke_web/images/train/x.jpg#"
    path: Path
    labels: tuple[int, int, int]  # fire, smoke, flood: 1 / 0 / -1 unknown
    split: str  # "train" | "val" | "test"
    boxes: tuple[tuple[int, float, float, float, float], ...] | None = None  # kind index, cx, cy, w, h (normalised)
    mask_path: Path | None = None
    crop_xyxy: tuple[int, int, int, int] | None = None
    frame_index: int | None = None  # a frame of the video at ``path``
    note: str = ""

    @property
    def group(self) -> str:
        return SOURCE_GROUPS[self.source]

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(k for k, v in zip(KINDS, self.labels) if v == 1)

    @property
    def unknown(self) -> frozenset[str]:
        return frozenset(k for k, v in zip(KINDS, self.labels) if v < 0)

    @property
    def is_normal(self) -> bool:
        return all(v == 0 for v in self.labels)


def bucket(key: str, mod: int) -> int:
    return zlib.crc32(key.encode()) % mod


def image_split(key: str) -> str:
    """10 % test, 10 % val, 80 % train, by CRC32 of the key (stable across machines)."""
    b = bucket(key, 20)
    return "test" if b < 2 else "val" if b < 4 else "train"


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _yolo(root: Path, source: str, folders: list[tuple[Path, Path, str | None]], class_kind: dict[int, int | None]):
    """YOLO folders; ``class_kind`` maps a class id to a kind index (None: ignored, -2: normal marker)."""
    for img_dir, lab_dir, forced_split in folders:
        for img in _images(img_dir):
            key = str(img.relative_to(root))
            lab = lab_dir / (img.stem + ".txt")
            boxes = []
            for line in lab.read_text().splitlines() if lab.exists() else []:
                parts = line.split()
                if len(parts) != 5:
                    continue
                kind = class_kind.get(int(float(parts[0])))
                if kind is None or kind < 0:
                    continue
                boxes.append((kind, *map(float, parts[1:])))
            split = forced_split or image_split(key)
            if source == "fire_smoke_cctv" and img.name in TRAIN_LABEL_FIXES and split != "test":
                boxes = []
            present = {b[0] for b in boxes}
            labels = tuple(1 if k in present else 0 for k in range(2)) + (0,)
            yield SourceSample(source, key, img, labels, split, tuple(boxes))


def _video_frames(path: Path, source: str, root: Path, labels: tuple[int, int, int], boxes_by_frame=None):
    """Frames of a clip: the first half is test (1 frame/s), the second half train (2 frames/s)."""
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    cap.release()
    if n <= 0:
        return
    half = n // 2
    key0 = str(path.relative_to(root))
    for split, lo, hi, rate in (("test", 0, half, VIDEO_TEST_FPS), ("train", half, n, VIDEO_TRAIN_FPS)):
        step = max(1, round(fps / rate))
        for i in range(lo, hi, step):
            boxes = None
            if boxes_by_frame is not None:
                if i not in boxes_by_frame:
                    continue
                boxes = boxes_by_frame[i]
            yield SourceSample(source, f"{key0}#{i:05d}", path, labels, split, boxes, frame_index=i)


def furg_boxes(video: Path) -> dict[int, tuple]:
    """Per-frame flame boxes of a FURG video (``.xml`` beside it, x y w h px) as normalised YOLO boxes."""
    import xml.etree.ElementTree as ET

    cap = cv2.VideoCapture(str(video))
    w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    cap.release()
    out = {}
    for fr in ET.parse(video.with_suffix(".xml")).getroot().find("frames"):
        ann = fr.find("annotations")
        bx = [tuple(map(int, b.text.split())) for b in ann] if ann is not None else []
        out[int(fr.find("frameNumber").text)] = tuple(
            (0, (x + bw / 2) / w, (y + bh / 2) / h, bw / w, bh / h) for x, y, bw, bh in bx
        )
    return out


def water_share(mask_path: Path) -> float:
    m = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    if m is None:
        raise DatasetError(f"{mask_path}: unreadable mask")
    return float((m > 127).mean())


def iter_source(root: Path, source: str) -> Iterator[SourceSample]:
    """All samples of one source under the shared data root (nothing if the folder is absent)."""
    root = Path(root)
    if source == "fire_smoke_cctv":
        d = root / source
        yield from _yolo(root, source, [(d / "train/images", d / "train/labels", None),
                                        (d / "valid/images", d / "valid/labels", "test")], {0: 0, 1: -2, 2: 1})
    elif source in ("fire_smoke_web", "fire_smoke_street"):
        d = root / source
        yield from _yolo(root, source, [(d / "images/train", d / "labels/train", None),
                                        (d / "images/val", d / "labels/val", "test")], {0: 0, 1: 1, 2: None})
    elif source == "flood_street":
        for img in _images(root / source / "images/flood"):
            key = str(img.relative_to(root))
            yield SourceSample(source, key, img, (0, 0, 1), image_split(key))
    elif source == "flood_aerial":
        from disaster_ops.detect.evaluation.datasets import dry_window

        for img in _images(root / source / "images"):
            mask = root / source / "masks" / (img.stem + ".png")
            if not mask.exists():
                continue
            key = str(img.relative_to(root))
            split = image_split(key)
            flood = int(water_share(mask) >= FLOOD_IMAGE_SHARE)
            yield SourceSample(source, key, img, (0, 0, flood), split, mask_path=mask)
            probe = cv2.imread(str(img), cv2.IMREAD_UNCHANGED)
            win = dry_window(mask, image_wh=(probe.shape[1], probe.shape[0])) if probe is not None else None
            if win is not None:  # the largest nearly dry window: a same-domain normal aerial scene
                yield SourceSample(source, key + "#dry", img, (0, 0, 0), split, crop_xyxy=win, note="dry crop")
    elif source == "negatives_webcam":
        for sub in ("day", "night"):
            for img in _images(root / source / sub):
                key = str(img.relative_to(root))
                yield SourceSample(source, key, img, (0, 0, 0), image_split(key), note=sub)
    elif source == "negatives_aerial":
        for img in _images(root / source / "images"):
            key = str(img.relative_to(root))
            yield SourceSample(source, key, img, (0, 0, 0), image_split(key))
    elif source == "videos":
        v = root / "videos"
        if (v / "house6.mp4").exists() and (v / "house6.xml").exists():
            yield from _video_frames(v / "house6.mp4", source, root, (1, -1, 0), furg_boxes(v / "house6.mp4"))
        for clip in sorted((v / "fire_fixed").glob("*.mp4")):
            yield from _video_frames(clip, source, root, (1, -1, 0))
        for clip in sorted((v / "normal_fixed").glob("*.mp4")):
            yield from _video_frames(clip, source, root, (0, 0, 0))
    elif source == "people_scenes":
        # ordinary scenes with people and no hazard, from the shared people/ sets: evaluation only
        p = root / "people"
        for img in _images(p / "crowd_shanghaitech_b_subset/train") + _images(p / "crowd_shanghaitech_b_subset/test"):
            yield SourceSample(source, str(img.relative_to(root)), img, (0, 0, 0), "test", note="street crowd")
        clips = [(c, "indoor room") for c in sorted((p / "fall_urfall").glob("*.mp4"))[::3]]
        clips += [(c, "outdoor fixed camera") for c in sorted((p / "pets2009_s2l1").glob("*.mp4"))]
        clips += [(c, "drone") for c in sorted((p / "drone_pdestre").glob("*.mp4"))]
        for clip, note in clips:
            cap = cv2.VideoCapture(str(clip))
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            cap.release()
            per = PEOPLE_FRAMES_PER_CLIP * (10 if note == "outdoor fixed camera" else 1)
            for i in np.linspace(0, max(0, n - 1), per).astype(int):
                yield SourceSample(source, f"{clip.relative_to(root)}#{i:05d}", clip, (0, 0, 0), "test",
                                   frame_index=int(i), note=note)
    else:
        raise DatasetError(f"unknown source {source!r}; known: {', '.join(SOURCE_GROUPS)}")


def all_samples(root: Path, sources: tuple[str, ...] | None = None) -> list[SourceSample]:
    out: list[SourceSample] = []
    for s in sources or tuple(SOURCE_GROUPS):
        out += list(iter_source(root, s))
    return out


def read_sample(s: SourceSample) -> np.ndarray:
    """BGR image of a sample (video frame or crop applied)."""
    from disaster_ops.detect.frames import read_image

    if s.frame_index is not None:
        cap = cv2.VideoCapture(str(s.path))
        cap.set(cv2.CAP_PROP_POS_FRAMES, s.frame_index)
        ok, img = cap.read()
        cap.release()
        if not ok:
            raise DatasetError(f"{s.path}: cannot read frame {s.frame_index}")
    else:
        img = read_image(s.path)
    if s.crop_xyxy is not None:
        x1, y1, x2, y2 = s.crop_xyxy
        img = np.ascontiguousarray(img[y1:y2, x1:x2])
    return img


def legacy_holdout(root: Path) -> dict[str, list[str]]:
    """The ``test`` split in the ``holdout`` format of ``load_dataset`` (``disaster-ops eval DIR``):
    file names of ``fire_smoke_cctv/train/images`` and ``flood_aerial/images`` never trained on."""
    out: dict[str, list[str]] = {"fire_smoke_cctv/train/images": [], "flood_aerial/images": []}
    for s in all_samples(root, ("fire_smoke_cctv", "flood_aerial")):
        if s.split != "test" or s.crop_xyxy is not None:
            continue
        folder = str(Path(s.key).parent)
        if folder in out:
            out[folder].append(s.path.name)
    return out
