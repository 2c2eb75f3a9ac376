"""Mission model shared by the planner, the file formats and the MAVLink link.

A :class:`MissionItem` mirrors one MAVLink ``MISSION_ITEM_INT`` (command, frame,
param1..4, lat/lon in degrees, altitude in metres in the frame's datum). A
:class:`Mission` is the three MAVLink mission lists a vehicle holds: the flight
plan (``mission_type`` 0), the geofence (1) and rally points (2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class MissionType(IntEnum):
    MISSION = 0
    FENCE = 1
    RALLY = 2


class Frame(IntEnum):
    """MAV_FRAME values the product uses."""

    GLOBAL = 0  # altitude AMSL
    MISSION = 2  # no position (DO_ commands)
    GLOBAL_RELATIVE_ALT = 3  # altitude above home
    GLOBAL_TERRAIN_ALT = 10
    GLOBAL_INT = 5
    GLOBAL_RELATIVE_ALT_INT = 6
    GLOBAL_TERRAIN_ALT_INT = 11


class Cmd(IntEnum):
    """MAV_CMD values the product emits (numbers from the MAVLink common dialect)."""

    NAV_WAYPOINT = 16
    NAV_LOITER_UNLIM = 17
    NAV_RETURN_TO_LAUNCH = 20
    NAV_LAND = 21
    NAV_TAKEOFF = 22
    DO_CHANGE_SPEED = 178
    DO_SET_HOME = 179
    DO_SET_ROI = 201
    DO_DIGICAM_CONTROL = 203
    DO_MOUNT_CONTROL = 205
    DO_SET_CAM_TRIGG_DIST = 206
    NAV_FENCE_POLYGON_VERTEX_INCLUSION = 5001
    NAV_FENCE_POLYGON_VERTEX_EXCLUSION = 5002
    NAV_FENCE_CIRCLE_INCLUSION = 5003
    NAV_FENCE_CIRCLE_EXCLUSION = 5004
    NAV_RALLY_POINT = 5100


NAV_COMMANDS_WITH_POSITION = frozenset(
    {Cmd.NAV_WAYPOINT, Cmd.NAV_LOITER_UNLIM, Cmd.NAV_LAND, Cmd.NAV_TAKEOFF, Cmd.DO_SET_ROI,
     Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
     Cmd.NAV_FENCE_CIRCLE_INCLUSION, Cmd.NAV_FENCE_CIRCLE_EXCLUSION, Cmd.NAV_RALLY_POINT}
)


@dataclass(frozen=True)
class MissionItem:
    """One mission item, units in names: degrees, metres (altitude datum given by ``frame``)."""

    command: int
    frame: int = Frame.GLOBAL_RELATIVE_ALT
    lat_deg: float = 0.0
    lon_deg: float = 0.0
    alt_m: float = 0.0
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    autocontinue: bool = True
    mission_type: MissionType = MissionType.MISSION
    # height above the DEM ground the planner computed ``alt_m`` (AMSL, frame GLOBAL) from;
    # ground-station information only (QGC "AltitudeMode" 3), never sent to the vehicle
    alt_agl_m: float | None = None

    def same_as(self, other: MissionItem, *, tol_deg: float = 1.5e-7,
                family: str = "ardupilot") -> bool:
        """Equal as ``other`` would be stored by an autopilot of ``family`` (ground-station
        rules of :mod:`drone_link.link.verify`: NaN/0 unused params, float32, frame twins)."""
        from drone_link.link.verify import compare_item

        return not compare_item(self, other, index=0, family=family, latlon_tol_deg=tol_deg)

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.param1, self.param2, self.param3, self.param4)


@dataclass
class Mission:
    """Flight plan, geofence and rally points, plus the planned home position."""

    items: list[MissionItem] = field(default_factory=list)
    fence: list[MissionItem] = field(default_factory=list)
    rally: list[MissionItem] = field(default_factory=list)
    home_lat_deg: float | None = None
    home_lon_deg: float | None = None
    home_alt_amsl_m: float = 0.0
    cruise_speed_m_s: float = 10.0
    hover_speed_m_s: float = 5.0
    vehicle: str = "copter"  # QGC firmware/vehicle type hint

    def items_of(self, mission_type: MissionType) -> list[MissionItem]:
        return {MissionType.MISSION: self.items, MissionType.FENCE: self.fence,
                MissionType.RALLY: self.rally}[MissionType(mission_type)]
