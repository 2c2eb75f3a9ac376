"""Search patterns around a point (missing person, hot spot): expanding square, sector, parallel track.

All follow the IAMSAR manual. Parallel track: legs of ``length_m`` along the
heading, ``track_spacing_m`` apart, covering ``width_m`` centred on the datum. Expanding square: legs of 1, 1, 2, 2, 3, 3 ...
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
from drone_link.planner.altitude import TerrainFollow, follow_terrain
from drone_link.planner.build import fence_items, make_mission, mission_items, mission_items_amsl
from drone_link.planner.errors import PlanningError
from drone_link.planner.path import Action, CameraOff, CameraOn, Waypoint, path_length_m, turn_count
from drone_link.planner.report import PlanReport
from drone_link.planner.spec import Airspace, SurveySpec
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
                     home_latlon: tuple[float, float] | None = None,
                     terrain: TerrainFollow | None = None,
                     airspace: Airspace | None = None) -> SearchPlan:
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
                   home_latlon, terrain, airspace)


def sector_search(lat: float, lon: float, survey: SurveySpec, *, radius_m: float,
                  heading_deg: float = 0.0, second_pass: bool = True,
                  home_latlon: tuple[float, float] | None = None,
                  terrain: TerrainFollow | None = None,
                  airspace: Airspace | None = None) -> SearchPlan:
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
                   home_latlon, terrain, airspace)


def parallel_track(lat: float, lon: float, survey: SurveySpec, *, length_m: float, width_m: float,
                   heading_deg: float = 0.0, track_spacing_m: float | None = None,
                   home_latlon: tuple[float, float] | None = None,
                   terrain: TerrainFollow | None = None,
                   airspace: Airspace | None = None) -> SearchPlan:
    """Parallel track search (PS) of a ``length_m`` x ``width_m`` rectangle centred on (lat, lon).

    Legs run along ``heading_deg``; the first starts at the rectangle's left rear corner
    (half a track spacing in) and the tracks step to the right.
    """
    if length_m <= 0 or width_m <= 0:
        raise PlanningError(f"length_m and width_m must be positive, got {length_m}, {width_m}")
    warnings: list[str] = []
    alt = survey.resolve_altitude(warnings)
    fw, fh, spacing, trig = survey.swath_geometry(alt)
    s = track_spacing_m or spacing
    frame = LocalFrame.around(lat, lon)
    cx, cy = (float(v) for v in frame.to_xy_m(lat, lon))
    ae, an = _heading_vec(heading_deg)  # along track
    re, rn = _heading_vec(heading_deg + 90.0)  # to the right
    n = max(1, math.ceil(width_m / s))
    pts = []
    for k in range(n):
        off = -width_m / 2 + s / 2 + k * s
        a0, a1 = (-length_m / 2, length_m / 2) if k % 2 == 0 else (length_m / 2, -length_m / 2)
        for a in (a0, a1):
            pts.append((cx + re * off + ae * a, cy + rn * off + an * a))
    area = shapely.affinity.rotate(shapely.box(cx - width_m / 2, cy - length_m / 2, cx + width_m / 2,
                                               cy + length_m / 2), -heading_deg, origin=(cx, cy))
    return _finish(pts, area, frame, survey, alt, (fw, fh), spacing, trig, warnings, home_latlon,
                   terrain, airspace)


def _finish(pts, area, frame, survey, alt, fp, spacing, trig, warnings, home_latlon,
            terrain=None, airspace=None) -> SearchPlan:
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
    fence: list = []
    if airspace is not None:
        _refuse_no_fly(actions, frame, airspace)
        fence = fence_items(fence=airspace.fence, exclusions=airspace.exclusions)
    terrain_fields: dict = {}
    if terrain is not None:
        if home == path[0]:
            actions = [home, *actions]  # a profile runs from home to home
        prof = follow_terrain(actions, frame=frame, spec=terrain, speed_m_s=survey.speed_m_s)
        actions = prof.actions
        items = mission_items_amsl(actions, frame=frame, alt_amsl_m=prof.alt_amsl_m,
                                   ground_amsl_m=prof.ground_amsl_m, speed_m_s=survey.speed_m_s)
        mission = make_mission(items, fence=fence, home_latlon=home_ll, speed_m_s=survey.speed_m_s,
                               home_alt_amsl_m=prof.ground_amsl_m[0])
        terrain_fields = {"alt_mode": "terrain_amsl", "min_clearance_m": round(prof.min_clearance_m, 1),
                          "max_alt_agl_m": round(prof.max_alt_agl_m, 1),
                          "home_alt_amsl_m": round(prof.ground_amsl_m[0], 1)}
    else:
        items = mission_items(actions[1:-1], frame=frame, home_latlon=home_ll, alt_rel_m=alt,
                              speed_m_s=survey.speed_m_s)
        mission = make_mission(items, fence=fence, home_latlon=home_ll, speed_m_s=survey.speed_m_s)
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
        trigger_distance_m=round(trig, 2), item_count=len(items) + 1, warnings=tuple(warnings),
        **terrain_fields)
    return SearchPlan(mission, actions, photos, area, frame, fp, report)


def _refuse_no_fly(actions: list[Action], frame: LocalFrame, airspace: Airspace) -> None:
    """A search pattern is flown as drawn: refuse it (naming the zone) if it meets a no-fly zone."""
    wps = [a for a in actions if isinstance(a, Waypoint)]
    lat, lon = frame.to_latlon([w.x_m for w in wps], [w.y_m for w in wps])
    line = shapely.LineString(list(zip(np.atleast_1d(lon), np.atleast_1d(lat))))
    names = airspace.names_meeting(line)
    if names:
        raise PlanningError("the search pattern crosses no-fly zone " + ", ".join(map(repr, names))
                            + "; move the datum, shrink the radius or pick another pattern")
    if airspace.fence is not None and not airspace.fence.covers(line):
        raise PlanningError("the search pattern leaves the geofence")


def search_footprints_wgs84(plan: SearchPlan) -> list[shapely.Polygon]:
    return list(plan.frame.geom_to_wgs84(footprints(plan.photos, width_m=plan.footprint_m[0],
                                                     height_m=plan.footprint_m[1])))
