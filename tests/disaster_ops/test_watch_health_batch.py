"""Camera health of a watcher's cameras is written in one statement per heartbeat (not a
read and a write per camera), with the same meaning as before: online while watched,
stale "watcher stopped" at a clean stop, a disabled camera untouched, offline kept."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from disaster_ops.cluster.simstream import open_source
from disaster_ops.detect import create_detector
from disaster_ops.services.watch import Watcher
from disaster_ops.storage.models import Camera, CameraStatus
from tests.conftest import shared_path

N = 60


def _seed(engine, clip) -> list[Camera]:
    now = datetime.now(UTC)
    rows = [dict(source_key=f"gg:{i:06d}", name=f"cam {i}", operator="", purpose="", address="", lat=37.3 + i * 1e-4,
                 lon=127.0, heading_deg=0.0, fov_deg=60.0, range_m=50.0, camera_count=1, mount_height_m=6.0,
                 tilt_deg=30.0, stream_url=f"sim:{clip}?fps=1&static=1&offset={i % 30}&width=320",
                 status="unknown", view_source="number", created_at=now, updated_at=now) for i in range(N)]
    with engine.begin() as c:
        c.execute(sa.insert(Camera.__table__), rows)
    with Session(engine) as s:
        cams = list(s.exec(select(Camera).order_by(Camera.id)))
        for c in cams:
            s.expunge(c)
    return cams


def _status(engine) -> dict[str, Camera]:
    with Session(engine) as s:
        return {c.source_key: c for c in s.exec(select(Camera))}


def test_health_is_one_update_per_heartbeat(engine, data_dir):
    clip = min(shared_path("videos", "normal_fixed").glob("*.mp4"))
    cams = _seed(engine, clip)
    w = Watcher(cams, engine=engine, detector=create_detector(), source_factory=open_source,
                sweep_interval_s=None, model_runs_per_s=2.0, health_interval_s=0.0)
    with engine.begin() as c:  # an operator disables one camera and another's stream had failed
        c.execute(sa.text("UPDATE camera SET status='disabled' WHERE source_key='gg:000001'"))
        c.execute(sa.text("UPDATE camera SET status='offline', last_error='no route' WHERE source_key='gg:000002'"))
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, params, context, executemany):
        if "camera" in statement and statement.lstrip().upper().startswith(("UPDATE", "SELECT")):
            seen.append((statement, executemany))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        w.start()
        w.tick()
        updates = [s for s in seen if s[0].lstrip().upper().startswith("UPDATE")]
        assert len(updates) == 1 and updates[0][1], seen  # one statement for all 60 cameras
        assert not [s for s in seen if s[0].lstrip().upper().startswith("SELECT")], seen  # no read per camera
        rows = _status(engine)
        online = [k for k, c in rows.items() if c.status == CameraStatus.ONLINE.value]
        assert len(online) == N - 1 and "gg:000001" not in online
        assert rows["gg:000001"].status == CameraStatus.DISABLED.value and rows["gg:000001"].health_expires_at is None
        assert all(rows[k].health_expires_at is not None and rows[k].last_frame_at is not None for k in online)
        with engine.begin() as c:  # its stream fails again before the stop
            c.execute(sa.text("UPDATE camera SET status='offline' WHERE source_key='gg:000003'"))
        seen.clear()
        w.close()
        assert len([s for s in seen if s[0].lstrip().upper().startswith("UPDATE")]) == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    rows = _status(engine)
    assert rows["gg:000000"].status == CameraStatus.STALE.value and rows["gg:000000"].last_error == "watcher stopped"
    assert rows["gg:000003"].status == CameraStatus.OFFLINE.value  # offline stays offline at a stop
    assert rows["gg:000001"].status == CameraStatus.DISABLED.value
