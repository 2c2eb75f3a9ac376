"""What the map asks the database for: only what is in view, aggregated when zoomed out."""

from __future__ import annotations

import pytest

from disaster_ops.errors import InputError
from disaster_ops.services import cop
from disaster_ops.services.cameras import BBox, import_registry
from tests.conftest import REPO

BUSAN = BBox(129.0, 35.08, 129.06, 35.12)


@pytest.fixture
def cameras(engine):
    import_registry(REPO / "sample_data" / "busan_junggu_cctv_2024.csv", engine=engine)
    return engine


def test_zoomed_in_gives_cameras_zoomed_out_gives_counts_that_add_up(cameras):
    close = cop.camera_overview(BUSAN, 16, engine=cameras)
    assert not close.aggregated and close.total_in_view == len(close.markers) == 408
    far = cop.camera_overview(BUSAN, 11, engine=cameras)
    assert far.aggregated and not far.markers
    assert sum(c.count for c in far.cells) == far.total_in_view == 408
    assert len(far.cells) < 408 / 4  # the point of aggregating
    for c in far.cells:  # each cell's mean position lies inside its own cell
        assert c.min_lat - 1e-9 <= c.lat <= c.max_lat + 1e-9 and c.min_lon - 1e-9 <= c.lon <= c.max_lon + 1e-9
    half = BBox(129.0, 35.08, 129.03, 35.12)
    part = cop.camera_overview(half, 16, engine=cameras)
    assert 0 < part.total_in_view < 408 and all(m.lon <= 129.03 for m in part.markers)


def test_view_bbox_from_map_bounds_and_rubbish():
    b = cop.view_bbox({"_southWest": {"lat": 35.0, "lng": 129.0}, "_northEast": {"lat": 35.1, "lng": 129.2}})
    assert b == pytest.approx(BBox(128.98, 34.99, 129.22, 35.11))
    assert cop.view_bbox(None) is None
    assert cop.view_bbox({"_southWest": {"lat": None, "lng": 1}, "_northEast": {}}) is None


def test_nearest_incidents_and_positions(engine):
    from datetime import UTC, datetime

    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.incidents import ingest

    for i, lat in enumerate((35.20, 35.11)):
        ingest([GroundDetection(source_kind="cctv", source_id=f"c{i}", observed_at=datetime.now(UTC), kind="fire",
                                confidence=0.9, bbox_px=(1, 1, 2, 2), ground_lat=lat, ground_lon=129.03)],
               engine=engine)
    near = cop.nearest_incidents(35.10, 129.03, engine=engine)
    assert [round(n.distance_m, -2) for n in near] == [1100.0, 11100.0]
    assert cop.compass_word(near[0].bearing_deg) == "N"
    assert cop.parse_position(" 35.1 , 129.0 ") == (35.1, 129.0)
    for bad in ("35.1", "north", "95, 10"):
        with pytest.raises(InputError):
            cop.parse_position(bad)


def test_drawn_area_is_checked_and_repaired():
    square = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
        [129.03, 35.10], [129.035, 35.10], [129.035, 35.104], [129.03, 35.104], [129.03, 35.10]]]}}
    assert cop.drawn_area(square).is_valid
    bowtie = {"type": "Polygon", "coordinates": [[[129.03, 35.10], [129.035, 35.104], [129.035, 35.10],
                                                  [129.03, 35.104], [129.03, 35.10]]]}
    assert cop.drawn_area(bowtie).is_valid  # self-crossing: repaired, not a GEOS error
    for bad in (None, {"type": "Point", "coordinates": [129, 35]},
                {"type": "Polygon", "coordinates": [[[129, 35], [129.5, 35], [129.5, 35.5], [129, 35]]]}):
        with pytest.raises(InputError):
            cop.drawn_area(bad)


def test_incident_popup_details_sources_timeline_and_a_small_snapshot(engine, tmp_path):
    """The map popup's details: distinct sources newest first, the timeline, and a
    thumbnail of the newest snapshot that is a real image inside the data folder."""
    from datetime import UTC, datetime, timedelta

    import cv2
    import numpy as np

    from disaster_ops.config import get_settings
    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.incidents import ingest

    snaps = get_settings().data_dir / "snapshots"
    snaps.mkdir(parents=True, exist_ok=True)
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:, :640] = (0, 0, 255)
    assert cv2.imwrite(str(snaps / "cam1.jpg"), frame)
    outside = tmp_path / "outside.jpg"  # a stored path that leaves the data folder
    assert cv2.imwrite(str(outside), frame)
    t0 = datetime.now(UTC) - timedelta(minutes=5)

    def det(source, minutes, snap=None, kind="fire"):
        return GroundDetection(source_kind="cctv", source_id=source, observed_at=t0 + timedelta(minutes=minutes),
                               kind=kind, confidence=0.8, bbox_px=(1, 1, 5, 5), ground_lat=35.103,
                               ground_lon=129.033, snapshot_path=snap)

    inc = ingest([det("cam-1", 0, str(snaps / "cam1.jpg"))], engine=engine)[0].incident_id
    ingest([det("<img src=x onerror=alert(1)>", 1), det("cam-1", 2, str(outside), kind="smoke")], engine=engine)
    d = cop.incident_details([inc], timeline_limit=2, engine=engine)[inc]
    assert d.sources == ("cctv:cam-1", "cctv:<img src=x onerror=alert(1)>")
    assert [e.kind for e in d.timeline] == ["smoke", "fire"] and len(d.timeline) == 2
    assert d.first_seen_utc == t0.strftime("%Y-%m-%d %H:%M:%S UTC")
    # The newest snapshot is outside the data folder: never read; the one before is shown.
    thumb = cv2.imdecode(np.frombuffer(d.snapshot_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape[:2] == (90, 160) and len(d.snapshot_jpeg) < 8000
    assert d.snapshot_utc == t0.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert cop.incident_details([], engine=engine) == {}
