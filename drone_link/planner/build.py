"""Turning a metric path into a MAVLink mission: takeoff, speed, waypoints, camera, RTL."""

from __future__ import annotations

import numpy as np
import shapely

from drone_link.mission import Cmd, Frame, Mission, MissionItem, MissionType
from drone_link.planner.path import Action, CameraOff, CameraOn, Waypoint
from geo.crs import LocalFrame

NAN = float("nan")


def mission_items(actions: list[Action], *, frame: LocalFrame, home_latlon: tuple[float, float],
                  alt_rel_m: float, speed_m_s: float) -> list[MissionItem]:
    """Items of one sortie: takeoff at home, set speed, the path, RTL.

    Waypoints carry yaw NaN ("keep the autopilot's yaw behaviour", QGC's null)
    so PX4 does not turn north; the camera items trigger once at once (param3=1)
    when switched on.
    """
    wps = [a for a in actions if isinstance(a, Waypoint)]
    lat, lon = frame.to_latlon(np.array([w.x_m for w in wps]), np.array([w.y_m for w in wps]))
    latlon = iter(zip(np.atleast_1d(lat).tolist(), np.atleast_1d(lon).tolist()))
    items = [
        MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, home_latlon[0], home_latlon[1],
                    alt_rel_m, param4=NAN),
        MissionItem(Cmd.DO_CHANGE_SPEED, Frame.MISSION, param1=1.0, param2=speed_m_s, param3=-1.0),
    ]
    for a in actions:
        if isinstance(a, Waypoint):
            la, lo = next(latlon)
            items.append(MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT, la, lo, alt_rel_m,
                                     param4=NAN))
        elif isinstance(a, CameraOn):
            items.append(MissionItem(Cmd.DO_SET_CAM_TRIGG_DIST, Frame.MISSION,
                                     param1=round(a.distance_m, 2), param3=1.0))
        elif isinstance(a, CameraOff):
            items.append(MissionItem(Cmd.DO_SET_CAM_TRIGG_DIST, Frame.MISSION))
    items.append(MissionItem(Cmd.NAV_RETURN_TO_LAUNCH, Frame.MISSION))
    return items


def fence_items(*, fence: shapely.Polygon | None,
                exclusions: tuple[shapely.Polygon, ...]) -> list[MissionItem]:
    """Geofence items (``mission_type`` 1): polygon vertices, param1 = vertex count."""
    out: list[MissionItem] = []
    polys = ([(fence, Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION)] if fence is not None else []) + \
        [(e, Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION) for e in exclusions]
    for poly, cmd in polys:
        coords = list(shapely.geometry.polygon.orient(poly).exterior.coords)[:-1]
        for lon, lat in coords:
            out.append(MissionItem(cmd, Frame.GLOBAL, lat, lon, 0.0, param1=float(len(coords)),
                                   mission_type=MissionType.FENCE))
    return out


def make_mission(items: list[MissionItem], *, fence: list[MissionItem],
                 home_latlon: tuple[float, float], speed_m_s: float,
                 home_alt_amsl_m: float = 0.0) -> Mission:
    return Mission(items=items, fence=list(fence), home_lat_deg=home_latlon[0],
                   home_lon_deg=home_latlon[1], cruise_speed_m_s=speed_m_s,
                   hover_speed_m_s=speed_m_s, home_alt_amsl_m=round(home_alt_amsl_m, 2))



def mission_items_amsl(actions: list[Action], *, frame: LocalFrame, alt_amsl_m: list[float],
                       ground_amsl_m: list[float], speed_m_s: float) -> list[MissionItem]:
    """Items of one terrain-following sortie; ``actions`` run from home to home.

    Take-off is relative to home (up to the first profiled altitude over the home
    ground); every waypoint, the return over home included, is AMSL (frame GLOBAL)
    with the height over the DEM ground kept as ``alt_agl_m``; then RTL, which
    only has to descend.
    """
    wps = [a for a in actions if isinstance(a, Waypoint)]
    if len(wps) != len(alt_amsl_m) or len(wps) != len(ground_amsl_m):
        raise ValueError("one altitude and one ground height per waypoint")
    lat, lon = frame.to_latlon(np.array([w.x_m for w in wps]), np.array([w.y_m for w in wps]))
    lat, lon = np.atleast_1d(lat).tolist(), np.atleast_1d(lon).tolist()
    takeoff_rel_m = round(alt_amsl_m[0] - ground_amsl_m[0], 2)
    items = [
        MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, lat[0], lon[0], takeoff_rel_m,
                    param4=NAN),
        MissionItem(Cmd.DO_CHANGE_SPEED, Frame.MISSION, param1=1.0, param2=speed_m_s, param3=-1.0),
    ]
    k = 0
    for a in actions:
        if isinstance(a, Waypoint):
            if k > 0:
                items.append(MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL, lat[k], lon[k],
                                         round(alt_amsl_m[k], 2), param4=NAN,
                                         alt_agl_m=round(alt_amsl_m[k] - ground_amsl_m[k], 2)))
            k += 1
        elif isinstance(a, CameraOn):
            items.append(MissionItem(Cmd.DO_SET_CAM_TRIGG_DIST, Frame.MISSION,
                                     param1=round(a.distance_m, 2), param3=1.0))
        elif isinstance(a, CameraOff):
            items.append(MissionItem(Cmd.DO_SET_CAM_TRIGG_DIST, Frame.MISSION))
    items.append(MissionItem(Cmd.NAV_RETURN_TO_LAUNCH, Frame.MISSION))
    return items
