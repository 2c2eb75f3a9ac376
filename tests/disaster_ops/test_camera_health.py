"""Camera health stays true when the watcher stops or dies, and a frozen picture is stale."""

from __future__ import annotations

import time
from datetime import timedelta

import cv2
import numpy as np
from sqlmodel import Session, select

from disaster_ops.capture import FrameSource, SourceState
from disaster_ops.config import CameraHealthRules
from disaster_ops.services.cameras import camera_as_dict, camera_health, import_registry
from disaster_ops.services.watch import Watcher, cameras_to_watch
from disaster_ops.storage.models import Camera, CameraStatus
from tests.conftest import REPO

DEMO_CAMERAS = REPO / "sample_data" / "cameras_demo.geojson"
RULES = CameraHealthRules(stale_after_s=15, frozen_after_s=30, offline_after_s=60, heartbeat_ttl_s=30)




def _row(engine, key: str) -> Camera:
    with Session(engine) as s:
        return s.exec(select(Camera).where(Camera.source_key == key)).one()


def _watcher(engine):
    from disaster_ops.detect import create_detector

    import_registry(DEMO_CAMERAS, engine=engine)
    cams = cameras_to_watch(engine=engine)
    return Watcher(cams, engine=engine, detector=create_detector(), sample_fps=2.0, replay=True,
                   health_interval_s=0.5), cams[0].source_key


def test_stopped_watcher_cameras_turn_stale_then_offline(engine, data_dir):
    w, key = _watcher(engine)
    w.run(duration_s=3.0)
    row = _row(engine, key)
    h = camera_health(row, rules=RULES)
    assert h.status is CameraStatus.STALE and row.last_error == "watcher stopped"
    assert row.last_frame_at is not None
    later = camera_health(row, now=row.last_frame_at + timedelta(seconds=61), rules=RULES)
    assert later.status is CameraStatus.OFFLINE
    assert camera_as_dict(row)["status"] in ("stale", "offline")


def test_dead_watcher_heartbeat_expires(engine, data_dir):
    w, key = _watcher(engine)
    w.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _row(engine, key).status != CameraStatus.ONLINE.value:
        w.tick()
        time.sleep(0.3)
    for x in w.watched.values():  # the process "dies": no close(), no final write
        x.source.stop()
    row = _row(engine, key)
    assert camera_health(row, rules=RULES).status is CameraStatus.ONLINE  # heartbeat still holds
    after_ttl = row.health_expires_at + timedelta(seconds=1)
    assert camera_health(row, now=after_ttl, rules=RULES).status is CameraStatus.STALE
    assert camera_health(row, now=row.last_frame_at + timedelta(seconds=90),
                         rules=RULES).status is CameraStatus.OFFLINE


def test_frozen_picture_is_stale_and_a_moving_one_online(tmp_path):
    frozen = tmp_path / "frozen.avi"
    vw = cv2.VideoWriter(str(frozen), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    for _ in range(40):
        vw.write(img)
    vw.release()
    still = FrameSource("still", str(frozen), replay=True, frozen_after_s=1.0, stale_after_s=5.0).start()
    live = FrameSource("live", str(REPO / "sample_data" / "videos" / "house6.mp4"), replay=True,
                       frozen_after_s=1.0, stale_after_s=5.0).start()
    try:
        time.sleep(2.5)
        state, reason = still.health()
        assert state is SourceState.STALE and "frozen" in reason
        assert live.health()[0] is SourceState.ONLINE
    finally:
        still.stop()
        live.stop()


def test_disabled_camera_is_reported_disabled(engine):
    import_registry(DEMO_CAMERAS, engine=engine)
    with Session(engine) as s:
        cam = s.exec(select(Camera)).one()
        cam.status = CameraStatus.DISABLED
        s.add(cam)
        s.commit()
        s.refresh(cam)
        assert camera_health(cam).status is CameraStatus.DISABLED
