"""The people half of the watcher: real UR Fall footage (../shared/data) becomes one collapse
incident with its snapshot, and the watcher runs the person detector beside the hazard one.

``PeopleWatch`` is fed the clip's frames at their own timestamps (5 frames/s), so the result
does not depend on how fast this machine is; the second test checks the live wiring."""

import itertools
import time
from pathlib import Path
from types import SimpleNamespace

from sqlmodel import Session, select

from disaster_ops.detect.config import CameraDetectConfig
from disaster_ops.detect.frames import iter_video
from disaster_ops.services.incidents import detections_of, list_incidents
from disaster_ops.services.people_watch import PeopleWatch
from disaster_ops.services.watch import Watcher
from disaster_ops.storage.models import Camera, PersonSighting
from tests.conftest import shared_path


def _camera(engine, clip: Path, kinds: str) -> Camera:
    cam = Camera(source_key="cam:room-1", name="room 1", lat=35.1, lon=129.03, heading_deg=90.0,
                 stream_url=str(clip), detect_config=f'{{"kinds": {kinds}}}')
    with Session(engine) as s:
        s.add(cam)
        s.commit()
        s.refresh(cam)
    return cam


def test_fall_becomes_one_collapse_incident_with_snapshot(engine, data_dir, tmp_path):
    clip = shared_path("people", "fall_urfall", "fall-01-cam0.mp4")  # stands 3.4 s, then lies 1.9 s
    cam = _camera(engine, clip, '["person", "collapse"]')
    # UR Fall clips end within ~2 s of the fall, so N (still_s) is 0.5 s here (default 5 s)
    cfg = CameraDetectConfig(kinds=["person", "collapse"], people={"collapse": {"still_s": 0.5}})
    pw = PeopleWatch({cam.source_key: (cam, cfg)}, sample_fps=5.0, snapshot_dir=tmp_path)
    t0 = 1_795_000_000.0
    for _ in range(2):  # the clip twice in a row: the same person at the same place, one incident
        for sf in iter_video(clip, fps=3.0):
            frame = SimpleNamespace(image=sf.image, captured_at_s=t0 + sf.time_s, index=sf.frame_index)
            pw.tick({cam.source_key: frame}, engine=engine)
        t0 += 6.0
    assert pw.stats.events == {"collapse": 1}
    incidents = list_incidents(engine=engine)
    assert [i.kind for i in incidents] == ["collapse"]
    dets = detections_of(incidents[0].id, engine=engine)
    assert len(dets) == 1 and dets[0].kind == "collapse" and Path(dets[0].snapshot_path).is_file()
    assert abs(dets[0].ground_lat - cam.lat) < 0.01 and abs(dets[0].ground_lon - cam.lon) < 0.01
    # missing-person search: the tracked person left sightings, at most one per track per 2 s
    # (the default), each with its camera, time, ground point near the camera and a crop file
    # under the data dir (what retention deletes by camera and age)
    with Session(engine) as s:
        seen = list(s.exec(select(PersonSighting).order_by(PersonSighting.captured_at)))
    assert seen and pw.stats.sightings == len(seen)
    assert {r.camera_key for r in seen} == {cam.source_key}
    assert all(abs(r.lat - cam.lat) < 0.01 and abs(r.lon - cam.lon) < 0.01 for r in seen)
    assert all(r.crop_path and Path(r.crop_path).is_file() and Path(r.crop_path).is_relative_to(data_dir)
               for r in seen)
    for tid in {r.track_id for r in seen}:
        ts = [r.captured_at.timestamp() for r in seen if r.track_id == tid]
        assert all(b - a >= 2.0 - 1e-3 for a, b in itertools.pairwise(ts))
    # the map's density layer: the camera's newest count over its view's ground area
    from disaster_ops.services.people_density import density_views

    views = density_views(max_age_s=1e9, engine=engine)
    assert [v.camera_key for v in views] == [cam.source_key]
    assert views[0].area_m2 and views[0].zone_geojson and views[0].count in (0, 1)


def test_watcher_runs_people_detectors_only_for_cameras_that_ask(engine, data_dir):
    clip = shared_path("people", "fall_urfall", "fall-01-cam0.mp4")
    cam = _camera(engine, clip, '["fire", "person", "collapse"]')
    w = Watcher([cam], engine=engine, sample_fps=5.0, replay=True)
    assert w.people and list(w.people.cameras) == ["cam:room-1"]
    w.start()
    try:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and w.people.stats.frames < 2:
            w.tick()
            time.sleep(0.1)
    finally:
        w.close()
    assert w.people.stats.frames >= 2 and w.stats.errors == 0
    assert not Watcher([cam.model_copy(update={"detect_config": None})], engine=engine).people
