"""Pre-flight check: every reason a mission must not be dispatched, listed at once.

Checks the mission *as it will be uploaded* (items, fence, planned home), so it
also catches missions planned before a no-fly zone was imported, files edited
by hand, or a drone with a smaller waypoint memory or battery than planned for:

- ``launch``: a planned home position exists and is flyable;
- ``fence``: an inclusion geofence exists and the whole path stays inside it;
- ``no_fly``: the path (home → items → home) meets no no-fly zone (each named);
- ``altitude``: no waypoint above the legal cap AGL (150 m in Korea) or at/below 0;
- ``waypoints``: items + home fit the vehicle's mission memory;
- ``endurance``: estimated flight time fits the usable battery;
- ``terrain``: clearance over the DEM along every segment (only with a DEM).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import shapely

from drone_link.mission import Cmd, Frame, Mission
from drone_link.planner.path import Waypoint, turn_count
from drone_link.planner.spec import KOREA_MAX_ALT_AGL_M
from drone_link.planner.terrain import Terrain
from geo.crs import LocalFrame

_RELATIVE = {int(Frame.GLOBAL_RELATIVE_ALT), int(Frame.GLOBAL_RELATIVE_ALT_INT)}
_AMSL = {int(Frame.GLOBAL), int(Frame.GLOBAL_INT)}
_TERRAIN = {int(Frame.GLOBAL_TERRAIN_ALT), int(Frame.GLOBAL_TERRAIN_ALT_INT)}
_FLY_TO = {int(Cmd.NAV_WAYPOINT), int(Cmd.NAV_TAKEOFF), int(Cmd.NAV_LOITER_UNLIM), int(Cmd.NAV_LAND)}


class Check(str, Enum):
    LAUNCH = "launch"
    FENCE = "fence"
    NO_FLY = "no_fly"
    ALTITUDE = "altitude"
    WAYPOINTS = "waypoints"
    ENDURANCE = "endurance"
    TERRAIN = "terrain"


@dataclass(frozen=True)
class Violation:
    check: Check
    message: str
    item: int | None = None  # mission item index (0 = first item after home)

    def __str__(self) -> str:
        return f"{self.check.value}: {self.message}"


@dataclass(frozen=True)
class NoFlyZone:
    name: str
    polygon: shapely.Polygon  # WGS84
    lower_m: float | None = None  # floor AGL: a mission entirely below it does not conflict


@dataclass(frozen=True)
class Limits:
    """What the vehicle and the rules allow; ``None`` = not checked."""

    max_waypoints: int | None = None
    usable_flight_s: float | None = None
    max_alt_agl_m: float = KOREA_MAX_ALT_AGL_M
    min_clearance_m: float = 30.0
    turn_cost_s: float = 4.0
    climb_m_s: float = 3.0
    descent_m_s: float = 1.5


@dataclass
class PreflightResult:
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    flight_time_s: float = 0.0
    min_clearance_m: float | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        """All violations on one line (``; ``-separated), or ``ok``."""
        return "; ".join(map(str, self.violations)) if self.violations else "ok"

    def to_dict(self) -> dict:
        return {"ok": self.ok, "violations": [{"check": v.check.value, "message": v.message, "item": v.item}
                                              for v in self.violations],
                "warnings": list(self.warnings), "flight_time_s": round(self.flight_time_s, 1),
                "min_clearance_m": None if self.min_clearance_m is None else round(self.min_clearance_m, 1)}


def preflight(mission: Mission, *, limits: Limits, no_fly: list[NoFlyZone] = (),
              terrain: Terrain | None = None) -> PreflightResult:
    """Every violation of ``mission`` against ``limits``, the no-fly zones and the terrain."""
    res = PreflightResult()
    v = res.violations
    if mission.home_lat_deg is None or mission.home_lon_deg is None:
        v.append(Violation(Check.LAUNCH, "the mission has no planned home (launch point)"))
        return res
    home = (float(mission.home_lat_deg), float(mission.home_lon_deg))
    # the flown path: home, every positioned item, back home (RTL)
    pts: list[tuple[float, float, float | None, int, int | None]] = []  # lat, lon, alt, frame, item
    for i, it in enumerate(mission.items):
        if int(it.command) in _FLY_TO and not (it.lat_deg == 0 and it.lon_deg == 0):
            pts.append((it.lat_deg, it.lon_deg, it.alt_m, int(it.frame), i))
    home_amsl = float(mission.home_alt_amsl_m)
    if terrain is not None:
        g = terrain.ground_amsl_m(home[0], home[1])[0]
        if np.isfinite(g):
            home_amsl = float(g) if home_amsl == 0.0 else home_amsl
    path = [(home[0], home[1])] + [(p[0], p[1]) for p in pts] + [(home[0], home[1])]
    line = shapely.LineString([(lon, lat) for lat, lon in path]) if len(path) > 1 else None

    _check_fence(mission, path, line, v)
    _check_no_fly(path, line, pts, no_fly, limits, v)
    n_items = len(mission.items) + 1
    if limits.max_waypoints is not None and n_items > limits.max_waypoints:
        v.append(Violation(Check.WAYPOINTS, f"{n_items} items (with home) exceed the vehicle's "
                                            f"{limits.max_waypoints}"))
    rel = _heights_over_home(pts, home_amsl)
    for (lat, lon, alt, frame, item), h in zip(pts, rel):
        if frame in _TERRAIN:
            agl = alt
        elif terrain is not None:
            g = terrain.ground_amsl_m(lat, lon)[0]
            agl = (h + home_amsl - g) if np.isfinite(g) else None
        else:
            agl = h  # relative to home: the only height known without a DEM
        if agl is not None and agl > limits.max_alt_agl_m + 0.5:
            v.append(Violation(Check.ALTITUDE, f"item {item}: {agl:.0f} m above ground is over the "
                                               f"{limits.max_alt_agl_m:.0f} m cap", item))
        if h <= 0 and int(mission.items[item].command) != Cmd.NAV_LAND:
            v.append(Violation(Check.ALTITUDE, f"item {item}: {h:.0f} m above home", item))
    res.flight_time_s = _flight_time_s(path, rel, mission.cruise_speed_m_s, limits)
    if limits.usable_flight_s is not None and res.flight_time_s > limits.usable_flight_s * 1.02:
        v.append(Violation(Check.ENDURANCE, f"about {res.flight_time_s / 60:.1f} min of flight exceeds the "
                                            f"usable {limits.usable_flight_s / 60:.1f} min (battery after reserve)"))
    if terrain is None:
        res.warnings.append("terrain clearance not checked: no DEM")
    else:
        _check_terrain(home, home_amsl, pts, rel, terrain, limits, res)
    return res


def estimate_flight_time_s(mission: Mission, *, limits: Limits | None = None) -> float:
    """Flight time of ``mission`` as the pre-flight check estimates it (climbs over terrain included)."""
    limits = limits or Limits()
    if mission.home_lat_deg is None or mission.home_lon_deg is None:
        return 0.0
    home = (float(mission.home_lat_deg), float(mission.home_lon_deg))
    pts = [(it.lat_deg, it.lon_deg, it.alt_m, int(it.frame), i) for i, it in enumerate(mission.items)
           if int(it.command) in _FLY_TO and not (it.lat_deg == 0 and it.lon_deg == 0)]
    path = [home] + [(p[0], p[1]) for p in pts] + [home]
    return _flight_time_s(path, _heights_over_home(pts, float(mission.home_alt_amsl_m)),
                          mission.cruise_speed_m_s, limits)


def _check_fence(mission: Mission, path, line, v: list[Violation]) -> None:
    polys, i = [], 0
    fence = mission.fence
    while i < len(fence):
        it = fence[i]
        if int(it.command) == Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION:
            n = max(3, round(it.param1))
            polys.append(shapely.Polygon([(f.lon_deg, f.lat_deg) for f in fence[i:i + n]]))
            i += n
        elif int(it.command) == Cmd.NAV_FENCE_CIRCLE_INCLUSION:
            lat, lon = it.lat_deg, it.lon_deg
            fr = LocalFrame.around(lat, lon)
            x, y = fr.to_xy_m(lat, lon)
            polys.append(fr.geom_to_wgs84(shapely.Point(float(x), float(y)).buffer(it.param1)))
            i += 1
        else:
            i += max(1, round(it.param1)) if int(it.command) == Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION else 1
    if not polys:
        v.append(Violation(Check.FENCE, "no inclusion geofence: the autopilot could not stop a fly-away"))
        return
    region = shapely.union_all([p if p.is_valid else shapely.make_valid(p) for p in polys])
    if not region.covers(shapely.Point(path[0][1], path[0][0])):
        v.append(Violation(Check.LAUNCH, "the launch point is outside the geofence"))
    if line is not None and not region.covers(line):
        for k in range(1, len(path)):
            seg = shapely.LineString([(path[k - 1][1], path[k - 1][0]), (path[k][1], path[k][0])])
            if not region.covers(seg):
                v.append(Violation(Check.FENCE, f"the path leaves the geofence before item {k - 1}"
                                   if k < len(path) - 1 else "the return home leaves the geofence"))
                break


def _check_no_fly(path, line, pts, zones, limits: Limits, v: list[Violation]) -> None:
    if line is None:
        return
    home = shapely.Point(path[0][1], path[0][0])
    for z in zones:
        if z.lower_m is not None and z.lower_m >= limits.max_alt_agl_m:
            continue  # the zone starts above anything this mission may fly
        if not z.polygon.intersects(line):
            continue
        if z.polygon.covers(home):
            v.append(Violation(Check.LAUNCH, f"the launch point is inside no-fly zone {z.name!r}"))
            continue
        where = "the return home"
        for k in range(1, len(path)):
            seg = shapely.LineString([(path[k - 1][1], path[k - 1][0]), (path[k][1], path[k][0])])
            if z.polygon.intersects(seg):
                where = f"the leg to item {pts[k - 1][4]}" if k - 1 < len(pts) else "the return home"
                break
        v.append(Violation(Check.NO_FLY, f"{where} crosses no-fly zone {z.name!r}"))


def _heights_over_home(pts, home_amsl: float) -> list[float]:
    """Height of each point over the home position, metres (AMSL frames: minus home AMSL)."""
    out = []
    for _lat, _lon, alt, frame, _ in pts:
        if frame in _AMSL:
            out.append(alt - home_amsl)
        else:
            out.append(alt)  # relative (and terrain frames: best known without the vehicle's data)
    return out


def _flight_time_s(path, rel, speed_m_s: float, limits: Limits) -> float:
    """Take-off climb, each leg at cruise speed or the vertical rate if that is slower, one turn
    cost per heading change over 10 degrees, the return home at the last height, the descent."""
    if len(path) < 2:
        return 0.0
    fr = LocalFrame.around(*path[0])
    x, y = fr.to_xy_m(np.array([p[0] for p in path]), np.array([p[1] for p in path]))
    x, y = np.atleast_1d(x), np.atleast_1d(y)
    h = [0.0, *rel, rel[-1] if rel else 0.0]  # home on the ground, the points, home at the last height
    v = max(speed_m_s, 0.1)
    t = 0.0
    for k in range(1, len(path)):
        d = math.hypot(x[k] - x[k - 1], y[k] - y[k - 1])
        dz = h[k] - h[k - 1]
        t += max(d / v, dz / limits.climb_m_s if dz > 0 else -dz / limits.descent_m_s)
    turns = turn_count([Waypoint(float(a), float(b)) for a, b in zip(x, y)])
    return t + turns * limits.turn_cost_s + max(h[-1], 0.0) / limits.descent_m_s


def _check_terrain(home, home_amsl, pts, rel, terrain: Terrain, limits: Limits, res: PreflightResult) -> None:
    if not pts:
        return
    fr = LocalFrame.around(*home)
    lat = np.array([p[0] for p in pts])
    lon = np.array([p[1] for p in pts])
    x, y = fr.to_xy_m(lat, lon)
    z = np.array(rel) + home_amsl
    step = max(2.0, terrain.cell_m / 4)
    worst: tuple[float, int] | None = None
    high: tuple[float, int] | None = None
    for k in range(1, len(pts)):
        if pts[k][3] in _TERRAIN:
            continue
        d = math.hypot(x[k] - x[k - 1], y[k] - y[k - 1])
        u = np.linspace(0.0, 1.0, max(2, math.ceil(d / step) + 1))
        la, lo = fr.to_latlon(x[k - 1] + (x[k] - x[k - 1]) * u, y[k - 1] + (y[k] - y[k - 1]) * u)
        g = terrain.ground_max_amsl_m(la, lo)
        if not np.isfinite(g).all():
            res.warnings.append(f"terrain: no DEM ground under the leg to item {pts[k][4]}")
            g = np.where(np.isfinite(g), g, -np.inf)
        zs = z[k - 1] + (z[k] - z[k - 1]) * u
        c = float(np.min(zs - g))
        top = float(np.nanmax(zs - terrain.ground_amsl_m(la, lo)))
        if top > limits.max_alt_agl_m + 0.5 and (high is None or top > high[0]):
            high = (top, pts[k][4])
        if worst is None or c < worst[0]:
            worst = (c, pts[k][4])
    if high is not None:
        res.violations.append(Violation(
            Check.ALTITUDE, f"the leg to item {high[1]} rises to {high[0]:.0f} m above the ground, over the "
                            f"{limits.max_alt_agl_m:.0f} m cap", high[1]))
    if worst is None:
        return
    res.min_clearance_m = worst[0]
    if worst[0] < limits.min_clearance_m - 0.1:  # 0.1 m: altitudes are stored to 1 cm
        res.violations.append(Violation(
            Check.TERRAIN, f"the leg to item {worst[1]} passes {worst[0]:.0f} m over the ground "
                           f"(minimum {limits.min_clearance_m:.0f} m)", worst[1]))
