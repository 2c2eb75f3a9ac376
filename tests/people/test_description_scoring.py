"""Description scoring of missing-person search, behaviour by behaviour, on real frames
read in place from ../shared (PETS 2009 S2.L1 and the P-DESTRE drone views; never copied):
navy is blue, not black; a bag's colour counts partly in the torso; both regions must
match; a lying person's regions are the whole body; sightings stored by an older feature
version are still searched; the CLI's --bag is used and audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from sqlmodel import Session, select

from disaster_ops.people.appearance import (
    BAG_WEIGHT,
    BLOCK,
    COLOUR_NAMES,
    FEATURE_VERSION,
    VECTOR_BYTES,
    appearance_of,
    description_scores,
)
from disaster_ops.services import person_search as ps
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.models import AuditEvent, PersonSighting
from tests.conftest import REPO, run_cli, shared_path

MANAGER = Principal("park.manager", Role.MANAGER)
BLUE, BLACK = COLOUR_NAMES.index("blue"), COLOUR_NAMES.index("black")


def _frame(video, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    cap.release()
    assert ok, (video, index)
    return frame


@pytest.fixture(scope="module")
def pets():
    import pandas as pd

    base = shared_path("people", "pets2009_s2l1", "gt_boxes.csv").parent
    gt = pd.read_csv(base / "gt_boxes.csv")

    def person(track: int, frame: int):
        box = gt[(gt.track_id == track) & (gt.frame == frame)].iloc[0]
        return _frame(base / "s2l1_view001.mp4", frame), (box.x1, box.y1, box.x2, box.y2)

    return person


def _upper_share(app, index: int) -> float:
    return float(app.vector[index]) / 255.0


def test_a_navy_jacket_reads_blue_and_a_black_coat_stays_black(pets):
    """PETS person 11 ("red and navy jacket"): the navy is too dark for an HSV hue and used
    to read black; Lab's b* tells it is blue. Person 1's long black coat stays black."""
    app = appearance_of(*pets(11, 246))
    assert _upper_share(app, BLUE) >= 0.3 and "blue" in app.colours("upper"), app.colours("upper", min_share=0.05)
    coat = appearance_of(*pets(1, 366))
    assert _upper_share(coat, BLUE) < 0.05 and coat.upper_colour == "black", coat.colours("upper", min_share=0.05)


def _drone_box(person: str, cam: int, frame: int):
    labels = json.loads((REPO / "tests/fixtures/people/pdestre_drone_identities.json").read_text(encoding="utf-8"))
    row = next(r for r in labels["sightings"] if r[7] == person and r[0] == cam and r[1] == frame)
    video = shared_path("people", "drone_pdestre", f"cam{cam}.mp4")
    return _frame(video, frame), tuple(row[3:7])


def test_a_backpack_seen_from_above_counts_partly_as_the_torso():
    """Drone cam4: a white shirt under a teal backpack (identity C) reads mostly blue in the
    torso, so for "white shirt, black trousers" an all-black student (A, cam3) outranks
    C; with the bag's colours given, C comes first. The bag counts less than a shirt
    colour would."""
    c = appearance_of(*_drone_box("C", 4, 100)).vector[None]
    a = appearance_of(*_drone_box("A", 3, 110)).vector[None]
    both = np.vstack([c, a])
    plain = dict(upper=["white"], lower=["black"])
    s_plain = description_scores(both, **plain)
    s_bag = description_scores(both, **plain, bag=["blue", "green"])
    assert s_plain[0] < s_plain[1] and s_bag[0] > s_bag[1], (s_plain, s_bag)
    assert s_bag[0] < description_scores(c, upper=["white", "blue", "green"], lower=["black"])[0]
    assert 0 < BAG_WEIGHT < 1
    # a bag alone is a description (the witness saw only the backpack)
    bag_only = description_scores(both, upper=None, lower=None, bag=["blue"])
    assert bag_only[0] > bag_only[1], bag_only


def test_both_regions_must_match():
    """The geometric mean: a red top over trousers of another colour loses to a fair match of
    both; a full match beats both."""
    vec = np.zeros((3, VECTOR_BYTES), np.uint8)
    red, blue, yellow = (COLOUR_NAMES.index(c) for c in ("red", "blue", "yellow"))
    vec[0, red], vec[0, BLOCK + yellow] = 255, 255  # red top, yellow trousers
    vec[1, red], vec[1, yellow] = 128, 127  # half red top
    vec[1, BLOCK + blue], vec[1, BLOCK + yellow] = 128, 127  # half blue trousers
    vec[2, red], vec[2, BLOCK + blue] = 255, 255
    s = description_scores(vec, upper=["red"], lower=["blue"])
    assert s[2] > s[1] > s[0], s
    assert s[2] == pytest.approx(1.0, abs=0.01) and s[0] < 0.2


def test_a_person_lying_down_is_described_by_the_whole_body(pets):
    """A box wider than tall (a collapsed person; here a real PETS person, red top and jeans,
    turned on the side): which end is the head is unknown, so both regions hold the whole
    body's colours and a search for "red top, blue jeans" still finds the person."""
    frame, (x1, y1, x2, y2) = pets(10, 460)
    crop = frame[round(y1) - 4:round(y2) + 4, round(x1) - 4:round(x2) + 4]
    lying = cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE)
    h, w = lying.shape[:2]
    app = appearance_of(lying, (4, 4, w - 4, h - 4))
    assert np.array_equal(app.vector[:BLOCK], app.vector[BLOCK:])
    for region in ("upper", "lower"):
        assert {"red", "blue"} <= set(app.colours(region, min_share=0.08)), app.colours(region, min_share=0.05)
    standing_grey = np.zeros((1, VECTOR_BYTES), np.uint8)
    standing_grey[0, COLOUR_NAMES.index("grey")] = standing_grey[0, BLOCK + COLOUR_NAMES.index("grey")] = 255
    both = np.vstack([app.vector[None], standing_grey])
    s = description_scores(both, upper=["red"], lower=["blue"])
    assert s[0] > 0.2 and s[0] > s[1], s


def _version_1_vector(frame: np.ndarray, box) -> np.ndarray:
    """What version 1 stored for this box: the same regions read without the Lab navy rule."""
    from disaster_ops.people import appearance as ap

    x1, y1, x2, y2 = (round(v) for v in box)
    blocks = []
    for rows in (ap.UPPER_ROWS, ap.LOWER_ROWS):
        crop = np.ascontiguousarray(ap._region(frame, (x1, y1, x2, y2), rows))
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
        xs = np.linspace(-1.0, 1.0, hsv.shape[1], dtype=np.float32)
        blocks.append(ap._named_and_hist(hsv, np.broadcast_to(np.exp(-(xs / 0.6) ** 2), hsv.shape[:2])))
    return np.clip(np.round(np.concatenate(blocks) * 255.0), 0, 255).astype(np.uint8)


def _store(engine, vec: np.ndarray, version: int, track: int) -> int:
    row = PersonSighting(source_kind="cctv", camera_key="cam-1", captured_at=datetime.now(UTC), track_id=track,
                         x1=0, y1=0, x2=20, y2=50, lat=37.5665, lon=126.978, upper_colour="black",
                         lower_colour="blue", feature_version=version, attrs=vec.tobytes())
    with Session(engine) as s:
        s.add(row)
        s.commit()
        return row.id


def test_sightings_of_the_previous_feature_version_are_still_searched(engine, pets):
    """Version 1 (before navy was read as blue) has the same 54-byte layout: its rows are
    scored as they are; a navy jacket stored then reads black and is found at black's
    similarity to blue. A row of another layout is skipped, not an error."""
    assert FEATURE_VERSION == 2
    frame, box = pets(11, 246)
    new = appearance_of(frame, box).vector
    old = _version_1_vector(frame, box)  # version 1's own colour read: navy counted as black
    assert old[BLACK] > new[BLACK] and old[BLUE] < new[BLUE]
    sid_new, sid_old = _store(engine, new, 2, 1), _store(engine, old, 1, 2)
    sid_foreign = _store(engine, np.zeros(VECTOR_BYTES + 6, np.uint8), 99, 3)
    res = ps.search(ps.SearchRequest("test: versions", one_per_track=False,
                                     description=ps.Description(upper=("red", "blue"), lower=("blue",))),
                    principal=MANAGER, engine=engine)
    ranked = [c.sighting_id for c in res.candidates]
    assert ranked == [sid_new, sid_old] and sid_foreign not in ranked and res.scanned == 2
    assert res.candidates[1].score > 0.1  # found at black's similarity to blue, not at zero


def test_cli_bag_option_is_searched_and_audited(engine, data_dir):
    vec = np.zeros(VECTOR_BYTES, np.uint8)
    vec[COLOUR_NAMES.index("green")], vec[BLOCK + BLACK] = 255, 255
    sid = _store(engine, vec, 2, 1)
    r = run_cli("people", "search", "--upper", "white", "--lower", "black", "--bag", "green,blue", "--reason",
                "missing student, teal backpack", "--local-admin", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [c["sighting_id"] for c in out["candidates"]] == [sid] and out["candidates"][0]["score"] > 0.4
    with Session(engine) as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "people.search").order_by(AuditEvent.id)).all()[-1]
    assert json.loads(ev.details_json)["query"]["description"]["bag"] == ["green", "blue"]
    r = run_cli("people", "search", "--bag", "tartan", "--reason", "cli test case", "--local-admin")
    assert r.returncode == 2 and "bag" in r.stderr and "tartan" in r.stderr


def test_descriptions_are_stored_as_the_products_colour_names_and_a_bag_alone_keeps_build_a_tenth():
    """Colour names are checked, written the product's way and deduplicated before they
    reach the search or the audit log; a bag-only description scores on the same 0..1 scale
    as the others, so a matching build adds a tenth, as the docs say (found in review)."""
    d = ps.Description(upper=(" BLUE", "gray", "blue", "blac\u212a"), bag=("Green",))
    assert d.upper == ("blue", "grey", "black") and d.bag == ("green",)
    for bad in ({"upper": "blue"}, {"bag": (None,)}, {"lower": ("tartan",)}):
        with pytest.raises(ps.InputError):
            ps.Description(**bad)
    vec = np.zeros((2, VECTOR_BYTES), np.uint8)
    vec[0, COLOUR_NAMES.index("blue")] = 128  # broad person, half the torso blue
    vec[1, COLOUR_NAMES.index("blue")] = 38   # slim person, 15 % blue
    plain = description_scores(vec, upper=None, lower=None, bag=["blue"])
    assert plain[0] == pytest.approx(128 / 255, abs=0.01)  # the share itself, not a third of it
    built = description_scores(vec, upper=None, lower=None, bag=["blue"], build="slim",
                               builds=np.array(["broad", "slim"]))
    assert built[0] > built[1]  # the colour still ranks first; the build only a tenth


def test_a_standing_person_cut_by_the_frame_edge_is_not_lying_and_a_lying_one_may_be_short(pets):
    """Lying is read from the whole box, not its part inside the frame; the size limits
    follow the body's sides, so a person lying in a drone view 14 px high is described."""
    from disaster_ops.people import appearance as ap

    frame, _ = pets(11, 246)
    legs_only = ap.appearance_of(frame, (100, -200, 140, 20))  # 220 px tall person, 20 px in view
    lying_same_pixels = ap.appearance_of(frame, (100, 0, 140, 20))  # a 40 x 20 box: lying
    assert legs_only is not None and legs_only.build.value == "slim"
    assert not np.array_equal(legs_only.vector, lying_same_pixels.vector)  # read standing, not lying
    flat = ap.appearance_of(frame, (200, 200, 245, 214))  # lying, 45 x 14 px
    assert flat is not None
    assert ap.appearance_of(frame, (200, 200, 212, 204)) is None  # 12 x 4 px: too small
