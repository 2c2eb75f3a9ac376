"""Coverage planning: zones (WGS84) → ordered lawnmower sorties per drone, with a report.

Steps: choose the altitude (cap checked) and swath; per zone, keep the part in
free space, choose the sweep angle, cut sweep lines into legs, split the lines
between drones by equal band area, decompose into monotone cells; per drone,
order the cells, join them with routed transits (camera off), split into
sorties by endurance, and turn each sortie into a MAVLink mission.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field, replace

import numpy as np
import shapely

from drone_link.mission import Mission
from drone_link.planner.altitude import Profile, TerrainFollow, follow_terrain
from drone_link.planner.build import fence_items, make_mission, mission_items, mission_items_amsl
from drone_link.planner.cells import Cell, decompose
from drone_link.planner.errors import PlanningError
from drone_link.planner.geometry import GRID_M, clean_polygons, safe_union
from drone_link.planner.ordering import Block, order_blocks
from drone_link.planner.path import (
    Action,
    CameraOff,
    CameraOn,
    Waypoint,
    dedupe,
    path_length_m,
    turn_count,
    waypoints_of,
)
from drone_link.planner.preflight import Limits, estimate_flight_time_s
from drone_link.planner.report import PlanReport
from drone_link.planner.routing import FreeSpace
from drone_link.planner.sorties import split_sorties
from drone_link.planner.spec import Airspace, Endurance, FlightModel, SurveySpec
from drone_link.planner.sweep import (
    best_angle_rad,
    clip_intervals,
    heading_deg_of,
    rotate_m,
    sweep_lines,
    theta_of_heading,
    unrotate_xy,
)
from drone_link.planner.triggers import (
    Photo,
    covered_share,
    footprints,
    swept_footprints,
    trigger_points,
)
from geo.crs import LocalFrame

logger = logging.getLogger(__name__)


@dataclass
class Sortie:
    """One flight of one drone: its mission, metric path and simulated photos."""

    drone: int
    index: int
    mission: Mission
    actions: list[Action]
    photos: list[Photo]
    report: PlanReport
    profile: Profile | None = None  # terrain-following altitudes (None: relative to home)


@dataclass
class CoveragePlan:
    """All sorties of all drones, the total report, and what is needed to export them."""

    sorties: list[Sortie]
    report: PlanReport
    frame: LocalFrame
    footprint_m: tuple[float, float]
    zones_m: list[shapely.Polygon] = field(default_factory=list)

    @property
    def missions(self) -> list[Mission]:
        return [s.mission for s in self.sorties]

    def path_latlon(self, sortie: Sortie) -> list[tuple[float, float]]:
        wps = waypoints_of(sortie.actions)
        lat, lon = self.frame.to_latlon([w.x_m for w in wps], [w.y_m for w in wps])
        return list(zip(np.atleast_1d(lat).tolist(), np.atleast_1d(lon).tolist()))

    def footprints_m(self, sortie: Sortie | None = None) -> np.ndarray:
        photos = sortie.photos if sortie is not None else [p for s in self.sorties for p in s.photos]
        return footprints(photos, width_m=self.footprint_m[0], height_m=self.footprint_m[1])

    def footprints_wgs84(self, sortie: Sortie | None = None) -> list[shapely.Polygon]:
        return list(self.frame.geom_to_wgs84(self.footprints_m(sortie)))


def as_polygons(zones, *, problems: list[str] | None = None) -> list[shapely.Polygon]:
    """Valid polygons from a Polygon, MultiPolygon, GeometryCollection or a sequence of them.

    Invalid polygons are made valid and overlapping ones merged (see
    :func:`~drone_link.planner.geometry.clean_polygons`); what was fixed is appended
    to ``problems`` as one line.
    """
    geoms = zones if isinstance(zones, (list, tuple)) else [zones]
    for g in geoms:
        for part in shapely.get_parts(g):
            if not part.is_empty and part.geom_type not in ("Polygon", "MultiPolygon",
                                                            "GeometryCollection"):
                raise PlanningError(f"zones must be polygons, got {part.geom_type}")
    cleaned = clean_polygons(list(geoms))
    if cleaned.problems and problems is not None:
        problems.append(cleaned.summary("zones"))
    if not cleaned.polygons:
        raise PlanningError("no polygon zone to cover")
    return cleaned.polygons


def plan_coverage(zones, survey: SurveySpec, *, airspace: Airspace | None = None,
                  endurance: Endurance | None = None, drones: int = 1,
                  home_latlon: tuple[float, float] | None = None,
                  homes_latlon: list[tuple[float, float]] | None = None,
                  waypoint_limit: int | None = None,
                  terrain: TerrainFollow | None = None) -> CoveragePlan:
    """Plan a photo survey of ``zones`` (WGS84 polygons).

    Example: ``plan_coverage(zone, SurveySpec(camera=camera_preset("mavic3e-wide"), alt_rel_m=80))``.
    ``homes_latlon`` gives each drone its own launch point (else all use ``home_latlon``).
    With ``waypoint_limit`` a sortie with more items is split in two until each fits.
    With ``terrain`` the altitude is ``survey.alt_rel_m`` *above the DEM ground* and the
    waypoints are AMSL (see :mod:`drone_link.planner.altitude`).
    Raises :class:`PlanningError` (or :class:`AltitudeCapError`) with one clear line.
    """
    if drones < 1:
        raise PlanningError(f"drones must be >= 1, got {drones}")
    if homes_latlon is not None:
        if len(homes_latlon) != drones:
            raise PlanningError(f"{len(homes_latlon)} launch points for {drones} drones")
        home_latlon = homes_latlon[0]
    airspace = airspace or Airspace()
    warnings: list[str] = []
    polys = as_polygons(zones, problems=warnings)
    alt = survey.resolve_altitude(warnings)
    width_m, height_m, spacing, trig = survey.swath_geometry(alt)
    # the first photo on a leg can be up to one trigger distance in: keep it before the zone edge
    turn = max(survey.turnaround_m, trig - height_m / 2 + 0.5)
    frame = LocalFrame.for_geometry(safe_union(polys))
    # reprojection can make nearly-touching rings cross again: clean on a metric grid
    zones_m = clean_polygons([frame.geom_to_m(p) for p in polys], grid_size=GRID_M,
                             min_area=0.01).polygons
    free = None
    if airspace.constrained:
        free = FreeSpace(
            fence_m=frame.geom_to_m(airspace.fence) if airspace.fence is not None else None,
            exclusions_m=[frame.geom_to_m(e) for e in airspace.exclusions],
            margin_m=airspace.margin_m, names=[airspace.name_of(i) for i in range(len(airspace.exclusions))])
    home = None
    homes: list[Waypoint | None] = [None] * drones
    for d, h_ll in enumerate(homes_latlon or ([home_latlon] * drones if home_latlon else [])):
        hx, hy = frame.to_xy_m(h_ll[0], h_ll[1])
        homes[d] = Waypoint(float(hx), float(hy))
        if free is not None and not free.contains_points(np.array([[hx, hy]]))[0]:
            raise PlanningError(f"launch point {h_ll[0]:.6f},{h_ll[1]:.6f} is "
                                f"{airspace.describe_point(h_ll[0], h_ll[1])}")
    home = homes[0]

    headings: list[float] = []
    sweeps: list[_ZoneSweep] = []
    for zi, zone in enumerate(zones_m):
        area = zone
        if free is not None:
            area = shapely.intersection(zone, free.region) if free.region is not None else zone
            area = shapely.difference(area, free.blocked) if not free.blocked.is_empty else area
        if area.is_empty or area.area < 1.0:
            inside = airspace.names_meeting(frame.geom_to_wgs84(zone))
            warnings.append(f"zone {zi + 1} of {len(zones_m)}: nothing left to fly outside the fence"
                            + (f" and no-fly zone(s) {', '.join(map(repr, inside))}" if inside else ""))
            continue
        if survey.sweep_angle_deg is not None:
            theta = theta_of_heading(survey.sweep_angle_deg)
        else:
            theta = best_angle_rad(area, spacing_m=spacing, turnaround_m=turn,
                                   turn_cost_m=survey.turn_cost_s * survey.speed_m_s)
        headings.append(round(heading_deg_of(theta), 2))
        rot = rotate_m(area, theta)
        lines = sweep_lines(rot, spacing_m=spacing, merge_gap_m=2 * turn)
        legs = clip_intervals(
            lines,
            rotate_m(free.region, theta) if free is not None and free.region is not None else None,
            blocked_rot=rotate_m(free.blocked, theta) if free is not None else None,
            turnaround_m=turn, x_span=(rot.bounds[0], rot.bounds[2]))
        c = area.centroid
        sweeps.append(_ZoneSweep(theta, lines, legs, _turns_stay_near(rot, turn + spacing / 2),
                                 (c.x, c.y)))

    blocks_per_drone: list[list[Block]] = [[] for _ in range(drones)]
    for d, parts in enumerate(_share_between_drones(sweeps, drones, home)):
        for sw, (i0, i1) in parts:
            cells = decompose([(sw.lines[k].y_m, sw.legs[k]) for k in range(i0, i1)],
                              joinable=sw.joinable)
            blocks_per_drone[d].extend(_to_block(cell, sw.theta) for cell in cells)

    if not any(blocks_per_drone):
        raise PlanningError("nothing to fly: every zone is inside no-fly zones or outside the fence")
    model = FlightModel(speed_m_s=survey.speed_m_s, turn_cost_s=survey.turn_cost_s,
                        **({"climb_m_s": endurance.climb_m_s, "descent_m_s": endurance.descent_m_s}
                           if endurance else {}))
    fence_list = fence_items(fence=airspace.fence, exclusions=airspace.exclusions)
    sorties: list[Sortie] = []
    for d, blocks in enumerate(blocks_per_drone):
        if not blocks:
            warnings.append(f"drone {d + 1}: no area assigned")
            continue
        own = homes[d]
        start = (own.x_m, own.y_m) if own is not None else None
        order = order_blocks(blocks, start=start)
        survey_path = _join_cells(blocks, order, free=free, trig=trig)
        d_home = own or waypoints_of(survey_path)[0]
        home_ll = frame.to_latlon(d_home.x_m, d_home.y_m)
        home_ll = (float(home_ll[0]), float(home_ll[1]))
        if endurance is not None:
            usable = endurance.usable_s
            if terrain is not None:  # climbs over terrain: split with the time they add, per second
                usable /= _terrain_time_factor(survey_path, d_home, free=free, trig=trig, frame=frame,
                                               terrain=terrain, survey=survey, model=model, alt=alt)
            pieces = split_sorties(
                survey_path, model=model, usable_s=usable, alt_m=alt, trigger_m=trig,
                home_time_s=lambda p, h=d_home: _transit_time_s(p, h, free, model))
        else:
            pieces = [survey_path]
        todo = list(pieces)
        si = 0
        while todo:
            piece = todo.pop(0)
            actions = _close_sortie(piece, d_home, free=free, trig=trig)
            profile = None
            if terrain is not None:
                profile = follow_terrain(actions, frame=frame, spec=terrain, speed_m_s=survey.speed_m_s)
                actions = profile.actions
                if profile.steep_legs:
                    warnings.append(f"drone {d + 1}: {profile.steep_legs} leg(s) steeper than the climb/"
                                    f"descent limits under the {terrain.max_alt_agl_m:.0f} m ceiling "
                                    "(the autopilot flies them slower)")
                items = mission_items_amsl(actions, frame=frame, alt_amsl_m=profile.alt_amsl_m,
                                           ground_amsl_m=profile.ground_amsl_m,
                                           speed_m_s=survey.speed_m_s)
            else:
                items = mission_items(actions[1:-1], frame=frame, home_latlon=home_ll, alt_rel_m=alt,
                                      speed_m_s=survey.speed_m_s)
            t_est = estimate_flight_time_s(
                make_mission(items, fence=[], home_latlon=home_ll, speed_m_s=survey.speed_m_s,
                             home_alt_amsl_m=profile.ground_amsl_m[0]),
                limits=Limits(turn_cost_s=survey.turn_cost_s, climb_m_s=endurance.climb_m_s,
                              descent_m_s=endurance.descent_m_s)) \
                if profile is not None and endurance is not None else 0.0
            if endurance is not None and t_est > endurance.usable_s:
                # over terrain the climbs cost time the split above did not see: split this piece
                # again with the usable time scaled down by how much the climbs added
                sub = split_sorties(
                    piece, model=model, usable_s=endurance.usable_s ** 2 / t_est * 0.97, alt_m=alt,
                    trigger_m=trig, home_time_s=lambda p, h=d_home: _transit_time_s(p, h, free, model))
                if len(sub) > 1:
                    todo[:0] = sub
                    continue
            if t_est > (endurance.usable_s if endurance else 0.0) or \
                    (waypoint_limit is not None and len(items) + 1 > waypoint_limit):
                halves = _halve(piece, trig)
                if halves is not None:
                    todo[:0] = halves
                    continue
            mission = make_mission(items, fence=fence_list, home_latlon=home_ll,
                                   speed_m_s=survey.speed_m_s,
                                   home_alt_amsl_m=profile.ground_amsl_m[0] if profile else 0.0)
            photos = trigger_points(actions)
            sorties.append(Sortie(d, si, mission, actions, photos, PlanReport(
                distance_m=0, flight_time_s=0, photo_count=0, gsd_cm_px=0, covered_share=0,
                covered_share_min_zone=0, zone_area_m2=0, alt_rel_m=alt, line_spacing_m=spacing,
                trigger_distance_m=trig), profile))
            si += 1

    plan = CoveragePlan(sorties, None, frame, (width_m, height_m), zones_m)  # type: ignore[arg-type]
    _fill_reports(plan, survey=survey, model=model, alt=alt, spacing=spacing, trig=trig, turn=turn,
                  headings=headings, warnings=warnings, drones=drones,
                  waypoint_limit=waypoint_limit, endurance=endurance)
    return plan


def _terrain_time_factor(survey_path, home, *, free, trig, frame, terrain, survey, model, alt) -> float:
    """Flight time of the whole survey as one terrain-following flight over its flat-model time."""
    actions = _close_sortie(survey_path, home, free=free, trig=trig)
    prof = follow_terrain(actions, frame=frame, spec=terrain, speed_m_s=survey.speed_m_s)
    items = mission_items_amsl(prof.actions, frame=frame, alt_amsl_m=prof.alt_amsl_m,
                               ground_amsl_m=prof.ground_amsl_m, speed_m_s=survey.speed_m_s)
    home_ll = tuple(float(v) for v in frame.to_latlon(home.x_m, home.y_m))
    t_terrain = estimate_flight_time_s(
        make_mission(items, fence=[], home_latlon=home_ll, speed_m_s=survey.speed_m_s,
                     home_alt_amsl_m=prof.ground_amsl_m[0]),
        limits=Limits(turn_cost_s=model.turn_cost_s, climb_m_s=model.climb_m_s,
                      descent_m_s=model.descent_m_s))
    wps = waypoints_of(actions)
    t_flat = path_length_m(wps) / model.speed_m_s + turn_count(wps) * model.turn_cost_s + model.vertical_s(alt)
    return max(1.0, t_terrain / max(t_flat, 1.0) * 1.02)


def _halve(piece: list[Action], trig: float) -> list[list[Action]] | None:
    """Split a sortie's survey piece at its middle waypoint (camera state carried over)."""
    idx = [i for i, a in enumerate(piece) if isinstance(a, Waypoint)]
    if len(idx) < 3:
        return None
    cut = idx[len(idx) // 2]
    cam_on = False
    for a in piece[:cut]:
        if isinstance(a, (CameraOn, CameraOff)):
            cam_on = isinstance(a, CameraOn)
    first = piece[:cut + 1] + ([CameraOff()] if cam_on else [])
    second = [piece[cut]] + ([CameraOn(trig)] if cam_on else []) + piece[cut + 1:]
    return [first, second]


def _turns_stay_near(area_rot: shapely.Geometry, margin_m: float):
    """A cell-join test: both possible turns between two legs stay within ``margin_m`` of the zone."""
    near = area_rot.buffer(margin_m + 0.25)
    shapely.prepare(near)

    def joinable(y_a: float, a, y_b: float, b) -> bool:
        turns = shapely.linestrings([[(a[2], y_a), (b[2], y_b)], [(a[3], y_a), (b[3], y_b)]])
        return bool(shapely.covers(near, turns).all())
    return joinable


def _transit_time_s(a: Waypoint, b: Waypoint, free: FreeSpace | None, model: FlightModel) -> float:
    """Flight time a → b (routed around no-fly zones), one turn cost per waypoint on the way."""
    pts = free.route(a, b) if free is not None else [a, b]
    return path_length_m(pts) / model.speed_m_s + (len(pts) - 1) * model.turn_cost_s


@dataclass(frozen=True)
class _ZoneSweep:
    """One zone's sweep: angle, lines (rotated frame), flyable legs per line, join test."""

    theta: float
    lines: list
    legs: list
    joinable: object
    centroid: tuple[float, float]


def _share_between_drones(sweeps: list[_ZoneSweep], drones: int, home: Waypoint | None
                          ) -> list[list[tuple[_ZoneSweep, tuple[int, int]]]]:
    """Give each drone a run of consecutive sweep bands of about equal area.

    Zones are chained nearest-neighbour from home, their bands concatenated in
    sweep order, and the chain cut at the equal-area quantiles (on band
    boundaries). A drone thus gets whole zones and at most two partial ones:
    strips along the sweep direction when a zone is split.
    """
    if not sweeps:
        return [[] for _ in range(drones)]
    pos = (home.x_m, home.y_m) if home is not None else sweeps[0].centroid
    left = list(range(len(sweeps)))
    chain: list[int] = []
    while left:
        i = min(left, key=lambda k: math.dist(pos, sweeps[k].centroid))
        left.remove(i)
        chain.append(i)
        pos = sweeps[i].centroid
    seq = [(z, k) for z in chain for k in range(len(sweeps[z].lines))]
    cum = np.concatenate([[0.0], np.cumsum([sweeps[z].lines[k].band_area_m2 for z, k in seq])])
    cuts = [0]
    for i in range(1, drones):
        cuts.append(max(int(np.argmin(np.abs(cum - cum[-1] * i / drones))), cuts[-1]))
    cuts.append(len(seq))
    out: list[list[tuple[_ZoneSweep, tuple[int, int]]]] = []
    for a, b in itertools.pairwise(cuts):
        parts: dict[int, list[int]] = {}
        for z, k in seq[a:b]:
            parts.setdefault(z, []).append(k)
        out.append([(sweeps[z], (ks[0], ks[-1] + 1)) for z, ks in parts.items()])
    return out


def _to_block(cell: Cell, theta: float) -> Block:
    variants = []
    for k in range(4):
        variants.append(tuple(unrotate_xy(x, y, theta) for x, y in cell.variant(k)))
    return Block(tuple(variants))


def _link(a: Waypoint, b: Waypoint, free: FreeSpace | None) -> list[Waypoint]:
    """Waypoints after ``a`` up to and including ``b``, routed around no-fly zones."""
    if free is None:
        return [b]
    return free.route(a, b)[1:]


def _join_cells(blocks: list[Block], order: list[tuple[int, int]], *, free: FreeSpace | None,
                trig: float) -> list[Action]:
    actions: list[Action] = []
    pos: Waypoint | None = None
    for bi, var in order:
        pts = [Waypoint(x, y) for x, y in blocks[bi].variants[var]]
        if pos is None:
            actions.append(pts[0])
        else:
            actions.extend(_link(pos, pts[0], free))
        actions.append(CameraOn(trig))
        for a, b in itertools.pairwise(pts):
            actions.extend(_link(a, b, free))
        actions.append(CameraOff())
        pos = pts[-1]
    return dedupe(actions)


def _close_sortie(piece: list[Action], home: Waypoint, *, free: FreeSpace | None,
                  trig: float) -> list[Action]:
    """Home → (routed) → piece → (routed) → home, camera off on the transits."""
    first = waypoints_of(piece)[0]
    last = waypoints_of(piece)[-1]
    out: list[Action] = [home]
    out.extend(_link(home, first, free) if free is not None else [first])
    out.extend(piece[1:] if isinstance(piece[0], Waypoint) else piece)
    if not isinstance(out[-1], CameraOff) and any(isinstance(a, CameraOn) for a in piece):
        out.append(CameraOff())
    out.extend(_link(last, home, free))
    return dedupe(out)


def _fill_reports(plan: CoveragePlan, *, survey: SurveySpec, model: FlightModel, alt: float,
                  spacing: float, trig: float, turn: float, headings: list[float], warnings: list[str],
                  drones: int, waypoint_limit: int | None, endurance: Endurance | None) -> None:
    gsd = survey.camera.gsd_cm_px(alt)
    for s in plan.sorties:
        wps = waypoints_of(s.actions)
        dist = path_length_m(wps)
        t = dist / model.speed_m_s + turn_count(wps) * model.turn_cost_s + model.vertical_s(alt)
        n_items = len(s.mission.items) + 1  # + home (item 0 on ArduPilot)
        if waypoint_limit is not None and n_items > waypoint_limit:
            msg = (f"drone {s.drone + 1} sortie {s.index + 1}: {n_items} items exceed the "
                   f"vehicle limit of {waypoint_limit}")
            logger.warning(msg)
            warnings.append(msg)
        if endurance is not None and t > endurance.usable_s * 1.02:
            warnings.append(f"drone {s.drone + 1} sortie {s.index + 1}: {t:.0f} s exceeds the "
                            f"usable {endurance.usable_s:.0f} s")
        s.report = PlanReport(
            distance_m=round(dist, 1), flight_time_s=round(t, 1), photo_count=len(s.photos),
            gsd_cm_px=round(gsd, 3), covered_share=float("nan"), covered_share_min_zone=float("nan"),
            zone_area_m2=0.0, alt_rel_m=alt, line_spacing_m=round(spacing, 2),
            trigger_distance_m=round(trig, 2), turnaround_m=round(turn, 2),
            sweep_headings_deg=tuple(headings), item_count=n_items, warnings=(),
            **_terrain_fields(s.profile, s.mission))
    photos = [p for s in plan.sorties for p in s.photos]
    prints = swept_footprints(photos, width_m=plan.footprint_m[0], height_m=plan.footprint_m[1])
    all_zones = safe_union(plan.zones_m, grid_size=GRID_M)
    if len(plan.sorties) > 1:
        for s in plan.sorties:
            share = round(covered_share(all_zones, swept_footprints(
                s.photos, width_m=plan.footprint_m[0], height_m=plan.footprint_m[1])), 4)
            s.report = replace(s.report, covered_share=share, covered_share_min_zone=share,
                               zone_area_m2=round(all_zones.area, 1))
    shares = [covered_share(z, prints) for z in plan.zones_m]
    areas = [z.area for z in plan.zones_m]
    total_area = float(sum(areas))
    plan.report = PlanReport(
        distance_m=round(sum(s.report.distance_m for s in plan.sorties), 1),
        flight_time_s=round(sum(s.report.flight_time_s for s in plan.sorties), 1),
        photo_count=sum(s.report.photo_count for s in plan.sorties),
        gsd_cm_px=round(gsd, 3),
        covered_share=round(sum(a * s for a, s in zip(areas, shares)) / total_area, 4),
        covered_share_min_zone=round(min(shares), 4),
        zone_area_m2=round(total_area, 1), alt_rel_m=alt, line_spacing_m=round(spacing, 2),
        trigger_distance_m=round(trig, 2), turnaround_m=round(turn, 2),
        sweep_headings_deg=tuple(headings), item_count=max(s.report.item_count for s in plan.sorties),
        sortie_count=len(plan.sorties), drone_count=drones, warnings=tuple(warnings),
        **_terrain_totals([s.report for s in plan.sorties]))
    if len(plan.sorties) == 1:
        plan.sorties[0].report = plan.report


def _terrain_fields(profile: Profile | None, mission: Mission) -> dict:
    if profile is None:
        return {}
    return {"alt_mode": "terrain_amsl", "min_clearance_m": round(profile.min_clearance_m, 1),
            "max_alt_agl_m": round(profile.max_alt_agl_m, 1),
            "home_alt_amsl_m": round(mission.home_alt_amsl_m, 1)}


def _terrain_totals(reports: list[PlanReport]) -> dict:
    if not reports or reports[0].alt_mode != "terrain_amsl":
        return {}
    return {"alt_mode": "terrain_amsl",
            "min_clearance_m": min(r.min_clearance_m for r in reports),
            "max_alt_agl_m": max(r.max_alt_agl_m for r in reports),
            "home_alt_amsl_m": reports[0].home_alt_amsl_m}
