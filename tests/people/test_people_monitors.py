"""Event rules of the people detectors on hand-made tracked detections (no model): the
collapse state machine, crowding density and hold time, loitering dwell, settings checks.
Real footage: test_people_real.py."""

import numpy as np
import pytest
from pydantic import ValidationError

from disaster_ops.detect.config import CameraDetectConfig
from disaster_ops.detect.records import Detections
from disaster_ops.people.collapse import CollapseMonitor, TrackState, _transition
from disaster_ops.people.config import CollapseConfig, CrowdingConfig, LoiterZone, PeopleConfig
from disaster_ops.people.counting import HiddenPeople
from disaster_ops.people.crowding import CrowdingMonitor, count_in_zone
from disaster_ops.people.events import PeopleEventKind
from disaster_ops.people.loitering import LoiteringMonitor

STANDING = (100, 50, 140, 170)
LYING = (70, 140, 190, 180)


def persons(*items) -> Detections:
    """items: (track_id, box, posture, fall_score)."""
    if not items:
        return Detections.empty().with_data(track_id=np.zeros(0, int), posture=np.zeros(0, object),
                                            fall_score=np.zeros(0, np.float32))
    ids, boxes, post, fs = zip(*items)
    n = len(items)
    return Detections(np.array(boxes, np.float32), np.full(n, 0.8, np.float32), np.full(n, "person", object),
                      data={"track_id": np.array(ids), "posture": np.array(post, object),
                            "fall_score": np.array(fs, np.float32)})


def run(monitor, frames, dt_s=0.2):
    events = []
    for i, f in enumerate(frames):
        events += monitor.update(f, i * dt_s)
    return events


def test_collapse_needs_upright_then_lying_still_for_n_seconds():
    mon = CollapseMonitor(CollapseConfig(still_s=1.0), camera_id="cam")
    frames = [persons((1, STANDING, "upright", 0.1))] * 5 + [persons((1, LYING, "fallen", 0.7))] * 5
    assert run(mon, frames) == []  # lying for 0.8 s only
    assert mon.state_of(1) is TrackState.DOWN
    ev = mon.update(persons((1, LYING, "fallen", 0.7)), 2.0)
    assert len(ev) == 1 and ev[0].kind is PeopleEventKind.COLLAPSE and ev[0].track_id == 1
    assert ev[0].started_s == pytest.approx(1.0) and ev[0].duration_s == pytest.approx(1.0)
    assert mon.update(persons((1, LYING, "fallen", 0.7)), 2.2) == []  # one event per collapse


def test_collapse_not_raised_for_static_fall_lookalike_or_weak_score_or_moving_person():
    mon = CollapseMonitor(CollapseConfig(still_s=1.0), camera_id="cam")
    assert run(mon, [persons((7, LYING, "fallen", 0.9))] * 30) == []  # never seen upright (jacket on grass)
    mon = CollapseMonitor(CollapseConfig(still_s=1.0, fall_score_min=0.5), camera_id="cam")
    weak = [persons((1, STANDING, "upright", 0.1))] * 3 + [persons((1, LYING, "fallen", 0.45))] * 20
    assert run(mon, weak) == []
    mon = CollapseMonitor(CollapseConfig(still_s=1.0), camera_id="cam")
    crawl = [persons((1, STANDING, "upright", 0.1))] * 3 + [
        persons((1, (70 + 40 * i, 140, 190 + 40 * i, 180), "fallen", 0.8)) for i in range(20)]
    assert run(mon, crawl) == []  # lying but moving (crawling, rolling): not still


def test_collapse_recovery_and_new_track_inherits_upright():
    mon = CollapseMonitor(CollapseConfig(still_s=1.0), camera_id="cam")
    frames = ([persons((1, STANDING, "upright", 0.1))] * 3 + [persons((1, LYING, "fallen", 0.7))] * 3
              + [persons((1, STANDING, "upright", 0.1))] * 10)
    assert run(mon, frames) == [] and mon.state_of(1) is TrackState.UPRIGHT  # got up again
    # ByteTrack gives the falling person a new id: the new lying track inherits "was upright"
    mon = CollapseMonitor(CollapseConfig(still_s=1.0), camera_id="cam")
    frames = [persons((1, STANDING, "upright", 0.1))] * 3 + [persons()] * 2 + [persons((2, LYING, "fallen", 0.7))] * 8
    ev = run(mon, frames)
    assert [e.track_id for e in ev] == [2]


def test_a_fall_confirms_after_fall_still_s_but_lying_down_slowly_waits_for_still_s():
    """A fast upright-to-lying change (a fall) needs ``fall_still_s`` on ``fall_still_frames``
    frames; lying down slowly, a stumble and a person still moving on the floor do not."""
    cfg = CollapseConfig(still_s=5.0, fall_window_s=2.0, fall_still_s=0.2, fall_still_frames=3)
    up, down = persons((1, STANDING, "upright", 0.1)), persons((1, LYING, "fallen", 0.7))
    ev = run(CollapseMonitor(cfg, camera_id="cam"), [up] * 5 + [down] * 3, dt_s=0.1)
    assert len(ev) == 1 and ev[0].started_s == pytest.approx(0.5) and ev[0].confirmed_s == pytest.approx(0.7)
    # 0.2 s at 30 frames/s is 7 frames: the frame count alone is not enough
    assert run(CollapseMonitor(cfg, camera_id="cam"), [up] * 5 + [down] * 4, dt_s=1 / 30) == []
    assert len(run(CollapseMonitor(cfg, camera_id="cam"), [up] * 5 + [down] * 7, dt_s=1 / 30)) == 1
    # sat (no clear posture: weak 'Fall' scores) for 3 s before lying: not a fall -> still_s
    sitting = persons((1, (95, 110, 150, 175), "fallen", 0.3))
    mon = CollapseMonitor(cfg, camera_id="cam")
    assert run(mon, [up] * 5 + [sitting] * 30 + [down] * 40, dt_s=0.1) == []  # lying 4 s < still_s
    assert mon.update(down, 8.4) == [] and len(mon.update(down, 8.5)) == 1  # lying still 5 s (from 3.5 s)
    # a stumble (two 'Fall' frames, then up again) and a person crawling after the fall: nothing
    assert run(CollapseMonitor(cfg, camera_id="cam"), [up] * 5 + [down] * 2 + [up] * 10, dt_s=0.1) == []
    crawl = [persons((1, (70 + 40 * i, 140, 190 + 40 * i, 180), "fallen", 0.8)) for i in range(20)]
    assert run(CollapseMonitor(cfg, camera_id="cam"), [up] * 5 + crawl, dt_s=0.1) == []


def test_collapse_transition_table_refuses_jumps():
    with pytest.raises(ValueError, match="ignored to confirmed"):
        _transition(TrackState.IGNORED, TrackState.CONFIRMED)


def test_crowding_density_hold_and_cooldown():
    cfg = CrowdingConfig(zone=[(0, 0), (200, 0), (200, 200), (0, 200)], zone_area_m2=10.0,
                         density_per_m2=1.0, min_people=5, hold_s=2.0, cooldown_s=60.0)
    mon = CrowdingMonitor(cfg, camera_id="cam")
    crowd = persons(*[(i, (10 * i, 100, 10 * i + 8, 150), "upright", 0.0) for i in range(12)])
    outside = persons(*[(i, (300, 100, 310, 150), "upright", 0.0) for i in range(12)])
    count, density, ev = mon.update(outside, (400, 300), 0.0)
    assert (count, density, ev) == (0, 0.0, [])
    events = []
    for k in range(15):
        count, density, ev = mon.update(crowd, (400, 300), 1.0 + k * 0.5)
        events += ev
    assert count == 12 and density == pytest.approx(1.2)
    assert len(events) == 1 and events[0].count == 12 and events[0].duration_s == pytest.approx(2.0)


def test_crowding_without_ground_area_counts_but_never_raises():
    mon = CrowdingMonitor(CrowdingConfig(min_people=1, hold_s=0.0), camera_id="cam")
    crowd = persons(*[(i, (10 * i, 100, 10 * i + 8, 150), "upright", 0.0) for i in range(30)])
    count, density, ev = mon.update(crowd, (400, 300), 0.0)
    assert count == 30 and density is None and ev == []
    assert count_in_zone(Detections.empty(), mon._zone_px) == 0


def test_hidden_tracked_people_still_count_for_a_moment():
    """A person hidden behind another for a few frames is still there; one who walked out of
    the picture, a one-frame blip, or someone gone longer than hold_s is not."""
    from disaster_ops.detect import CameraDetectConfig as Cfg
    from disaster_ops.people.analyzer import PeopleAnalyzer

    hidden = HiddenPeople(hold_s=0.6, min_frames=3, edge_px=10)
    a, b, edge = (1, (100, 50, 130, 150), "upright", 0.0), (2, (200, 50, 230, 150), "upright", 0.0), (
        3, (390, 50, 400, 150), "upright", 0.0)
    for t in (0.0, 0.2, 0.4):
        assert len(hidden.update(persons(a, b, edge), (400, 300), t)) == 0
    assert len(hidden.update(persons((4, (300, 60, 320, 120), "upright", 0.0)), (400, 300), 0.5)) == 2  # a, b
    gone = hidden.update(persons(a), (400, 300), 0.6)
    assert gone.data["track_id"].tolist() == [2] and gone.xyxy[0].tolist() == [200, 50, 230, 150]
    assert len(hidden.update(persons(a), (400, 300), 1.1)) == 0  # b unseen 0.7 s > hold_s; 4 seen once
    # in the analyzer: count = detected + hidden, "hidden" says how many of them were not seen
    an = PeopleAnalyzer("cam", Cfg(kinds=["person"]), fps=5.0)
    frame = np.zeros((300, 400, 3), np.uint8)
    both = Detections(np.array([a[1], b[1]], np.float32), np.full(2, 0.8, np.float32), np.full(2, "person", object),
                      data={"posture": np.array(["upright"] * 2, object), "fall_score": np.zeros(2, np.float32)})
    for k in range(4):
        pf = an.update(both, frame, k * 0.2)
    assert (pf.count, pf.hidden) == (2, 0)
    pf = an.update(both[np.array([True, False])], frame, 0.8)
    assert (pf.count, pf.hidden, len(pf.persons)) == (2, 1, 1) and pf.to_json()["hidden"] == 1


def test_loitering_dwell_and_grace():
    zone = LoiterZone(name="bridge", polygon=[(0, 0), (100, 0), (100, 100), (0, 100)], max_dwell_s=5.0,
                      leave_grace_s=1.0)
    mon = LoiteringMonitor([zone], camera_id="cam")
    inside = persons((3, (40, 20, 60, 80), "upright", 0.0))
    away = persons((3, (240, 20, 260, 80), "upright", 0.0))
    frames = [inside] * 10 + [away] * 2 + [inside] * 10 + [away] * 10 + [inside] * 30  # dt 0.5 s
    events = []
    for i, f in enumerate(frames):
        events += mon.update(f, i * 0.5)
    stays = mon.stays()
    assert [round(s.dwell_s, 1) for s in stays] == [10.5, 14.5]  # the 1 s outside is within the grace
    assert len(events) == 2 and {e.zone for e in events} == {"bridge"}


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"kinds": ["person", "violence"]}, "unknown kinds"),
        ({"people": {"crowding": {"density_per_m2": -1}}}, "density_per_m2"),
        ({"people": {"loitering": [{"name": "a", "polygon": [[0, 0], [1, 1]]}]}}, "polygon"),
        ({"people": {"loitering": [{"name": "a", "polygon": [[0, 0], [9, 0], [9, 9]]},
                                   {"name": "a", "polygon": [[0, 0], [9, 0], [9, 9]]}]}}, "repeat"),
        ({"people": {"collapse": {"still_s": 1, "colour": "red"}}}, "colour"),
    ],
)
def test_bad_people_settings_name_the_field(data, where):
    with pytest.raises(ValidationError, match=where):
        CameraDetectConfig.model_validate(data)


def test_people_settings_round_trip_with_camera_settings():
    cfg = CameraDetectConfig(kinds=["fire", "person", "collapse"],
                             people=PeopleConfig(collapse=CollapseConfig(still_s=8)))
    back = CameraDetectConfig.model_validate_json(cfg.model_dump_json(exclude_defaults=True))
    assert back == cfg and back.people_kinds() == ["person", "collapse"]


def test_person_falling_onto_a_fall_lookalike_still_collapses():
    """UR Fall 18: a mat the model calls 'Fall' has its own (ignored) track; the person falls
    onto it and ByteTrack hands the mat's track to them."""
    mat = (60, 168, 115, 221)
    mon = CollapseMonitor(CollapseConfig(still_s=1.0), camera_id="cam")
    frames = ([persons((1, STANDING, "upright", 0.1), (2, mat, "fallen", 0.6))] * 3
              + [persons((2, (60, 150, 180, 221), "fallen", 0.7))] * 8)
    ev = run(mon, frames)
    assert [e.track_id for e in ev] == [2]
    mon = CollapseMonitor(CollapseConfig(still_s=1.0), camera_id="cam")
    walk_past = ([persons((1, STANDING, "upright", 0.1), (2, mat, "fallen", 0.6))] * 3
                 + [persons((2, mat, "fallen", 0.6))] * 20)
    assert run(mon, walk_past) == []  # the mat itself never changed: still no collapse
