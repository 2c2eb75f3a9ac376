"""The one planning path of the product: dashboard (``services.missions``) and ``disaster-ops plan``.

Whatever asks for a mission, it gets the same safety: take-off from the drone's
live position or recorded home (or an explicit launch point, never a zone
centroid), a geofence around the area and the launch points, the stored no-fly
layer avoided (transits rerouted, areas inside a zone left out; a launch point
or search pattern inside one refused with the zone's name), battery sorties from
the drone's endurance with a reserve, several drones, the drone's waypoint
memory, terrain following when a DEM is configured, and a pre-flight check of
every sortie. A plan that fails the check is refused with every violation listed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, select

from disaster_ops.config import PlanningSafety, get_settings
from disaster_ops.errors import InputError
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Drone, DroneState, utcnow
from drone_link.mission import Mission
from drone_link.planner import Airspace, Endurance, SurveySpec, plan_coverage
from drone_link.planner.altitude import TerrainFollow
from drone_link.planner.build import fence_items
from drone_link.planner.errors import PlanningError
from drone_link.planner.geometry import clean_polygons, safe_union
from drone_link.planner.preflight import (
    Check,
    Limits,
    NoFlyZone,
    PreflightResult,
    Violation,
    preflight,
)
from drone_link.planner.report import PlanReport
from drone_link.planner.search import expanding_square, parallel_track, sector_search
from drone_link.planner.terrain import Terrain
from geo.crs import LocalFrame

logger = logging.getLogger(__name__)

LIVE_POSITION_MAX_AGE = timedelta(minutes=10)
SEARCH_PATTERNS = ("expanding-square", "sector", "parallel-track")


@dataclass(frozen=True)
class Launch:
    """Where one drone takes off, why there, and the limits of that drone (None: unknown)."""

    lat: float
    lon: float
    source: str  # "live position", "drone home", "launch point"
    drone_name: str | None = None
    endurance_min: float | None = None
    max_waypoints: int | None = None


@dataclass
class SafeSortie:
    drone_index: int
    index: int
    mission: Mission
    report: PlanReport
    launch: Launch
    preflight: PreflightResult

    def summary(self) -> dict:
        """What is stored with the mission and shown to the pilot."""
        return {**self.report.to_dict(),
                "launch": {"lat": self.launch.lat, "lon": self.launch.lon, "source": self.launch.source,
                           "drone": self.launch.drone_name},
                "waypoint_limit": self.launch.max_waypoints, "endurance_min": self.launch.endurance_min,
                "fence": bool(self.mission.fence), "preflight": self.preflight.to_dict()}


@dataclass
class SafePlan:
    sorties: list[SafeSortie]
    report: PlanReport
    no_fly_names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # geometry repairs, terrain source, fallbacks
    coverage: object | None = None  # the CoveragePlan or SearchPlan (exports)


# --------------------------------------------------------------------------- inputs
def launches_for(drone_names: list[str], *, launch_latlon: tuple[float, float] | None = None,
                 engine: Engine | None = None) -> list[Launch]:
    """One launch per drone: live position (recent, link up), else the drone's home, else ``launch_latlon``."""
    out: list[Launch] = []
    with Session(engine or get_engine()) as s:
        for name in drone_names:
            d = s.exec(select(Drone).where(Drone.name == name)).first()
            if d is None:
                raise InputError(f"no drone named {name!r}")
            st = s.get(DroneState, d.id)
            pos = None
            if st is not None and st.link_ok and st.lat is not None and st.lon is not None \
                    and st.updated_at is not None and utcnow() - st.updated_at <= LIVE_POSITION_MAX_AGE:
                pos = (st.lat, st.lon, "live position")
            elif d.home_lat_deg is not None and d.home_lon_deg is not None:
                pos = (d.home_lat_deg, d.home_lon_deg, "drone home")
            elif launch_latlon is not None:
                pos = (launch_latlon[0], launch_latlon[1], "launch point")
            if pos is None:
                raise InputError(f"drone {name!r} has no live position or home: give a launch point")
            out.append(Launch(pos[0], pos[1], pos[2], d.name, d.endurance_min, d.max_waypoints))
    return out


def set_drone_home(drone_name: str, latlon: tuple[float, float] | None, *, principal: Principal,
                   engine: Engine | None = None) -> None:
    """Record (or clear, with None) where a drone takes off when it reports no live position."""
    require(principal, Action.DISPATCH_DRONE)
    if latlon is not None and not (-90 <= latlon[0] <= 90 and -180 <= latlon[1] <= 180):
        raise InputError(f"launch point {latlon} is not a WGS84 position")
    with session_scope(engine or get_engine()) as s:
        d = s.exec(select(Drone).where(Drone.name == drone_name)).first()
        if d is None:
            raise InputError(f"no drone named {drone_name!r}")
        d.home_lat_deg, d.home_lon_deg = latlon if latlon is not None else (None, None)
        s.add(d)
        audit.record(s, principal=principal, action="drone.home", object_type="drone", object_id=d.id,
                     details={"name": drone_name, "home": list(latlon) if latlon else None})


def stored_no_fly(bounds: tuple[float, float, float, float], *, engine: Engine | None = None) -> list[NoFlyZone]:
    """The imported airspace zones whose box meets ``bounds``; none when there is no database yet."""
    from disaster_ops.services.airspace import list_zones

    settings = get_settings()
    if engine is None and settings.is_sqlite and not _sqlite_file_exists(settings.database_url):
        return []
    try:
        zones = list_zones(bounds=bounds, engine=engine)
    except (OperationalError, ProgrammingError):  # database not migrated: no layer imported yet
        return []
    return [NoFlyZone(z.name, z.polygon, z.lower_m) for z in zones]


def _sqlite_file_exists(url: str) -> bool:
    path = url.split("///", 1)[-1] if "///" in url else ""
    return bool(path) and Path(path).exists()


def load_terrain(safety: PlanningSafety, bounds: tuple[float, float, float, float]) -> Terrain | None:
    if not safety.dem_path:
        return None
    try:
        return Terrain.open(safety.dem_path, bounds_wgs84=bounds, crs=safety.dem_crs)
    except PlanningError as exc:
        raise InputError(str(exc)) from exc


# --------------------------------------------------------------------------- planning
def plan_survey(zones, survey: SurveySpec, *, launches: list[Launch], safety: PlanningSafety,
                no_fly: list[NoFlyZone] = (), drones: int | None = None,
                fence: shapely.Polygon | None = None, battery_min: float | None = None,
                waypoint_limit: int | None = None, terrain: Terrain | None = None,
                require_launch: bool = True) -> SafePlan:
    """Coverage survey of ``zones`` (WGS84) that passes the pre-flight check, or :class:`InputError`.

    ``launches``: one per drone, or a single one shared by ``drones`` drones (explicit
    launch point). ``battery_min``/``waypoint_limit`` apply when the launches carry none.
    """
    notes: list[str] = []
    cleaned = clean_polygons(list(zones) if isinstance(zones, (list, tuple)) else [zones])
    if cleaned.problems:
        notes.append(cleaned.summary("zones"))
    if not cleaned.polygons:
        raise InputError("no polygon zone to survey")
    if not launches and require_launch:
        raise InputError("no launch point: choose a drone with a known position or give a launch point")
    n = drones or max(1, len(launches))
    homes = None
    if launches:
        homes = [(lc.lat, lc.lon) for lc in launches] if len(launches) == n else \
            [(launches[0].lat, launches[0].lon)] * n
    area = safe_union(cleaned.polygons)
    fence_poly = fence or _fence_around(area, homes or [], safety.fence_margin_m)
    zones_nf = [z for z in no_fly if z.lower_m is None or z.lower_m < safety.max_alt_agl_m]
    airspace = Airspace(fence=fence_poly, exclusions=tuple(z.polygon for z in zones_nf),
                        exclusion_names=tuple(z.name for z in zones_nf), margin_m=safety.airspace_margin_m)
    endurance_min = min([lc.endurance_min for lc in launches if lc.endurance_min] or
                        ([battery_min] if battery_min else []), default=None)
    wp_limit = min([lc.max_waypoints for lc in launches if lc.max_waypoints] or
                   ([waypoint_limit] if waypoint_limit else []), default=None)
    follow = _follow(terrain, survey, safety)
    try:
        result = plan_coverage(
            cleaned.polygons, survey, airspace=airspace,
            endurance=Endurance(battery_min=endurance_min, reserve_share=safety.reserve_share)
            if endurance_min else None,
            drones=n, homes_latlon=homes, waypoint_limit=wp_limit, terrain=follow)
    except PlanningError as exc:
        raise InputError(str(exc)) from exc
    sorties = []
    for s in result.sorties:
        lc = _launch_of(launches, s.drone, n, s.mission)
        check = preflight(s.mission, limits=_limits(lc, safety, survey, endurance_min, wp_limit),
                          no_fly=zones_nf, terrain=terrain)
        sorties.append(SafeSortie(s.drone, s.index, s.mission, s.report, lc, check))
    _refuse_if_failing(sorties)
    return SafePlan(sorties, result.report, [z.name for z in zones_nf], notes, result)


def plan_search(pattern: str, lat: float, lon: float, survey: SurveySpec, *, launch: Launch | None,
                safety: PlanningSafety, no_fly: list[NoFlyZone] = (), radius_m: float = 300.0,
                heading_deg: float = 0.0, length_m: float | None = None, width_m: float | None = None,
                track_spacing_m: float | None = None, terrain: Terrain | None = None,
                battery_min: float | None = None, waypoint_limit: int | None = None) -> SafePlan:
    """A search pattern from a datum (incident or last known position), checked like a survey.

    Patterns: ``expanding-square`` (square of half-side ``radius_m``), ``sector`` (radius
    ``radius_m``), ``parallel-track`` (``length_m`` x ``width_m``, default 2 x ``radius_m``).
    A pattern that meets a no-fly zone is refused with the zone named (it is flown as drawn).
    """
    if pattern not in SEARCH_PATTERNS:
        raise InputError(f"unknown search pattern {pattern!r}: expected one of {', '.join(SEARCH_PATTERNS)}")
    home = (launch.lat, launch.lon) if launch is not None else None
    zones_nf = [z for z in no_fly if z.lower_m is None or z.lower_m < safety.max_alt_agl_m]
    follow = _follow(terrain, survey, safety)
    kw = {"home_latlon": home, "terrain": follow}
    try:
        if pattern == "expanding-square":
            sp = expanding_square(lat, lon, survey, radius_m=radius_m, heading_deg=heading_deg,
                                  track_spacing_m=track_spacing_m, **kw)
        elif pattern == "sector":
            sp = sector_search(lat, lon, survey, radius_m=radius_m, heading_deg=heading_deg, **kw)
        else:
            sp = parallel_track(lat, lon, survey, length_m=length_m or 2 * radius_m,
                                width_m=width_m or 2 * radius_m, heading_deg=heading_deg,
                                track_spacing_m=track_spacing_m, **kw)
    except PlanningError as exc:
        raise InputError(str(exc)) from exc
    # the pattern is flown as drawn: fence around it, refused if it meets a no-fly zone
    path = shapely.LineString([(lo, la) for la, lo in sp.path_latlon()])
    fence_poly = _fence_around(path, [home] if home else [], safety.fence_margin_m)
    airspace = Airspace(fence=fence_poly, exclusions=tuple(z.polygon for z in zones_nf),
                        exclusion_names=tuple(z.name for z in zones_nf), margin_m=safety.airspace_margin_m)
    names = airspace.names_meeting(path.buffer(safety.airspace_margin_m / 111_000.0))
    if names:
        raise InputError("the search pattern crosses no-fly zone " + ", ".join(map(repr, names))
                         + "; move the datum, shrink the radius or pick another pattern")
    sp.mission.fence = fence_items(fence=airspace.fence, exclusions=airspace.exclusions)
    lc = launch or Launch(sp.mission.home_lat_deg, sp.mission.home_lon_deg, "search datum")
    endurance_min = (launch.endurance_min if launch else None) or battery_min
    wp_limit = (launch.max_waypoints if launch else None) or waypoint_limit
    check = preflight(sp.mission, limits=_limits(lc, safety, survey, endurance_min, wp_limit),
                      no_fly=zones_nf, terrain=terrain)
    sorties = [SafeSortie(0, 0, sp.mission, sp.report, lc, check)]
    _refuse_if_failing(sorties)
    return SafePlan(sorties, sp.report, [z.name for z in zones_nf], [], sp)


def check_mission(mission: Mission, *, launch: Launch | None, safety: PlanningSafety,
                  no_fly: list[NoFlyZone], terrain: Terrain | None,
                  speed_m_s: float | None = None) -> PreflightResult:
    """The pre-flight check of a stored mission for the drone it is about to be given to."""
    limits = Limits(max_waypoints=launch.max_waypoints if launch else None,
                    usable_flight_s=launch.endurance_min * 60 * (1 - safety.reserve_share)
                    if launch and launch.endurance_min else None,
                    max_alt_agl_m=safety.max_alt_agl_m, min_clearance_m=safety.min_clearance_m)
    res = preflight(mission, limits=limits, no_fly=no_fly, terrain=terrain)
    if launch is not None and mission.home_lat_deg is not None and launch.source != "launch point":
        fr = LocalFrame.around(mission.home_lat_deg, mission.home_lon_deg)
        x, y = fr.to_xy_m(launch.lat, launch.lon)
        hx, hy = fr.to_xy_m(mission.home_lat_deg, mission.home_lon_deg)
        d = float(np.hypot(x - hx, y - hy))
        if d > safety.launch_tolerance_m:
            res.violations.append(Violation(Check.LAUNCH, f"drone {launch.drone_name!r} ({launch.source}) is "
                                                          f"{d:.0f} m from the mission's launch point"))
    return res


# --------------------------------------------------------------------------- helpers
def _fence_around(area: shapely.Geometry, homes: list[tuple[float, float]], margin_m: float) -> shapely.Polygon:
    """Convex hull of the area and the launch points, grown by ``margin_m`` (WGS84, <= ~40 vertices)."""
    geom = shapely.union_all([area, *[shapely.Point(lon, lat) for lat, lon in homes]])
    fr = LocalFrame.for_geometry(geom)
    hull_m = fr.geom_to_m(geom).convex_hull.buffer(margin_m, quad_segs=4)
    return shapely.Polygon(fr.geom_to_wgs84(hull_m.simplify(1.0)).exterior)


def _follow(terrain: Terrain | None, survey: SurveySpec, safety: PlanningSafety) -> TerrainFollow | None:
    if terrain is None:
        return None
    alt = survey.resolve_altitude([])
    if alt < safety.min_clearance_m:
        raise InputError(f"altitude {alt:.0f} m AGL is below the {safety.min_clearance_m:.0f} m minimum clearance")
    return TerrainFollow(terrain, alt_agl_m=alt, min_clearance_m=safety.min_clearance_m,
                         max_alt_agl_m=safety.max_alt_agl_m,
                         max_climb_m_s=safety.max_climb_m_s, max_descent_m_s=safety.max_descent_m_s)


def _launch_of(launches: list[Launch], drone: int, n: int, mission: Mission) -> Launch:
    if launches:
        return launches[drone] if len(launches) == n else launches[0]
    return Launch(mission.home_lat_deg, mission.home_lon_deg, "first waypoint (no launch point given)")


def _limits(lc: Launch, safety: PlanningSafety, survey: SurveySpec, endurance_min, wp_limit) -> Limits:
    minutes = lc.endurance_min or endurance_min
    return Limits(max_waypoints=lc.max_waypoints or wp_limit,
                  usable_flight_s=minutes * 60 * (1 - safety.reserve_share) if minutes else None,
                  max_alt_agl_m=safety.max_alt_agl_m, min_clearance_m=safety.min_clearance_m,
                  turn_cost_s=survey.turn_cost_s)


def _refuse_if_failing(sorties: list[SafeSortie]) -> None:
    bad = [(s, v) for s in sorties for v in s.preflight.violations]
    if bad:
        many = len(sorties) > 1
        raise InputError("pre-flight check failed: " + "; ".join(
            (f"drone {s.drone_index + 1} sortie {s.index + 1}: " if many else "") + str(v) for s, v in bad))
