"""Evaluation: missing-person search on PETS 2009 S2.L1 (published boxes and track ids).

Identity set (``tests/fixtures/people/pets2009_s2l1_descriptions.json`` holds the labels):
every ground-truth person track is cut into 5 s **appearances** (a candidate, stored as
its own track id, as a camera would see a person pass); one sighting per appearance per
second goes through the product's path (``people.appearance.appearance_of`` on the
ground-truth box, the real ``PersonSighting`` store in a fresh SQLite, the real
``services.person_search.search``).

- **Description queries**: one per person, the clothing colours a person wrote looking at
  one crop (the JSON; never derived from the feature).
- **Photo queries**: the same 19 crops as JPEG files (``Photo(path=...)``), and every
  appearance's middle sighting (``Photo(sighting_id=...)``).

Targets: the person's appearances at least ``GAP_S`` (10 s) from the query's time; the
person's appearances nearer in time are ignored (neither hit nor miss, as re-id
benchmarks drop same-camera near-duplicates); every other person is a distractor. A
query counts as a top-5 hit when a target is among the first 5 non-ignored candidates.
Two protocols: **per appearance** (candidates are the 5 s appearances, ~100: a look-alike
fills several of the 5 places) and **per person** (each person once, at their best
sighting outside the query's 10 s: ~19 candidates, what one-per-track ranking gives with
a tracker that keeps each person on one track).
95 % intervals: Wilson for the 19 queries; person-level cluster bootstrap (queries of one
person are not independent) for the all-appearance photo queries.

Held-out set (``--set drone``, :func:`evaluate_drone`): four P-DESTRE drone views, the
product's own detector and tracker boxes, hand-labelled into 8 identities seen in two or
three views (``tests/fixtures/people/pdestre_drone_identities.json``, its README). Targets
are the identity's sightings in the *other* views than the query's.

Development set with the product's own boxes (``--set pets-detector``,
:func:`evaluate_pets_detector`): the person detector and ByteTrack on PETS, boxes labelled
by their overlap with the published ones. Any other identity set (``--set FILE``,
:func:`evaluate_identity_set`): the drone set's protocol on the clips the file names.

Run:  nice /work/main/.venv/bin/python benchmarks/person_search_eval.py [--shared ../shared]
      [--set pets|pets-detector|drone|both|dev|FILE] [--det-cache FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELS = ROOT / "tests" / "fixtures" / "people" / "pets2009_s2l1_descriptions.json"
CLIP_REL = Path("data/people/pets2009_s2l1")
FPS = 10.0
APPEARANCE_S = 5.0
SIGHTING_EVERY_S = 1.0
GAP_S = 10.0
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
TOP_K = 5


@dataclass
class Outcome:
    person: int
    hit_at: int | None  # rank among non-ignored candidates (1 = first), None if no target found

    def hit(self, k: int = TOP_K) -> bool:
        return self.hit_at is not None and self.hit_at <= k


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def cluster_bootstrap(outcomes: list[Outcome], k: int = TOP_K, reps: int = 2000, seed: int = 1) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    people = sorted({o.person for o in outcomes})
    by = {p: np.array([o.hit(k) for o in outcomes if o.person == p], float) for p in people}
    rates = []
    for _ in range(reps):
        pick = rng.choice(people, len(people), replace=True)
        hits = np.concatenate([by[p] for p in pick])
        rates.append(hits.mean())
    lo, hi = np.percentile(rates, [2.5, 97.5])
    return float(lo), float(hi)


def read_frames(video: Path) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def build_store(shared: Path, engine, crop_dir: Path) -> dict:
    """Sightings of every ground-truth appearance into ``engine``; returns the bookkeeping:
    appearance track id -> (person, start_s, end_s) and sighting id -> (person, time_s)."""
    import pandas as pd

    from disaster_ops.people.appearance import FEATURE_VERSION, appearance_of
    from disaster_ops.services import sightings
    from disaster_ops.storage.models import PersonSighting, SourceKind

    base = shared / CLIP_REL
    frames = read_frames(base / "s2l1_view001.mp4")
    gt = pd.read_csv(base / "gt_boxes.csv")
    rows, appearances = [], {}
    step = round(SIGHTING_EVERY_S * FPS)
    for pid, g in gt.groupby("track_id"):
        g = g.sort_values("frame")
        f0 = int(g.frame.min())
        for r in g.itertuples():
            if (int(r.frame) - f0) % step:
                continue
            seg = int((int(r.frame) - f0) // (APPEARANCE_S * FPS))
            tid = int(pid) * 1000 + seg
            t_s = int(r.frame) / FPS
            a0, a1 = appearances.get(tid, (int(pid), t_s, t_s))[1:]
            appearances[tid] = (int(pid), min(a0, t_s), max(a1, t_s))
            app = appearance_of(frames[int(r.frame)], (r.x1, r.y1, r.x2, r.y2))
            if app is None:
                continue
            rows.append(PersonSighting(
                source_kind=SourceKind.CCTV, camera_key="pets2009-view001", captured_at=T0 + timedelta(seconds=t_s),
                track_id=tid, x1=r.x1, y1=r.y1, x2=r.x2, y2=r.y2, lat=51.4536, lon=-0.9310, uncertainty_m=50.0,
                confidence=1.0, upper_colour=app.upper_colour, lower_colour=app.lower_colour, build=app.build.value,
                feature_version=FEATURE_VERSION, attrs=app.vector.tobytes()))
    sightings.store(rows, engine=engine)
    from sqlmodel import Session, select

    with Session(engine) as s:
        stored = list(s.exec(select(PersonSighting)))
    sighting_of = {r.id: (r.track_id // 1000, (r.captured_at - T0).total_seconds(), r.track_id) for r in stored}
    return {"frames": frames, "gt": gt, "appearances": appearances, "sightings": sighting_of}


def rank_of_target(result, person: int, query_s: float, appearances: dict) -> int | None:
    """1-based rank of the first target among non-ignored candidates."""
    rank = 0
    for c in result.candidates:
        pid, a0, a1 = appearances[c.track_id]
        gap = max(a0 - query_s, query_s - a1, 0.0)
        if pid == person and gap < GAP_S:
            continue  # the query's own time: ignored
        rank += 1
        if pid == person:
            return rank
    return None


def rank_of_target_person(result, person: int, query_s: float, sighting_time: dict[int, float]) -> int | None:
    """Per-person protocol: sightings ranked (not one per track); near-time sightings of the
    person ignored; each person counts once, at their best remaining sighting (what the
    product's one-per-track ranking gives with a tracker that never loses anyone)."""
    seen: set[int] = set()
    for c in result.candidates:
        pid = c.track_id // 1000
        if pid == person and abs(sighting_time[c.sighting_id] - query_s) < GAP_S:
            continue
        if pid in seen:
            continue
        seen.add(pid)
        if pid == person:
            return len(seen)
    return None


def ev_time(t_s: float) -> datetime:
    return T0 + timedelta(seconds=t_s)


def has_target(person: int, query_s: float, appearances: dict) -> bool:
    return any(pid == person and max(a0 - query_s, query_s - a1, 0.0) >= GAP_S
               for pid, a0, a1 in appearances.values())


def evaluate(shared: Path, *, all_segments: bool = True) -> dict:
    import cv2

    from disaster_ops.services import person_search as ps
    from disaster_ops.services.roles import Principal, Role
    from disaster_ops.storage.db import make_engine
    from disaster_ops.storage.migrate import upgrade

    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    me = Principal("eval.manager", Role.MANAGER)
    with tempfile.TemporaryDirectory() as tmp:
        eng = make_engine(f"sqlite:///{Path(tmp) / 'eval.db'}")
        upgrade(eng)
        book = build_store(shared, eng, Path(tmp))
        apps, frames, gt = book["appearances"], book["frames"], book["gt"]
        desc_out, photo_file_out, photo_all_out, desc_person, photo_person, desc_since = [], [], [], [], [], []
        times = {sid: t_s for sid, (_, t_s, _) in book["sightings"].items()}
        for p in labels["people"]:
            pid, fr = int(p["track_id"]), int(p["frame"])
            q_s = fr / FPS
            if not has_target(pid, q_s, apps):
                continue
            req = ps.SearchRequest("evaluation: PETS description", limit=200,
                                   description=ps.Description(upper=tuple(p["upper"]), lower=tuple(p["lower"])))
            desc_out.append(Outcome(pid, rank_of_target(ps.search(req, principal=me, engine=eng), pid, q_s, apps)))
            # the witness also says when the person was last seen: the window starts there
            req_t = ps.SearchRequest("evaluation: PETS description, last seen", limit=200,
                                     description=req.description, since=ev_time(q_s))
            desc_since.append(Outcome(pid, rank_of_target(ps.search(req_t, principal=me, engine=eng), pid, q_s,
                                                          apps)))
            req = ps.SearchRequest("evaluation: PETS description", limit=500, one_per_track=False,
                                   description=req.description)
            desc_person.append(Outcome(pid, rank_of_target_person(ps.search(req, principal=me, engine=eng), pid,
                                                                  q_s, times)))
            box = gt[(gt.track_id == pid) & (gt.frame == fr)].iloc[0]
            crop = frames[fr][max(0, round(box.y1)):round(box.y2), max(0, round(box.x1)):round(box.x2)]
            path = Path(tmp) / f"query_{pid}.png"
            cv2.imwrite(str(path), crop)
            req = ps.SearchRequest("evaluation: PETS photo", limit=200, photo=ps.Photo(path=path))
            photo_file_out.append(Outcome(pid, rank_of_target(ps.search(req, principal=me, engine=eng), pid, q_s,
                                                               apps)))
            req = ps.SearchRequest("evaluation: PETS photo", limit=500, one_per_track=False, photo=ps.Photo(path=path))
            photo_person.append(Outcome(pid, rank_of_target_person(ps.search(req, principal=me, engine=eng), pid,
                                                                   q_s, times)))
        if all_segments:
            by_track: dict[int, list[tuple[int, float]]] = {}
            for sid, (pid, t_s, tid) in book["sightings"].items():
                by_track.setdefault(tid, []).append((sid, t_s))
            for tid, items in sorted(by_track.items()):
                pid = tid // 1000
                items.sort(key=lambda x: x[1])
                sid, q_s = items[len(items) // 2]
                if not has_target(pid, q_s, apps):
                    continue
                req = ps.SearchRequest("evaluation: PETS photo (all)", limit=200, photo=ps.Photo(sighting_id=sid))
                photo_all_out.append(Outcome(pid, rank_of_target(ps.search(req, principal=me, engine=eng), pid,
                                                                  q_s, apps)))
        eng.dispose()

    def summary(outs: list[Outcome], cluster: bool) -> dict:
        n = len(outs)
        k5 = sum(o.hit(5) for o in outs)
        k1 = sum(o.hit(1) for o in outs)
        ci = cluster_bootstrap(outs) if cluster else wilson(k5, n)
        return {"queries": n, "people": len({o.person for o in outs}), "top5": k5 / n if n else float("nan"),
                "top5_ci95": [round(ci[0], 3), round(ci[1], 3)], "top1": k1 / n if n else float("nan"),
                "ci_method": "person-level cluster bootstrap" if cluster else "Wilson",
                "misses": sorted({o.person for o in outs if not o.hit(5)})}

    return {"gallery_appearances": len(apps), "gallery_sightings": len(book["sightings"]),
            "description": summary(desc_out, False), "photo_file": summary(photo_file_out, False),
            "photo_all_appearances": summary(photo_all_out, True) if photo_all_out else None,
            "description_per_person": summary(desc_person, False),
            "description_last_seen_window": summary(desc_since, False) if desc_since else None, "photo_file_per_person": summary(photo_person, False)}


# -- held-out set: four P-DESTRE drone views (tests/fixtures/people/pdestre_drone_identities.json) ---------

DRONE_LABELS = ROOT / "tests" / "fixtures" / "people" / "pdestre_drone_identities.json"
DRONE_REL = Path("data/people/drone_pdestre")
DRONE_FPS = 10.0
IGNORE = "ignore"


def drone_person_key(label: str, camera: int, track: int) -> str:
    """Who a labelled sighting is, for 'each person once': the label, except non-persons,
    which count as one candidate per track."""
    return f"none-c{camera}t{track}" if label == "none" else label


@dataclass(frozen=True)
class IdentitySet:
    """A hand-labelled identity set in the drone fixture's format: ``labels["sightings"]``
    rows named by ``labels["columns"]`` (camera, frame, track, x1, y1, x2, y2, person),
    ``labels["people"]`` the cross-clip identities with a witness description (``upper``,
    ``lower``, optional ``bag``, ``described_from`` [camera, frame], ``confidence``);
    ``clips`` maps each camera (as text) to its video file."""

    name: str
    labels: dict
    clips: dict[str, Path]
    source_kind: str = "drone"
    fps: dict[str, float] = field(default_factory=dict)  # per camera, when the file gives it


def drone_set(shared: Path) -> IdentitySet:
    labels = json.loads(DRONE_LABELS.read_text(encoding="utf-8"))
    cams = sorted({str(r[0]) for r in labels["sightings"]})
    return IdentitySet("P-DESTRE drone views", labels, {c: shared / DRONE_REL / f"cam{c}.mp4" for c in cams})


_COLUMNS = ("camera", "frame", "track", "x1", "y1", "x2", "y2", "person")
MAX_TRACK = 1000  # a stored track id is camera index * MAX_TRACK + track


def _fail(message: str) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(2)


def _rows(labels: dict) -> list[tuple]:
    """The sightings as (camera text, frame, track, x1, y1, x2, y2, person), whatever the
    column order; one clear line and exit 2 for a row that does not fit."""
    cols = labels.get("columns") or list(_COLUMNS)
    missing = [name for name in _COLUMNS if not isinstance(cols, list) or name not in cols]
    if missing:
        _fail(f"identity set: 'columns' lacks {', '.join(missing)}")
    at = {name: cols.index(name) for name in _COLUMNS}
    out = []
    for i, r in enumerate(labels["sightings"]):
        try:
            row = (str(r[at["camera"]]), int(r[at["frame"]]), int(r[at["track"]]), float(r[at["x1"]]),
                   float(r[at["y1"]]), float(r[at["x2"]]), float(r[at["y2"]]), str(r[at["person"]]))
        except (IndexError, TypeError, ValueError, KeyError):
            _fail(f"identity set: sightings row {i} does not match the columns {cols}")
        if not 0 <= row[2] < MAX_TRACK:
            _fail(f"identity set: sightings row {i}: track id {row[2]} outside 0..{MAX_TRACK - 1}")
        out.append(row)
    return out


def identity_set_from_file(path: Path, shared: Path) -> IdentitySet:
    """An identity set file (the drone fixture's format) with its clips named per camera in
    ``cameras`` (camera -> {source, kind video/photo, fps}) or ``clip_files`` (camera ->
    path): paths relative to ``shared/data``, ``shared`` or absolute; a photo is one frame
    (frame 0). One clear line and exit 2 when something is missing."""
    try:
        labels = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"{path}: not a readable JSON identity set ({exc})")
    if not isinstance(labels, dict):
        _fail(f"{path}: an identity set is a JSON object, not a {type(labels).__name__}")
    cameras = labels.get("cameras") if isinstance(labels.get("cameras"), dict) else {}
    mapping = labels.get("clip_files") or {cam: c.get("source") for cam, c in cameras.items() if isinstance(c, dict)}
    for key in ("sightings", "people"):
        if not isinstance(labels.get(key), list):
            _fail(f"{path}: no '{key}' list")
    if not isinstance(mapping, dict) or not mapping:
        _fail(f"{path}: no 'cameras' (or 'clip_files') mapping camera -> video or photo file")
    clips = {}
    for cam, rel in mapping.items():
        if not isinstance(rel, str) or not rel:
            _fail(f"{path}: camera {cam}: no 'source' file named")
        cands = [Path(rel), shared / "data" / rel, shared / rel]
        found = next((c for c in cands if c.is_file()), None)
        if found is None:
            print(f"{path}: camera {cam}: clip {rel} not found under {shared / 'data'}", file=sys.stderr)
            raise SystemExit(2)
        clips[str(cam)] = found
    kind = str(labels.get("source_kind", "cctv"))
    fps = {str(cam): float(c["fps"]) for cam, c in cameras.items() if isinstance(c, dict) and c.get("fps")}
    return IdentitySet(str(labels.get("name", Path(path).stem)), labels, clips, kind if kind in ("cctv", "drone")
                       else "cctv", fps)


def build_identity_store(engine, ids: IdentitySet) -> dict:
    """The labelled boxes of every camera's clip as sightings in ``engine`` (one
    ``camera_key`` per camera, track ids ``camera index * MAX_TRACK + track``); returns sighting
    id -> (person label, camera, track id)."""
    import cv2
    from sqlmodel import Session, select

    from disaster_ops.people.appearance import FEATURE_VERSION, appearance_of
    from disaster_ops.services import sightings
    from disaster_ops.storage.models import PersonSighting, SourceKind

    rows_in = _rows(ids.labels)
    cams = sorted({r[0] for r in rows_in}, key=lambda c: (len(c), c))
    index = {c: i + 1 for i, c in enumerate(cams)}
    fps_of: dict[str, float] = {}
    rows = []
    for cam in cams:
        items = [r for r in rows_in if r[0] == cam]
        want = {r[1] for r in items}
        video = ids.clips[cam]
        frames = {}
        if video.suffix.lower() in (".jpg", ".jpeg", ".png"):  # a photo: one frame
            img = cv2.imread(str(video), cv2.IMREAD_COLOR)
            if img is None or want != {0}:
                _fail(f"{video}: not a readable photo, or rows name frames other than 0")
            frames[0] = img
            fps_of[cam] = 1.0
        else:
            cap = cv2.VideoCapture(str(video))
            fps_of[cam] = ids.fps.get(cam) or float(cap.get(cv2.CAP_PROP_FPS) or 0) or DRONE_FPS
            i = 0
            while want - frames.keys():
                ok, f = cap.read()
                if not ok:
                    _fail(f"{video}: ends before frame {max(want)}")
                if i in want:
                    frames[i] = f
                i += 1
            cap.release()
        for _, frame, track, x1, y1, x2, y2, _person in items:
            app = appearance_of(frames[frame], (x1, y1, x2, y2))
            if app is None:
                continue
            rows.append(PersonSighting(
                source_kind=SourceKind(ids.source_kind), camera_key=f"{ids.source_kind}:eval-{cam}",
                captured_at=T0 + timedelta(seconds=frame / fps_of[cam]), track_id=index[cam] * MAX_TRACK + track,
                x1=x1, y1=y1, x2=x2, y2=y2, lat=12.9716, lon=77.5946, uncertainty_m=30.0, confidence=1.0,
                upper_colour=app.upper_colour, lower_colour=app.lower_colour, build=app.build.value,
                feature_version=FEATURE_VERSION, attrs=app.vector.tobytes()))
    sightings.store(rows, engine=engine)
    label_of = {(r[0], r[1], r[2]): r[7] for r in rows_in}
    with Session(engine) as s:
        stored = list(s.exec(select(PersonSighting)))
    out = {}
    for r in stored:
        cam = cams[r.track_id // MAX_TRACK - 1]
        frame = round((r.captured_at - T0).total_seconds() * fps_of[cam])
        out[r.id] = (label_of[(cam, frame, r.track_id % MAX_TRACK)], cam, r.track_id)
    return out


def build_drone_store(shared: Path, engine, labels: dict | None = None) -> dict:
    """The drone set's labelled boxes as sightings (see :func:`build_identity_store`)."""
    ids = drone_set(shared)
    return build_identity_store(engine, ids if labels is None else IdentitySet(ids.name, labels, ids.clips))


def drone_rank(result, person: str, query_cam: str, book: dict, *, per_person: bool) -> int | None:
    """1-based rank of the first sighting of ``person`` in another camera than the query's.
    Ignored (neither hit nor distractor): the person's sightings in the query's camera, and
    boxes labelled 'ignore'. ``per_person``: each person counts once (candidates are
    sightings, deduplicated by who they are); otherwise each track is a candidate."""
    seen: set[str] = set()
    rank = 0
    for c in result.candidates:
        label, cam, track = book[c.sighting_id]
        if label == IGNORE or (label == person and cam == query_cam):
            continue
        if per_person:
            key = drone_person_key(label, cam, track % MAX_TRACK)
            if key in seen:
                continue
            seen.add(key)
            rank = len(seen)
        else:
            rank += 1
        if label == person:
            return rank
    return None


def evaluate_drone(shared: Path, *, confidences: tuple[str, ...] = ("sure", "likely", "doubtful")) -> dict:
    """Cross-view search on the drone set (:func:`evaluate_identity_set`)."""
    return evaluate_identity_set(drone_set(shared), confidences=confidences)


def evaluate_identity_set(ids: IdentitySet, *, confidences: tuple[str, ...] = ("sure", "likely", "doubtful")) -> dict:
    """Cross-clip search on an identity set: description queries (one per identity, the
    labeller's witness description: clothes only, and with the bag where one is given;
    targets: the identity's sightings in the other cameras/clips than the one it was
    described from) and photo queries with the colour vector (each identity's middle
    sighting in each camera where it appears; targets in the other cameras). Per person
    (each person once) and per track (the product's one-per-track ranking). 95 %
    intervals: Wilson (descriptions), person-level cluster bootstrap (photos)."""
    from disaster_ops.services import person_search as ps
    from disaster_ops.services.roles import Principal, Role
    from disaster_ops.storage.db import make_engine
    from disaster_ops.storage.migrate import upgrade

    labels = ids.labels
    me = Principal("eval.manager", Role.MANAGER)
    people = [p for p in labels["people"] if p.get("confidence", "sure") in confidences]
    res: dict[str, list[Outcome]] = {k: [] for k in (
        "description_per_person", "description", "description_with_bag_per_person", "description_with_bag",
        "photo_per_person", "photo")}
    with tempfile.TemporaryDirectory() as tmp:
        eng = make_engine(f"sqlite:///{Path(tmp) / 'identities.db'}")
        upgrade(eng)
        book = build_identity_store(eng, ids)

        def run(key: str, req_kw: dict, person: str, cam: str) -> None:
            for per_person, suffix in ((True, "_per_person"), (False, "")):
                req = ps.SearchRequest("evaluation: identity set", limit=500,
                                       one_per_track=not per_person, **req_kw)
                rank = drone_rank(ps.search(req, principal=me, engine=eng), person, cam, book, per_person=per_person)
                res[key + suffix].append(Outcome(person, rank))  # type: ignore[arg-type]

        for p in people:
            pid, cam = str(p["person"]), str(p["described_from"][0])
            if not any(lab == pid and c != cam for lab, c, _t in book.values()):
                continue  # no sighting in another clip: no target
            run("description", {"description": ps.Description(upper=tuple(p["upper"]), lower=tuple(p["lower"]))},
                pid, cam)
            if p.get("bag"):
                run("description_with_bag", {"description": ps.Description(
                    upper=tuple(p["upper"]), lower=tuple(p["lower"]), bag=tuple(p["bag"]))}, pid, cam)
            else:  # no bag given: the same query (so the row covers every identity)
                res["description_with_bag_per_person"].append(res["description_per_person"][-1])
                res["description_with_bag"].append(res["description"][-1])
            mine = sorted((c, sid) for sid, (lab, c, _t) in book.items() if lab == pid)
            seen_in = sorted({c for c, _ in mine})
            for qcam in seen_in if len(seen_in) > 1 else []:  # a photo query needs the person in another clip
                sids = [sid for c, sid in mine if c == qcam]
                run("photo", {"photo": ps.Photo(sighting_id=sids[len(sids) // 2])}, pid, qcam)
        eng.dispose()

    persons = {lab for lab, _c, _t in book.values() if lab not in (IGNORE, "none")}
    return {"set": ids.name, "identities": [p["person"] for p in people], "confidences": list(confidences),
            "gallery_sightings": len(book), "gallery_people": len(persons),
            "gallery_tracks": len({t for _l, _c, t in book.values()}),
            **{k: _summary(v, k.startswith("photo")) for k, v in res.items()}}


# -- development set: PETS 2009 S2.L1 with the product's own detector and tracker boxes ---------

DET_EVERY = 2  # detector on every 2nd frame (5 frames/s), as the drone set
MATCH_IOU, IGNORE_IOU = 0.5, 0.2


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def pets_detector_boxes(shared: Path, cache: Path | None = None) -> list[list]:
    """The product's person detector and ByteTrack on every 2nd PETS frame, one sighting per
    track per second (``SightingSampler(1.0)``), each labelled with the published box it
    overlaps most: its person at IoU >= 0.5, ``ignore`` at 0.2-0.5 (a box around two people
    or half of one), ``none`` below (not a person: a distractor per track). Rows:
    [frame, track, x1, y1, x2, y2, person]. ``cache``: a JSON file read if present, written
    otherwise (the detector takes minutes on 2 cores)."""
    if cache is not None and cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))
    import pandas as pd

    from disaster_ops.detect.backends.person_yolo import PersonDetector
    from disaster_ops.people.tracking import PersonTracker
    from disaster_ops.services.sightings import SightingSampler

    base = shared / CLIP_REL
    frames = read_frames(base / "s2l1_view001.mp4")
    gt = {int(f): g for f, g in pd.read_csv(base / "gt_boxes.csv").groupby("frame")}
    det, trk, sampler = PersonDetector(threads=1), PersonTracker(fps=FPS / DET_EVERY), SightingSampler(1.0)
    rows = []
    for i in range(0, len(frames), DET_EVERY):
        d = trk.update(det.detect_batch([frames[i]])[0])
        for k in np.flatnonzero(sampler.due(d.data["track_id"], i / FPS)):
            box = [round(float(v), 1) for v in d.xyxy[k]]
            best, who = 0.0, "none"
            for r in (gt[i].itertuples() if i in gt else ()):
                v = _iou(box, (r.x1, r.y1, r.x2, r.y2))
                if v > best:
                    best, who = v, str(int(r.track_id))
            who = who if best >= MATCH_IOU else ("ignore" if best >= IGNORE_IOU else "none")
            rows.append([i, int(d.data["track_id"][k]), *box, who])
    if cache is not None:
        cache.write_text(json.dumps(rows), encoding="utf-8")
    return rows


def evaluate_pets_detector(shared: Path, cache: Path | None = None) -> dict:
    """Description and witness-photo queries on PETS with the detector's boxes (gallery: the
    product's tracks; targets: the person's sightings at least ``GAP_S`` from the query's
    frame, nearer ones ignored; per person and per track)."""
    import cv2
    from sqlmodel import Session, select

    from disaster_ops.people.appearance import FEATURE_VERSION, appearance_of
    from disaster_ops.services import person_search as ps
    from disaster_ops.services import sightings
    from disaster_ops.services.roles import Principal, Role
    from disaster_ops.storage.db import make_engine
    from disaster_ops.storage.migrate import upgrade
    from disaster_ops.storage.models import PersonSighting, SourceKind

    boxes = pets_detector_boxes(shared, cache)
    frames = read_frames(shared / CLIP_REL / "s2l1_view001.mp4")
    import pandas as pd

    gt = pd.read_csv(shared / CLIP_REL / "gt_boxes.csv")
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    me = Principal("eval.manager", Role.MANAGER)
    res: dict[str, list[Outcome]] = {k: [] for k in ("description_per_person", "description", "photo_file_per_person",
                                                     "photo_file")}
    with tempfile.TemporaryDirectory() as tmp:
        eng = make_engine(f"sqlite:///{Path(tmp) / 'petsdet.db'}")
        upgrade(eng)
        rows, who = [], {}
        for frame, track, x1, y1, x2, y2, person in boxes:
            app = appearance_of(frames[frame], (x1, y1, x2, y2))
            if app is None:
                continue
            rows.append(PersonSighting(
                source_kind=SourceKind.CCTV, camera_key="pets2009-view001", captured_at=T0 + timedelta(seconds=frame / FPS),
                track_id=track, x1=x1, y1=y1, x2=x2, y2=y2, lat=51.4536, lon=-0.9310, uncertainty_m=50.0,
                confidence=1.0, upper_colour=app.upper_colour, lower_colour=app.lower_colour, build=app.build.value,
                feature_version=FEATURE_VERSION, attrs=app.vector.tobytes()))
            who[(frame, track)] = person
        sightings.store(rows, engine=eng)
        with Session(eng) as s:
            book = {r.id: (who[(round((r.captured_at - T0).total_seconds() * FPS), r.track_id)],
                           (r.captured_at - T0).total_seconds(), r.track_id) for r in s.exec(select(PersonSighting))}

        def rank(result, person: str, q_s: float, per_person: bool) -> int | None:
            """Per person: sightings, each person once, the person's sightings within GAP_S of
            the query ignored. Per track (the product's one-per-track ranking): a track with a
            sighting of the person within GAP_S of the query is the query's own observation
            and ignored whole; a target is another track whose best sighting is the person."""
            near = {tr for lab, t_s, tr in book.values() if lab == person and abs(t_s - q_s) < GAP_S}
            seen: set[str] = set()
            n = 0
            for c in result.candidates:
                label, t_s, track = book[c.sighting_id]
                if label == IGNORE or (label == person and abs(t_s - q_s) < GAP_S):
                    continue
                if per_person:
                    key = f"none-t{track}" if label == "none" else label
                    if key in seen:
                        continue
                    seen.add(key)
                elif track in near:
                    continue
                n += 1
                if label == person:
                    return n
            return None

        def has_target(person: str, q_s: float, per_person: bool) -> bool:
            near = {tr for lab, t_s, tr in book.values() if lab == person and abs(t_s - q_s) < GAP_S}
            return any(lab == person and abs(t_s - q_s) >= GAP_S and (per_person or tr not in near)
                       for lab, t_s, tr in book.values())

        def run(key: str, req_kw: dict, person: str, q_s: float) -> None:
            for per_person, suffix in ((True, "_per_person"), (False, "")):
                if not has_target(person, q_s, per_person):
                    continue
                req = ps.SearchRequest("evaluation: PETS, detector boxes", limit=500, one_per_track=not per_person,
                                       **req_kw)
                res[key + suffix].append(Outcome(int(person), rank(ps.search(req, principal=me, engine=eng), person,
                                                                   q_s, per_person)))

        for p in labels["people"]:
            pid, fr = str(p["track_id"]), int(p["frame"])
            q_s = fr / FPS
            if not has_target(pid, q_s, True):
                continue
            run("description", {"description": ps.Description(upper=tuple(p["upper"]), lower=tuple(p["lower"]))},
                pid, q_s)
            box = gt[(gt.track_id == int(pid)) & (gt.frame == fr)].iloc[0]
            crop = frames[fr][max(0, round(box.y1)):round(box.y2), max(0, round(box.x1)):round(box.x2)]
            path = Path(tmp) / f"query_{pid}.png"
            cv2.imwrite(str(path), crop)
            run("photo_file", {"photo": ps.Photo(path=path)}, pid, q_s)
        eng.dispose()
    n_lab = {lab for lab, _t, _tr in book.values()}
    return {"gallery_sightings": len(book), "gallery_tracks": len({tr for _l, _t, tr in book.values()}),
            "people_matched": len(n_lab - {IGNORE, "none"}),
            "boxes_ignore": sum(lab == IGNORE for lab, _t, _tr in book.values()),
            "boxes_none": sum(lab == "none" for lab, _t, _tr in book.values()),
            **{k: _summary(v, False) for k, v in res.items()}}


def _summary(outs: list[Outcome], cluster: bool) -> dict:
    n = len(outs)
    k5 = sum(o.hit(5) for o in outs)
    ci = cluster_bootstrap(outs) if cluster else wilson(k5, n)
    return {"queries": n, "people": len({o.person for o in outs}), "top5": k5 / n if n else float("nan"),
            "top5_hits": k5, "top5_ci95": [round(ci[0], 3), round(ci[1], 3)],
            "top1": sum(o.hit(1) for o in outs) / n if n else float("nan"),
            "ci_method": "person-level cluster bootstrap" if cluster else "Wilson",
            "ranks": {str(o.person): o.hit_at for o in outs} if not cluster else None,
            "misses": sorted({str(o.person) for o in outs if not o.hit(5)})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--set", default="pets",
                    help="pets: PETS 2009 S2.L1, published boxes; pets-detector: the same with the product's detector "
                         "and tracker boxes; drone: the P-DESTRE drone views (scored once as held-out, development "
                         "since); both: pets and drone; dev: all three; or an identity set FILE (JSON, the drone "
                         "fixture's format with 'clip_files'): the generic cross-clip evaluation")
    ap.add_argument("--det-cache", type=Path, default=None,
                    help="JSON file for the PETS detector boxes (read if present, written otherwise)")
    args = ap.parse_args()
    out = {}
    if args.set not in ("pets", "pets-detector", "drone", "both", "dev"):
        ids = identity_set_from_file(Path(args.set), args.shared)
        out["identity_set"] = evaluate_identity_set(ids)
        out["identity_set_sure_likely_only"] = evaluate_identity_set(ids, confidences=("sure", "likely"))
    if args.set in ("pets-detector", "dev"):
        out["pets_detector"] = evaluate_pets_detector(args.shared, args.det_cache)
    if args.set in ("pets", "both", "dev"):
        if not (args.shared / CLIP_REL / "gt_boxes.csv").is_file():
            sys.exit(f"{args.shared / CLIP_REL}: PETS 2009 S2.L1 not found (give --shared)")
        out["pets"] = evaluate(args.shared)
    if args.set in ("drone", "both", "dev"):
        if not (args.shared / DRONE_REL / "cam1.mp4").is_file():
            sys.exit(f"{args.shared / DRONE_REL}: P-DESTRE drone clips not found (give --shared)")
        out["drone"] = evaluate_drone(args.shared)
        out["drone_sure_likely_only"] = evaluate_drone(args.shared, confidences=("sure", "likely"))
    print(json.dumps(out if len(out) > 1 else next(iter(out.values())), indent=2))


if __name__ == "__main__":
    main()
