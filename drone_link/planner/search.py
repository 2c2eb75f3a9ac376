"""Search patterns around a point (missing person, hot spot): expanding square and sector search.

Both follow the IAMSAR manual. Expanding square: legs of 1, 1, 2, 2, 3, 3 ...
track spacings, turning 90 degrees right each time, until the square reaches the
search radius. Sector search: three equilateral triangles of side ``radius_m``
through the datum with 120 degree right turns (each outbound leg continues the
previous return leg), optionally a second pass rotated by 30 degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from drone_link.mission import Mission
from drone_link.planner.build import make_mission, mission_items
from drone_link.planner.errors import PlanningError
from drone_link.planner.path import Action, CameraOff, CameraOn, Waypoint, path_length_m, turn_count
from drone_link.planner.report import PlanReport
from drone_link.planner.spec import SurveySpec
from drone_link.planner.triggers import (
    Photo,
    covered_share,
    footprints,
    swept_footprints,
    trigger_points,
)
from geo.crs import LocalFrame


@dataclass
class SearchPlan:
    """A search pattern flight: mission, metric path, photos, searched area and report."""

    mission: Mission
    actions: list[Action]
    photos: list[Photo]
    area_m: shapely.Polygon
    frame: LocalFrame
    footprint_m: tuple[float, float]
    report: PlanReport

    def path_latlon(self) -> list[tuple[float, float]]:
        wps = [a for a in self.actions if isinstance(a, Waypoint)]
        lat, lon = self.frame.to_latlon([w.x_m for w in wps], [w.y_m for w in wps])
        return list(zip(np.atleast_1d(lat).tolist(), np.atleast_1d(lon).tolist()))


def _heading_vec(heading_deg: float) -> tuple[float, float]:
    h = math.radians(heading_deg)
    return math.sin(h), math.cos(h)  # east, north


def expanding_square(lat: float, lon: float, survey: SurveySpec, *, radius_m: float,
                     heading_deg: float = 0.0, track_spacing_m: float | None = None,
                     home_latlon: tuple[float, float] | None = None) -> SearchPlan:
    """Expanding square search centred on (lat, lon) covering a square of half-side ``radius_m``."""
    if radius_m <= 0:
        raise PlanningError(f"radius_m must be positive, got {radius_m}")
    warnings: list[str] = []
    alt = survey.resolve_altitude(warnings)
    width, height, spacing, trig = survey.swath_geometry(alt)
    s = track_spacing_m or spacing
    frame = LocalFrame.around(lat, lon)
    cx, cy = (float(v) for v in frame.to_xy_m(lat, lon))
    pts = [(cx, cy)]
    h, k, x, y = heading_deg, 1, cx, cy
    while True:
        for _ in range(2):
            e, n = _heading_vec(h)
            x, y = x + e * k * s, y + n * k * s
            pts.append((x, y))
            h += 90.0
        if k * s / 2 >= radius_m + s / 2:
            break
        k += 1
    area = shapely.affinity.rotate(shapely.box(cx - radius_m, cy - radius_m, cx + radius_m,
                                               cy + radius_m), -heading_deg, origin=(cx, cy))
    return _finish(pts, area, frame, survey, alt, (width, height), spacing, trig, warnings,
                   home_latlon)


def sector_search(lat: float, lon: float, survey: SurveySpec, *, radius_m: float,
                  heading_deg: float = 0.0, second_pass: bool = True,
                  home_latlon: tuple[float, float] | None = None) -> SearchPlan:
    """Sector search (VS) through (lat, lon) with triangles of side ``radius_m``."""
    if radius_m <= 0:
        raise PlanningError(f"radius_m must be positive, got {radius_m}")
    warnings: list[str] = []
    alt = survey.resolve_altitude(warnings)
    width, height, spacing, trig = survey.swath_geometry(alt)
    frame = LocalFrame.around(lat, lon)
    cx, cy = (float(v) for v in frame.to_xy_m(lat, lon))
    pts = [(cx, cy)]
    for start in ([heading_deg, heading_deg + 30.0] if second_pass else [heading_deg]):
        h = start
        for _ in range(3):
            x, y = cx, cy
            for _leg in range(3):
                e, n = _heading_vec(h)
                x, y = x + e * radius_m, y + n * radius_m
                pts.append((x, y))
                h += 120.0
            pts[-1] = (cx, cy)  # closes on the datum (removes rounding)
            h -= 120.0  # the next outbound leg continues the return leg's heading
    area = shapely.Point(cx, cy).buffer(radius_m, quad_segs=32)
    return _finish(pts, area, frame, survey, alt, (width, height), spacing, trig, warnings,
                   home_latlon)


def _finish(pts, area, frame, survey, alt, fp, spacing, trig, warnings, home_latlon) -> SearchPlan:
    if home_latlon is not None:
        hx, hy = (float(v) for v in frame.to_xy_m(*home_latlon))
    else:
        hx, hy = pts[0]
    home = Waypoint(hx, hy)
    path = [Waypoint(x, y) for x, y in pts]
    actions: list[Action] = [home, path[0], CameraOn(trig), *path[1:], CameraOff(), home]
    if home == path[0]:
        actions = actions[1:]
    home_ll = tuple(float(v) for v in frame.to_latlon(hx, hy))
    items = mission_items(actions[1:-1], frame=frame, home_latlon=home_ll, alt_rel_m=alt,
                          speed_m_s=survey.speed_m_s)
    mission = make_mission(items, fence=[], home_latlon=home_ll, speed_m_s=survey.speed_m_s)
    photos = trigger_points(actions)
    wps = [a for a in actions if isinstance(a, Waypoint)]
    dist = path_length_m(wps)
    share = covered_share(area, swept_footprints(photos, width_m=fp[0], height_m=fp[1]))
    report = PlanReport(
        distance_m=round(dist, 1),
        flight_time_s=round(dist / survey.speed_m_s + turn_count(wps) * survey.turn_cost_s
                            + alt / 3.0 + alt / 1.5, 1),
        photo_count=len(photos), gsd_cm_px=round(survey.camera.gsd_cm_px(alt), 3),
        covered_share=round(share, 4), covered_share_min_zone=round(share, 4),
        zone_area_m2=round(area.area, 1), alt_rel_m=alt, line_spacing_m=round(spacing, 2),
        trigger_distance_m=round(trig, 2), item_count=len(items) + 1, warnings=tuple(warnings))
    return SearchPlan(mission, actions, photos, area, frame, fp, report)


def search_footprints_wgs84(plan: SearchPlan) -> list[shapely.Polygon]:
    return list(plan.frame.geom_to_wgs84(footprints(plan.photos, width_m=plan.footprint_m[0],
                                                     height_m=plan.footprint_m[1])))
