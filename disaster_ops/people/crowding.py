"""Crowding (밀집): people count and density in a zone or the whole view.

Density is persons per square metre of *ground*: the zone's pixel polygon is projected to
the ground with the camera's pixel->ground model (``geo.projection``) and its area taken
in the local metric frame, unless the operator gave ``zone_area_m2`` (measured on site).
A person is in the zone when the bottom centre of their box (their feet) is. Crowding is
raised once the density has stayed at or above ``density_per_m2`` (with at least
``min_people``) for ``hold_s``.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely

from disaster_ops.detect.records import Detections
from disaster_ops.people.config import CrowdingConfig
from disaster_ops.people.events import PeopleEvent, PeopleEventKind
from geo.crs import LocalFrame
from geo.projection import pixel_polygon_to_ground

logger = logging.getLogger(__name__)
CROWD_ZONE = "view"


def zone_polygon_px(config: CrowdingConfig, frame_wh: tuple[int, int]) -> shapely.Polygon:
    """The counted zone in pixels: the configured polygon, or the whole frame."""
    if config.zone:
        return shapely.Polygon(config.zone)
    w, h = frame_wh
    return shapely.box(0, 0, w, h)


def ground_area_m2(model, polygon_px: shapely.Polygon, *, max_range_m: float = 200.0) -> float | None:
    """Ground area seen inside ``polygon_px`` (m^2), None when it does not reach the ground.

    Outline points above the horizon or beyond ``max_range_m`` are dropped, so the whole
    view of a tilted camera has a finite area (set a zone below the horizon for accuracy).
    """
    ground = pixel_polygon_to_ground(model, polygon_px, max_range_m=max_range_m)
    if ground.is_empty:
        return None
    c = ground.centroid
    area = float(LocalFrame.around(c.y, c.x).geom_to_m(ground).area)
    return area if area > 0 else None


def count_in_zone(persons: Detections, polygon_px: shapely.Polygon) -> int:
    """People whose feet (box bottom centre) lie inside the pixel polygon."""
    if not len(persons):
        return 0
    feet = shapely.points((persons.xyxy[:, 0] + persons.xyxy[:, 2]) / 2, persons.xyxy[:, 3] - 0.5)
    return int(shapely.covers(polygon_px, feet).sum())


class CrowdingMonitor:
    """Crowding events of one camera."""

    def __init__(self, config: CrowdingConfig, *, camera_id: str, ground_model=None, warn: bool = True) -> None:
        self.config = config
        self.camera_id = camera_id
        self.ground_model = ground_model
        self._zone_px: shapely.Polygon | None = None
        self._area_m2: float | None = None
        self.zone_ground: shapely.Geometry | None = None  # the counted zone on the ground (WGS84), when known
        self._above_since_s: float | None = None
        self._last_raised_s: float | None = None
        self._warned = not warn  # say once when crowding is on but no density can be had

    @property
    def zone_px(self) -> shapely.Polygon | None:
        """The counted zone in pixels once the first frame fixed it (None before)."""
        return self._zone_px

    @property
    def known_area_m2(self) -> float | None:
        """The zone's ground area once the first frame fixed it (None before, or unknown)."""
        return self._area_m2

    def area_m2(self, frame_wh: tuple[int, int]) -> float | None:
        if self._zone_px is None:
            self._zone_px = zone_polygon_px(self.config, frame_wh)
            if self.ground_model is not None:
                try:
                    g = pixel_polygon_to_ground(self.ground_model, self._zone_px, max_range_m=200.0)
                    self.zone_ground = None if g.is_empty else g
                except Exception:  # a pose that cannot project: counts without a drawn zone
                    logger.exception("%s: crowding zone not projected to the ground", self.camera_id)
            if self.config.zone_area_m2 is not None:
                self._area_m2 = self.config.zone_area_m2
            elif self.ground_model is not None:
                self._area_m2 = ground_area_m2(self.ground_model, self._zone_px)
            if self._area_m2 is None and not self._warned:
                logger.warning("%s: no ground area for the crowding zone (no calibration, no zone_area_m2): "
                               "counts only, no density", self.camera_id)
                self._warned = True
        return self._area_m2

    def update(self, persons: Detections, frame_wh: tuple[int, int], now_s: float
               ) -> tuple[int, float | None, list[PeopleEvent]]:
        """(count in zone, density persons/m^2 or None, new crowding events) of one frame."""
        cfg = self.config
        area = self.area_m2(frame_wh)
        count = count_in_zone(persons, self._zone_px)
        density = count / area if area else None
        above = density is not None and density >= cfg.density_per_m2 and count >= cfg.min_people
        if not above:
            self._above_since_s = None
            return count, density, []
        if self._above_since_s is None:
            self._above_since_s = now_s
        if now_s - self._above_since_s + 1e-9 < cfg.hold_s:
            return count, density, []
        if self._last_raised_s is not None and now_s - self._last_raised_s <= cfg.cooldown_s:
            return count, density, []
        self._last_raised_s = now_s
        x1, y1, x2, y2 = self._zone_px.bounds
        conf = float(np.clip(density / (2 * cfg.density_per_m2), 0.5, 1.0))
        logger.info("%s: crowding raised (%d people, %.2f /m2)", self.camera_id, count, density)
        return count, density, [PeopleEvent(PeopleEventKind.CROWDING, self.camera_id, self._above_since_s, now_s,
                                            (x1, y1, x2, y2), conf, zone=CROWD_ZONE if not cfg.zone else "zone",
                                            count=count, density_per_m2=density)]
