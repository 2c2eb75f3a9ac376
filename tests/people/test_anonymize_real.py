"""Face/head blurring on real footage (read in place from ../shared/data/people/, never
copied): every ground-truth PETS 2009 head is blurred, the rest of the picture is left
alone, fallen people on UR Fall are blurred too, and the blur cannot be undone."""

from __future__ import annotations

import csv
from collections import defaultdict

import cv2
import numpy as np
import pytest

from disaster_ops.people.anonymize import BlurSettings, FaceFinder, blur_regions, head_boxes
from tests.conftest import shared_path

PETS_FRAMES = range(0, 795, 80)  # 10 frames spread over the clip
HEAD_CHANGED = 4.0  # mean |Δ| grey levels over a head region that counts as "blurred"


def frames_of(video, wanted: set[int]) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    out, i = {}, 0
    try:
        while len(out) < len(wanted):
            ok, f = cap.read()
            if not ok:
                break
            if i in wanted:
                out[i] = f
            i += 1
    finally:
        cap.release()
    return out


def gt_heads(box) -> tuple[int, int, int, int]:
    """The head of a ground-truth person box: its top fifth, middle 60 % of its width."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return int(x1 + 0.2 * w), int(y1), int(x2 - 0.2 * w), int(y1 + 0.2 * h)


@pytest.fixture(scope="module")
def anonymizer():
    from disaster_ops.services.evidence import anonymizer as shared

    return shared()  # the process's one person model (shared with the served-path tests)


def test_every_pets_head_is_blurred_and_the_rest_left_alone(anonymizer):
    pets = shared_path("people", "pets2009_s2l1")
    gt: dict[int, list] = defaultdict(list)
    with (pets / "gt_boxes.csv").open() as fh:
        for r in csv.DictReader(fh):
            gt[int(r["frame"])].append([float(r[k]) for k in ("x1", "y1", "x2", "y2")])
    frames = frames_of(pets / "s2l1_view001.mp4", set(PETS_FRAMES))
    assert len(frames) == len(PETS_FRAMES)
    heads = blurred = 0
    changed_share = []
    for i, img in frames.items():
        out, report = anonymizer.anonymize(img)
        assert out.shape == img.shape and report.heads >= 1
        for box in gt[i]:
            x1, y1, x2, y2 = gt_heads(box)
            x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, img.shape[1]), min(y2, img.shape[0])
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            d = np.abs(img[y1:y2, x1:x2].astype(np.int16) - out[y1:y2, x1:x2].astype(np.int16)).mean()
            heads += 1
            blurred += d >= HEAD_CHANGED
        changed_share.append(float((np.abs(img.astype(np.int16) - out.astype(np.int16)).max(axis=2) > 0).mean()))
    assert heads >= 40
    # measured 2026-11-29: 112 of 116 heads on every 40th frame (96.6 %); misses are people
    # the detector does not find (occluded pairs)
    assert blurred / heads >= 0.9, f"{blurred}/{heads} ground-truth heads blurred"
    assert max(changed_share) < 0.1, "blurring touched more than heads"


def test_fallen_people_on_ur_fall_are_blurred(anonymizer):
    clip = shared_path("people", "fall_urfall", "fall-01-cam0.mp4")
    frames = frames_of(clip, {10, 60, 120})
    touched = 0
    for img in frames.values():
        out, report = anonymizer.anonymize(img)
        if report.heads:
            touched += 1
            assert (np.abs(img.astype(np.int16) - out.astype(np.int16)) > 8).any()
    assert touched >= 2


def test_head_regions_and_irreversible_blur():
    # upright person: the top fifth (plus margin); lying person: both ends of the box
    hb = head_boxes(np.array([[100, 100, 140, 300], [200, 250, 400, 300]]), (480, 640))
    assert len(hb) == 4
    x1, y1, x2, y2 = hb[0]
    assert y1 <= 100 and 140 <= y2 <= 160 and x1 < 100 and x2 > 140
    assert {tuple(b) for b in hb[2:]} and all(b[1] <= 250 and b[3] >= 300 for b in hb[2:])
    # blur: a detailed patch loses its detail (at most one colour per 8x8 block before the
    # Gaussian), the pixels outside stay the same
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    out = blur_regions(img, np.array([[40, 40, 104, 104]]), BlurSettings(block_px=16))
    assert np.array_equal(out[:40], img[:40]) and np.array_equal(out[:, 104:], img[:, 104:])
    patch = out[40:104, 40:104].astype(float)
    assert patch.std() < img[40:104, 40:104].astype(float).std() / 4
    assert np.corrcoef(patch.ravel(), img[40:104, 40:104].astype(float).ravel())[0, 1] < 0.3


def test_face_finder_says_what_it_has():
    f = FaceFinder()
    assert f.name in ("haar", "none") and f.available == (f.name == "haar")
    if not hasattr(cv2, "CascadeClassifier"):
        assert f.name == "none"  # OpenCV 5 has no Haar cascades: heads from person boxes only
    assert f.find(np.zeros((50, 50, 3), np.uint8)).shape[1] == 4

