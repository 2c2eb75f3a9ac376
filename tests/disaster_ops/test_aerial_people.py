"""Persons on real drone footage (P-DESTRE-derived campus views, read in place) become drone
sightings that missing-person search finds; a telemetry gap gives no sighting place.

The clips carry no telemetry, so each is driven with a fixed recorded pose: a DJI-style
``.SRT`` (the format ``aerial --srt`` reads) giving the same position and gimbal attitude for
every frame, 25 m up with the camera 60 degrees down. Positions are then checked against the
footprint that pose sees.
"""

from __future__ import annotations

import json
from datetime import timedelta

import shapely
from sqlmodel import select

from disaster_ops.config import AerialPeopleSettings
from disaster_ops.services import person_search as ps
from disaster_ops.services.aerial_worker import AerialWorker
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.db import session_scope
from disaster_ops.storage.models import PersonSighting, SourceKind, utcnow
from drone_link.telemetry.pose import PoseTrack
from drone_link.telemetry.srt import load_srt
from drone_link.video.files import iter_video_frames
from geo.aerial import aerial_pose, image_footprint
from geo.camera_model import CameraIntrinsics
from tests.conftest import run_cli, shared_path

CENTER = (35.1050, 129.0400)
ALT_M, PITCH_DEG, HFOV_DEG = 25.0, -60.0, 84.0
MANAGER = Principal("park.manager", Role.MANAGER)
PEOPLE = AerialPeopleSettings(enabled=True, every_n_frames=1, sightings_every_s=1.0)


def _srt_time(t: float) -> str:
    ms = round(t * 1000)
    return f"00:{ms // 60000:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def _fixed_pose_srt(path, *, frames: int = 150, fps: float = 10.0, gap_s: tuple[float, float] | None = None):
    """One subtitle per frame with the same pose; none inside ``gap_s`` (a telemetry gap)."""
    subs = []
    for i in range(frames):
        t = i / fps
        if gap_s and gap_s[0] <= t < gap_s[1]:
            continue
        subs.append(f"{i + 1}\n{_srt_time(t)} --> {_srt_time(t + 1 / fps)}\n<font size=\"28\">FrameCnt: {i + 1}\n"
                    f"[latitude: {CENTER[0]:.7f}] [longitude: {CENTER[1]:.7f}] [rel_alt: {ALT_M:.3f} abs_alt: 60.0] "
                    f"[gb_yaw: 0.0 gb_pitch: {PITCH_DEG} gb_roll: 0.0] </font>\n")
    path.write_text("\n".join(subs))
    return path


def _worker(engine, video, srt, *, drone: str = "m3e-people", fps: float = 1.0) -> AerialWorker:
    track = PoseTrack(max_age_s=0.5, max_gap_s=1.0)
    load_srt(srt, track)
    return AerialWorker(drone, str(video), track, engine=engine, sample_fps=fps, offline=True, hfov_deg=HFOV_DEG,
                        people=PEOPLE)


def _footprint() -> shapely.Polygon:
    pose = aerial_pose(lat=CENTER[0], lon=CENTER[1], alt_agl_m=ALT_M, yaw_deg=0.0, gimbal_pitch_deg=PITCH_DEG,
                       intrinsics=CameraIntrinsics.from_hfov(hfov_deg=HFOV_DEG, width_px=640, height_px=360))
    return image_footprint(pose, max_range_m=10 * ALT_M)


def _sightings(engine) -> list[PersonSighting]:
    with session_scope(engine) as s:
        rows = list(s.exec(select(PersonSighting).order_by(PersonSighting.id)).all())
        s.expunge_all()
    return rows


def test_people_detection_is_off_unless_configured(engine, tmp_path):
    video = shared_path("people", "drone_pdestre", "cam3.mp4")
    track = PoseTrack()
    load_srt(_fixed_pose_srt(tmp_path / "cam3.SRT", frames=20), track)
    w = AerialWorker("m3e-default", str(video), track, engine=engine, sample_fps=2.0, offline=True)
    assert w.people is None


def test_persons_on_real_drone_footage_are_stored_as_drone_sightings_and_found_by_description(engine, tmp_path):
    video = shared_path("people", "drone_pdestre", "cam3.mp4")
    t0 = utcnow()
    w = _worker(engine, video, _fixed_pose_srt(tmp_path / "cam3.SRT"))
    stats = w.run()
    t1 = utcnow()
    assert stats.georeferenced == stats.frames >= 14 and stats.unreferenced == 0
    assert stats.people_frames == stats.georeferenced and stats.persons >= stats.people_frames  # a crowd in view
    rows = _sightings(engine)
    assert len(rows) == stats.sightings >= 10
    assert {r.source_kind for r in rows} == {SourceKind.DRONE}
    assert {r.camera_key for r in rows} == {"drone:m3e-people"}
    assert len({r.track_id for r in rows}) >= 3
    fp = _footprint()
    outside = [(r.id, r.lat, r.lon) for r in rows if not fp.buffer(1e-6).contains(shapely.Point(r.lon, r.lat))]
    assert not outside, outside
    assert all(r.crop_path and (r.uncertainty_m or 0) >= 0 for r in rows)
    # A search by description over the run's time window returns these drone sightings ...
    # (Written by eye from cam3: a student walking away from the drone with a blue backpack
    # and blue jeans; not taken from the stored colours.)
    desc = ps.Description(upper=("blue",), lower=("blue",))
    res = ps.search(ps.SearchRequest("test: drone sightings by description", description=desc,
                                     since=t0 - timedelta(seconds=1), until=t1 + timedelta(seconds=1), limit=5),
                    principal=MANAGER, engine=engine)
    assert res.candidates and all(c.source_kind == "drone" for c in res.candidates)
    assert all(c.camera_key == "drone:m3e-people" for c in res.candidates)
    assert all(t0 - timedelta(seconds=1) <= c.captured_at.replace(tzinfo=t0.tzinfo) <= t1 + timedelta(seconds=1)
               for c in res.candidates)
    assert any("blue" in (c.upper_colour, c.lower_colour) for c in res.candidates)
    # ... and a window before the flight returns none of them.
    res = ps.search(ps.SearchRequest("test: window before the flight", description=desc,
                                     since=t0 - timedelta(hours=2), until=t0 - timedelta(hours=1)),
                    principal=MANAGER, engine=engine)
    assert not res.candidates


def test_a_telemetry_gap_gives_no_sighting_position(engine, tmp_path):
    video = shared_path("people", "drone_pdestre", "cam2.mp4")
    srt = _fixed_pose_srt(tmp_path / "cam2.SRT", gap_s=(4.0, 15.0))  # telemetry only for the first 4 s
    w = _worker(engine, video, srt, drone="m3e-gap")
    stored_after: list[tuple[bool, int]] = []  # (frame georeferenced, sightings stored so far)
    for frame in iter_video_frames(video, every_s=w.period_s):
        w.handle(frame)
        stored_after.append((w.track.pose_at(w.frame_time_s(frame)).georeferenced, len(_sightings(engine))))
    stats = w.stats
    assert stats.unreferenced >= 8 and stats.georeferenced >= 3
    assert stats.people_frames == stats.georeferenced  # the person detector never ran on a frame without a pose
    before_gap = max(n for ok, n in stored_after if ok)
    assert before_gap > 0, "persons in the georeferenced first seconds are stored"
    assert all(n == before_gap for ok, n in stored_after if not ok), stored_after  # nothing placed in the gap
    fp = _footprint()
    assert all(fp.buffer(1e-6).contains(shapely.Point(r.lon, r.lat)) for r in _sightings(engine))


def test_aerial_command_stores_drone_sightings_only_with_people_on(data_dir, tmp_path):
    video = shared_path("people", "drone_pdestre", "cam4.mp4")
    srt = _fixed_pose_srt(tmp_path / "cam4.SRT", frames=60)  # 6 s of telemetry, then a gap
    base = ("aerial", "--drone", "m3e-cli", "--video", str(video), "--srt", str(srt), "--fps", "1", "--json")
    r = run_cli(*base, timeout_s=300)
    assert r.returncode == 0, r.stderr[-2000:]
    off = json.loads(r.stdout)
    assert off["people_frames"] == off["sightings"] == 0
    r = run_cli(*base, "--people", "--people-every-n", "1", timeout_s=300)
    assert r.returncode == 0, r.stderr[-2000:]
    on = json.loads(r.stdout)
    assert on["people_frames"] == on["georeferenced"] >= 5 and on["unreferenced"] >= 8
    assert on["sightings"] > 0 and on["persons"] >= on["sightings"]
