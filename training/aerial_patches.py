"""Cut the fire patches that the synthetic aerial camera plants on its ground image.

Source: ``../shared/data/fire_smoke_cctv`` (Roboflow "fire-wrpgm" v8, CC BY 4.0; see
docs/MODELS.md for the attribution). Each patch is the labelled flame box of one real
frame, scaled so its longer side is 128 px, written to ``sample_data/aerial/``.

    python training/aerial_patches.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
# Flame boxes (in the order listed below) that fill their box with a centred flame: chosen
# by rendering each one from 80 m (nadir and 45° oblique) and keeping those whose
# detected box centre stays within ~2 m of the planted point (all CC BY 4.0).
PICKS = (0, 4, 34, 40, 42, 46)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args()
    root = args.shared / "fire_smoke_cctv" / "train"
    out = REPO / "sample_data" / "aerial"
    out.mkdir(parents=True, exist_ok=True)
    boxes = []
    for lab in sorted((root / "labels").glob("*.txt")):
        for line in lab.read_text().splitlines():
            p = line.split()
            if len(p) == 5 and p[0] == "0":
                x, y, w, h = map(float, p[1:])
                if 0.15 < w < 0.6 and 0.15 < h < 0.6:
                    boxes.append((lab.stem, x, y, w, h))
    for i, (stem, x, y, w, h) in enumerate(boxes[k] for k in PICKS):
        img = cv2.imread(str(root / "images" / f"{stem}.jpg"))
        hh, ww = img.shape[:2]
        x1, y1 = max(0, int((x - w / 2) * ww)), max(0, int((y - h / 2) * hh))
        x2, y2 = min(ww, int((x + w / 2) * ww)), min(hh, int((y + h / 2) * hh))
        crop = img[y1:y2, x1:x2]
        s = 128 / max(crop.shape[:2])
        cv2.imwrite(str(out / f"fire_{i}.png"), cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))
        print(f"fire_{i}.png <- {stem}.jpg")


if __name__ == "__main__":
    main()
