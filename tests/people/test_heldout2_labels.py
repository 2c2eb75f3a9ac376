"""The second held-out identity set for missing-person search is labels only and consistent.

tests/fixtures/people/urfall_pooled_identities.json groups the product's own tracked person
boxes (UR Fall clips, an indoor walk-past clip, a backyard clip and crowd photos, read in place
from ../shared) into identities by hand, with witness descriptions written before any
appearance feature was computed on that footage (tests/fixtures/people/README.md). These
checks load the file only: no model runs, no appearance feature, no search score, so they
say nothing about how well search does on the set (that figure is measured once, after the
scoring is frozen, by the person-search benchmark).
"""

from __future__ import annotations

import json
import re

import pytest

from disaster_ops.people.appearance import COLOUR_NAMES
from tests.conftest import REPO, shared_path

LABELS = REPO / "tests" / "fixtures" / "people" / "urfall_pooled_identities.json"
KEY = re.compile(r"c(\d+)t(\d+)$")
MIN_SEPARATION_S = 10.0


@pytest.fixture(scope="module")
def labels() -> dict:
    return json.loads(LABELS.read_text(encoding="utf-8"))


def _views(rows: list, person: str, cameras: dict) -> set:
    """Where ``person`` is seen: a camera, or (camera, 10-s slot) inside one long camera."""
    out = set()
    for cam, frame, *_rest, who in rows:
        if who == person:
            out.add((cam, int(frame / cameras[str(cam)]["fps"] // MIN_SEPARATION_S)))
    return out


def test_labels_are_numbers_and_words_only(labels):
    assert LABELS.stat().st_size < 60_000  # no pixels, no image
    assert set(labels) >= {"clips", "labelled_on", "labelled_by", "how", "person_values", "dropped",
                           "people", "columns", "sightings", "cameras"}
    assert labels["columns"] == ["camera", "frame", "track", "x1", "y1", "x2", "y2", "person"]
    for row in labels["sightings"]:
        assert len(row) == 8 and all(isinstance(v, int) for v in row[:7]) and isinstance(row[7], str), row


def test_every_sighting_is_a_tracked_box_inside_its_camera(labels):
    cams = labels["cameras"]
    seen = set()
    for row in labels["sightings"]:
        cam, frame, track, x1, y1, x2, y2, _who = row
        c = cams[str(cam)]
        assert 0 <= frame < c["frames"] and frame % c["sighting_every_frames"] == 0, row
        assert track >= 1, row  # the product stores tracked boxes only
        assert 0 <= x1 < x2 <= c["width"] and 0 <= y1 < y2 <= c["height"], row
        assert (cam, frame, track) not in seen, row
        seen.add((cam, frame, track))
    assert {str(r[0]) for r in labels["sightings"]} <= set(cams)


def test_every_person_value_is_known(labels):
    ids = {p["person"] for p in labels["people"]}
    rows = labels["sightings"]
    first_seen = {}
    for cam, frame, track, *_box, who in rows:
        first_seen.setdefault(who, (cam, track))
    for cam, _frame, _track, *_box, who in rows:
        if who in ids or who in ("none", "ignore"):
            continue
        m = KEY.match(who)
        assert m, who
        # a distractor keeps the key of the camera and track it was first labelled on, and that
        # track exists there (one person, a few clips, never a query)
        kc, kt = int(m.group(1)), int(m.group(2))
        assert any(r[0] == kc and r[2] == kt and r[7] == who for r in rows), who
        assert str(cam) in labels["cameras"]
    assert not ids & {"none", "ignore"}


def test_every_query_identity_recurs_and_is_described_from_its_own_sighting(labels):
    cams, rows = labels["cameras"], labels["sightings"]
    people = labels["people"]
    assert len(people) == len({p["person"] for p in people}) >= 5
    for p in people:
        assert len(_views(rows, p["person"], cams)) >= 2, p["person"]
        cam, frame = p["described_from"]
        assert any(r[0] == cam and r[1] == frame and r[7] == p["person"] for r in rows), p["person"]
        assert p["confidence"] in ("sure", "likely", "doubtful"), p
        assert p["upper"] and p["lower"], p
        for part in ("upper", "lower", "bag"):
            assert set(p[part]) <= set(COLOUR_NAMES), (p["person"], part, p[part])
        assert p["note"].strip()


def test_cameras_name_footage_that_is_there(labels):
    """Clip lengths and sizes match the shared footage (read in place, never copied)."""
    import cv2

    for cam, c in labels["cameras"].items():
        path = shared_path(*c["source"].split("/"))
        if c["kind"] == "photo":
            assert c["frames"] == 1
            continue
        cap = cv2.VideoCapture(str(path))
        try:
            n, w, h = (int(cap.get(p)) for p in (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH,
                                                    cv2.CAP_PROP_FRAME_HEIGHT))
        finally:
            cap.release()
        assert (w, h) == (c["width"], c["height"]) and abs(n - c["frames"]) <= 1, (cam, n, w, h)
