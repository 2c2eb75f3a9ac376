"""Retention of person images: each camera's 보관일수 from the registry, real SQLite rows
and files of several ages, a second store registered through the interface (the shape
the sightings store uses), dry runs, the CLI, and the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from disaster_ops.registry.readers import retention_days
from disaster_ops.services import evidence, retention
from disaster_ops.storage.db import session_scope
from disaster_ops.storage.models import AuditEvent, Camera, Detection
from tests.conftest import REPO, run_cli

NOW = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)


def _file(data_dir, name: str):
    p = data_dir / "snapshots" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"\xff\xd8\xff\xe0 person image \xff\xd9")
    return p


@pytest.fixture
def crops_table(engine):
    """A person-crop store like the sightings one: camera_key, captured_at, crop_path."""
    md = sa.MetaData()
    t = sa.Table("test_person_crop", md, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("camera_key", sa.String(200)), sa.Column("captured_at", sa.DateTime(timezone=True)),
                 sa.Column("crop_path", sa.String(1000)))
    md.create_all(engine)
    store = retention.TrackedFiles("test_crops", t, "crop_path", "camera_key", "captured_at",
                                   retention.Expiry.DELETE_ROW)
    retention.register(store)
    yield t
    retention._STORES.pop("test_crops", None)


def _seed(engine, data_dir, crops):
    """Cameras keeping 7 days (registry), 60 days (registry), and none (default 30 days);
    people snapshots and crops of each at 3, 10, 45 and 90 days; one fire snapshot at 90 days."""
    with session_scope(engine) as s:
        s.add(Camera(source_key="K7", name="7 days", lat=35.1, lon=129.03, retention_days=7))
        s.add(Camera(source_key="K60", name="60 days", lat=35.1, lon=129.04, retention_days=60))
        s.add(Camera(source_key="KD", name="default", lat=35.1, lon=129.05))
    expect_gone, expect_kept = set(), set()
    keep = {"K7": 7, "K60": 60, "KD": 30, "GONE": 30}  # GONE: a camera no longer in the registry
    rows, crop_rows = [], []
    for key, days in keep.items():
        for age in (3, 10, 45, 90):
            at = NOW - timedelta(days=age)
            snap = _file(data_dir, f"{key}_{age}_collapse.jpg")
            crop = _file(data_dir, f"crop_{key}_{age}.jpg")
            rows.append(Detection(source_kind="cctv", source_id=key, observed_at=at, kind="collapse",
                                  snapshot_path=str(snap)))
            crop_rows.append({"camera_key": key, "captured_at": at, "crop_path": str(crop)})
            (expect_gone if age > days else expect_kept).update({snap, crop})
    fire = _file(data_dir, "K7_90_fire.jpg")  # not a person image: retention leaves it
    rows.append(Detection(source_kind="cctv", source_id="K7", observed_at=NOW - timedelta(days=90), kind="fire",
                          snapshot_path=str(fire)))
    expect_kept.add(fire)
    with session_scope(engine) as s:
        s.add_all(rows)
        s.execute(crops.insert(), crop_rows)
    return expect_gone, expect_kept


def test_retention_follows_each_cameras_days(engine, data_dir, crops_table):
    gone, kept = _seed(engine, data_dir, crops_table)
    # a blurred copy that was served for one expired snapshot goes with it
    victim = next(p for p in gone if p.name == "K7_10_collapse.jpg")
    cached = evidence.blurred_copy_path(victim.resolve(), root=data_dir)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"blurred")

    dry = retention.run(now=NOW, dry_run=True, engine=engine, default_days=30, data_root=data_dir)
    assert sum(dry.expired.values()) == len(gone)
    assert all(p.exists() for p in gone | kept) and cached.exists()  # a dry run deletes nothing
    assert {i.path for i in dry.items} == {str(p) for p in gone}

    rep = retention.run(now=NOW, engine=engine, default_days=30, data_root=data_dir)
    assert rep.errors == [] and rep.files_deleted == len(gone)
    assert not any(p.exists() for p in gone) and not cached.exists()
    assert all(p.exists() for p in kept)
    with Session(engine) as s:
        dets = s.exec(select(Detection)).all()
        crops = s.execute(sa.select(crops_table)).all()
    # people detections stay (the incident's history) without their image; crops rows go
    assert len(dets) == 17
    assert {d.snapshot_path for d in dets if d.snapshot_path} == {str(p) for p in kept if "crop_" not in p.name}
    assert {r.crop_path for r in crops} == {str(p) for p in kept if p.name.startswith("crop_")}
    assert rep.paths_cleared + rep.rows_deleted == len(gone)
    # nothing more to do: a second run finds nothing
    again = retention.run(now=NOW, engine=engine, default_days=30, data_root=data_dir)
    assert sum(again.expired.values()) == 0 and again.files_deleted == 0
    # audited as the system component, dry runs marked
    with Session(engine) as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "retention.run")).all()
    assert {(e.actor, e.role) for e in ev} == {("retention", "system")}
    # three stores (people snapshots, person sightings, the test crops) x (dry run, run, run again)
    assert sorted(json.loads(e.details_json)["dry_run"] for e in ev) == [False] * 6 + [True] * 3
    real = sorted((e for e in ev if not json.loads(e.details_json)["dry_run"]), key=lambda e: e.id)[:3]
    by_store = {e.object_id: json.loads(e.details_json) for e in real}  # the first real run
    assert by_store["people_snapshots"]["paths_cleared"] + by_store["test_crops"]["rows_deleted"] == len(gone)
    assert by_store["people_snapshots"]["rows_deleted"] == 0 and by_store["test_crops"]["paths_cleared"] == 0


def test_a_missing_file_still_clears_its_row_and_an_undeletable_one_keeps_it(engine, data_dir, crops_table):
    with session_scope(engine) as s:
        s.add(Camera(source_key="K1", name="1 day", lat=35.1, lon=129.03, retention_days=1))
    old = NOW - timedelta(days=5)
    locked_dir = data_dir / "snapshots" / "locked"
    locked_dir.mkdir(parents=True)
    locked = locked_dir / "x.jpg"
    locked.write_bytes(b"x")
    with session_scope(engine) as s:
        s.execute(crops_table.insert(), [{"camera_key": "K1", "captured_at": old,
                                          "crop_path": str(data_dir / "snapshots" / "already-gone.jpg")},
                                         {"camera_key": "K1", "captured_at": old, "crop_path": str(locked)}])
    locked_dir.chmod(0o500)
    try:
        rep = retention.run(now=NOW, engine=engine, default_days=30, data_root=data_dir, only=["test_crops"])
    finally:
        locked_dir.chmod(0o700)
    with Session(engine) as s:
        left = [r.crop_path for r in s.execute(sa.select(crops_table))]
    import os

    if os.geteuid() == 0:  # root may delete anyway: then both rows go
        assert left == [] or left == [str(locked)]
    else:
        assert left == [str(locked)] and len(rep.errors) == 1 and str(locked) in rep.errors[0]


def test_registry_retention_days_are_imported(engine):
    from disaster_ops.services.cameras import import_registry

    rep = import_registry(REPO / "sample_data" / "busan_junggu_cctv_2024.csv", engine=engine)
    assert rep.imported > 0
    with Session(engine) as s:
        days = set(s.exec(select(Camera.retention_days)).all())
    assert days == {30}  # the Busan Jung-gu rows all say 30
    assert [retention_days(t) for t in ("30", "30일", " 14 days", "30.0", "", "한달", "0", "99999")] == [
        30, 30, 14, 30, None, None, None, None]
    pol = retention.policies(engine=engine, default_days=10)
    assert {p.days for p in pol.values()} == {30} and {p.source for p in pol.values()} == {"registry"}


def test_cli_dry_run_and_run(engine, data_dir):
    with session_scope(engine) as s:
        s.add(Camera(source_key="K7", name="7 days", lat=35.1, lon=129.03, retention_days=7))
    old = _file(data_dir, "old.jpg")
    new = _file(data_dir, "new.jpg")
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        s.add(Detection(source_kind="cctv", source_id="K7", observed_at=now - timedelta(days=8), kind="loitering",
                        snapshot_path=str(old)))
        s.add(Detection(source_kind="cctv", source_id="K7", observed_at=now - timedelta(days=1), kind="loitering",
                        snapshot_path=str(new)))
    r = run_cli("retention", "run", "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["dry_run"] is True and out["expired"]["people_snapshots"] == 1 and old.exists()
    assert [i["path"] for i in out["items"]] == [str(old)]
    r = run_cli("retention", "run", "--now", "not-a-time")
    assert r.returncode == 2 and "--now" in r.stderr
    r = run_cli("retention", "run")
    assert r.returncode == 0, r.stderr
    assert not old.exists() and new.exists() and "1 person image(s) past retention" in r.stderr


def test_the_watcher_runs_retention(engine, data_dir):
    """The watcher that owns the incident sweep also runs retention, off its tick thread,
    first at its first tick; one that leaves the sweep to a coordinator does not."""
    from disaster_ops.services.watch import Watcher

    with session_scope(engine) as s:
        s.add(Camera(source_key="K1", name="1 day", lat=35.1, lon=129.03, retention_days=1))
    old = _file(data_dir, "old_collapse.jpg")
    with session_scope(engine) as s:
        s.add(Detection(source_kind="cctv", source_id="K1", observed_at=datetime.now(UTC) - timedelta(days=2),
                        kind="collapse", snapshot_path=str(old)))
    w = Watcher([], engine=engine, allow_empty=True)
    try:
        w.tick()
        w._retention_thread.join(30)
        w.tick()  # not due again for retention.interval_s: no second run
        assert w._retention_thread is not None and not w._retention_thread.is_alive()
    finally:
        w.close()
    assert not old.exists()
    with Session(engine) as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "retention.run")).all()
    assert {e.actor for e in ev} == {"retention"} and {e.object_id for e in ev} == {"people_snapshots",
                                                                                    "person_sightings"}
    w2 = Watcher([], engine=engine, allow_empty=True, sweep_interval_s=None)
    try:
        assert w2.retention_interval_s is None
    finally:
        w2.close()


def test_missing_person_sightings_and_their_crops_expire(engine, data_dir):
    """The sightings store of missing-person search (person_sighting): rows and crops past
    the camera's days go (with or without a crop file); drone sightings follow the default."""
    from disaster_ops.storage.models import PersonSighting

    with session_scope(engine) as s:
        s.add(Camera(source_key="K7", name="7 days", lat=35.1, lon=129.03, retention_days=7))

    def sighting(key, age_days, crop):
        return PersonSighting(source_kind="cctv" if not key.startswith("drone:") else "drone", camera_key=key,
                              captured_at=NOW - timedelta(days=age_days), track_id=1, x1=0, y1=0, x2=10, y2=30,
                              lat=35.1, lon=129.03, attrs=b"\x00" * 54, crop_path=str(crop) if crop else None)

    old_crop, new_crop = _file(data_dir, "s_old.jpg"), _file(data_dir, "s_new.jpg")
    drone_old, drone_new = _file(data_dir, "d_old.jpg"), _file(data_dir, "d_new.jpg")
    with session_scope(engine) as s:
        s.add_all([sighting("K7", 8, old_crop), sighting("K7", 8, None), sighting("K7", 6, new_crop),
                   sighting("drone:sim-1", 31, drone_old), sighting("drone:sim-1", 29, drone_new)])
    rep = retention.run(now=NOW, engine=engine, default_days=30, data_root=data_dir, only=["person_sightings"])
    assert rep.expired == {"person_sightings": 3} and rep.rows_deleted == 3 and rep.files_deleted == 2
    assert not old_crop.exists() and not drone_old.exists() and new_crop.exists() and drone_new.exists()
    with Session(engine) as s:
        left = sorted(r.crop_path for r in s.exec(select(PersonSighting)))
    assert left == sorted([str(new_crop), str(drone_new)])
