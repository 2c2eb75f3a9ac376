"""Aerial frames through the same detectors, geo-referenced from the drone pose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import shapely

from disaster_ops.services.aerial import AerialDetector, AerialFrame, DronePose
from disaster_ops.services.incidents import detections_of, list_incidents
from geo.crs import LocalFrame
from tests.conftest import shared_path

DRONE = DronePose(lat=35.1000, lon=129.0400, alt_agl_m=100.0, yaw_deg=0.0)


def _flood_image():
    """A real aerial flood photo whose water mask covers a good share of the frame."""
    folder = shared_path("flood_aerial", "images")
    masks = folder.parent / "masks"
    for img_path in sorted(folder.glob("*.jpg")):
        m = cv2.imread(str(masks / (img_path.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        if m is not None and 0.4 < (m > 127).mean() < 0.8:
            return cv2.imread(str(img_path))
    raise AssertionError("no suitable flood photo")


def test_aerial_flood_becomes_drone_incident_under_the_drone(engine, data_dir):
    img = _flood_image()
    det = AerialDetector("drone-1", hfov_deg=84.0, engine=engine)
    t0 = datetime(2026, 8, 10, 3, 0, tzinfo=UTC)
    results = []
    for i in range(5):  # confirmation needs 3 of the last 5 frames
        results += det.process(AerialFrame(img, t0 + timedelta(seconds=i), DRONE, index=i))
    assert results, "flood never confirmed on a real flood photo"
    [inc] = list_incidents(engine=engine)
    assert inc.kind == "flood"
    d = detections_of(inc.id, engine=engine)[0]
    assert d.source_kind == "drone" and d.source_id == "drone-1"
    # Nadir at 100 m with an 84° lens sees about 180 m across: the water lies under the drone.
    f = LocalFrame.around(DRONE.lat, DRONE.lon)
    x0, y0 = f.to_xy_m(DRONE.lat, DRONE.lon)
    area = f.geom_to_m(shapely.from_geojson(inc.geometry_geojson))
    assert area.distance(shapely.Point(x0, y0)) < 100
    h, w = img.shape[:2]
    half_w = 100.0 * np.tan(np.radians(42.0))
    assert area.area < (2 * half_w) * (2 * half_w * h / w) * 1.2  # never more than the image footprint
