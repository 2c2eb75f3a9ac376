"""Evaluation folder layouts.

Supported:
  * class folders: ``fire/ smoke/ flood/ normal/`` with images inside;
  * YOLO: ``data.yaml`` (class ``names``) with ``images/ labels/`` directly or in a
    ``valid/``, ``val/`` or ``test/`` split. Class names map to kinds: ``fire``,
    ``smoke``, ``flood``/``water``; ``default``/``normal``/``none`` mark a normal scene.
    Extra held-out normal scenes can be named from other splits (the shipped model's
    ``holdout`` list of training-split frames it never saw);
  * masks: ``images/ masks/`` (white = water). An image is ``flood`` when the water
    share is at least ``flood_share``. Optionally each image also yields its largest
    dry window (water share <= 1 %) as a same-domain *normal* aerial sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect.errors import DatasetError
from disaster_ops.detect.frames import IMAGE_SUFFIXES

CLASS_FOLDERS = ("fire", "smoke", "flood", "normal")
NORMAL_NAMES = frozenset({"default", "normal", "none", "background"})
KIND_NAMES = {"fire": "fire", "flame": "fire", "smoke": "smoke", "flood": "flood", "water": "flood"}
DRY_MAX_SHARE = 0.01


@dataclass(frozen=True)
class EvalSample:
    """One labelled image (or a crop of one).

    ``boxes`` are ``(kind, x1, y1, x2, y2)`` normalised to the (cropped) image, or None
    when the layout has no boxes. ``crop_xyxy`` is a pixel window of the file.
    """

    path: Path
    kinds: frozenset[str]
    boxes: tuple[tuple[str, float, float, float, float], ...] | None = None
    crop_xyxy: tuple[int, int, int, int] | None = None
    group: str = ""

    @property
    def is_normal(self) -> bool:
        return not self.kinds


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_class_folders(root: Path) -> list[EvalSample]:
    out = []
    for name in CLASS_FOLDERS:
        d = root / name
        if d.is_dir():
            kinds = frozenset() if name == "normal" else frozenset({name})
            out += [EvalSample(p, kinds, group=name) for p in _images(d)]
    return out


def _yaml_names(data_yaml: Path) -> list[str]:
    import yaml

    try:
        data = yaml.safe_load(data_yaml.read_text())
        names = data["names"]
    except Exception as exc:
        raise DatasetError(f"{data_yaml}: cannot read class names ({exc})") from exc
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    return [str(n) for n in names]


def _yolo_split(images: Path, labels: Path, names: list[str], *, only: set[str] | None, group: str) -> list[EvalSample]:
    out = []
    for img in _images(images):
        if only is not None and img.name not in only:
            continue
        lab = labels / (img.stem + ".txt")
        kinds: set[str] = set()
        boxes = []
        for line in lab.read_text().splitlines() if lab.exists() else []:
            parts = line.split()
            if len(parts) != 5:
                continue  # polygon or malformed rows are ignored for box metrics
            cls = int(float(parts[0]))
            if cls >= len(names):
                raise DatasetError(f"{lab}: class {cls} not in data.yaml names")
            name = names[cls].lower()
            if name in NORMAL_NAMES:
                continue
            kind = KIND_NAMES.get(name)
            if kind is None:
                continue
            cx, cy, w, h = map(float, parts[1:])
            kinds.add(kind)
            boxes.append((kind, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        out.append(EvalSample(img, frozenset(kinds), tuple(boxes), group=group))
    return out


def load_yolo(root: Path, *, holdout: dict[str, list[str]] | None = None) -> list[EvalSample]:
    names = _yaml_names(root / "data.yaml")
    if (root / "images").is_dir() and (root / "labels").is_dir():
        samples = _yolo_split(root / "images", root / "labels", names, only=None, group="images")
    else:
        split = next((s for s in ("valid", "val", "test") if (root / s / "images").is_dir()), None)
        if split is None:
            raise DatasetError(f"{root}: data.yaml found but no images/ labels/ nor valid|val|test split")
        samples = _yolo_split(root / split / "images", root / split / "labels", names, only=None, group=split)
    for rel, files in (holdout or {}).items():
        # e.g. "fire_smoke_cctv/train/images": only the part inside this dataset matters
        sub = Path(*Path(rel).parts[1:]) if len(Path(rel).parts) > 1 else Path(rel)
        img_dir = root / sub
        if img_dir.is_dir() and img_dir.name == "images" and files:
            lab_dir = img_dir.parent / "labels"
            samples += _yolo_split(img_dir, lab_dir, names, only=set(files), group=f"{img_dir.parent.name} held-out")
    return samples


def water_share(mask_path: Path) -> float:
    m = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    if m is None:
        raise DatasetError(f"{mask_path}: unreadable mask")
    return float((m > 127).mean())


def dry_window(
    mask_path: Path, *, image_wh: tuple[int, int] | None = None, min_side_frac: float = 0.35
) -> tuple[int, int, int, int] | None:
    """Largest square window (>= ``min_side_frac`` of the short side) that is nearly dry.

    Pixel coordinates of the image; pass ``image_wh`` when the mask may have another
    resolution than its image (a few masks of the flood set do).
    """
    m = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    if m is None:
        return None
    if image_wh is not None and (m.shape[1], m.shape[0]) != tuple(image_wh):
        m = cv2.resize(m, tuple(image_wh), interpolation=cv2.INTER_NEAREST)
    water = (m > 127).astype(np.float64)
    h, w = water.shape
    integral = cv2.integral(water)
    for frac in (0.6, 0.5, 0.42, min_side_frac):
        side = int(min(h, w) * frac)
        if side < 64:
            return None
        step = max(8, side // 6)
        best = None
        for y in range(0, h - side + 1, step):
            for x in range(0, w - side + 1, step):
                s = integral[y + side, x + side] - integral[y, x + side] - integral[y + side, x] + integral[y, x]
                share = s / (side * side)
                if share <= DRY_MAX_SHARE and (best is None or share < best[0]):
                    best = (share, (x, y, x + side, y + side))
        if best:
            return best[1]
    return None


def load_masks(
    root: Path, *, flood_share: float, only: set[str] | None = None, dry_crops: bool = True
) -> list[EvalSample]:
    out = []
    for img in _images(root / "images"):
        if only is not None and img.name not in only:
            continue
        mask = root / "masks" / (img.stem + ".png")
        if not mask.exists():
            continue
        kinds = frozenset({"flood"}) if water_share(mask) >= flood_share else frozenset()
        out.append(EvalSample(img, kinds, group="aerial"))
        if dry_crops:
            probe = cv2.imread(str(img), cv2.IMREAD_UNCHANGED)
            full_wh = (probe.shape[1], probe.shape[0]) if probe is not None else None
            win = dry_window(mask, image_wh=full_wh)
            if win is not None:
                out.append(EvalSample(img, frozenset(), crop_xyxy=win, group="aerial dry crop"))
    return out


def load_dataset(
    root: Path,
    *,
    holdout: dict[str, list[str]] | None = None,
    flood_share: float = 0.05,
    dry_crops: bool = True,
) -> list[EvalSample]:
    """Samples of one evaluation folder, whichever supported layout it has."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    if (root / "data.yaml").is_file():
        return load_yolo(root, holdout=holdout)
    if (root / "images").is_dir() and (root / "masks").is_dir():
        only = None
        for rel, files in (holdout or {}).items():
            if Path(rel).parts and Path(rel).parts[0] == root.name and files:
                only = set(files)
        return load_masks(root, flood_share=flood_share, only=only, dry_crops=dry_crops)
    if any((root / c).is_dir() for c in CLASS_FOLDERS):
        return load_class_folders(root)
    raise DatasetError(
        f"{root}: unknown layout; expected fire/ smoke/ flood/ normal/, data.yaml + images/ labels/, or images/ masks/"
    )
