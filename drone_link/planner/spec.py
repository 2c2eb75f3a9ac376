"""Typed planning inputs: what to fly (survey), where not to fly (airspace), how long (endurance).

Every field carries its unit; :meth:`SurveySpec.resolve_altitude` applies the
altitude cap (150 m AGL by default: the Korean limit for small drones without a
special flight approval).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import shapely

from drone_link.planner.camera import CameraModel
from drone_link.planner.errors import AltitudeCapError, PlanningError

logger = logging.getLogger(__name__)

KOREA_MAX_ALT_AGL_M = 150.0


@dataclass(frozen=True)
class SurveySpec:
    """Camera, altitude (or target GSD), overlaps and flight speed of a survey.

    ``turnaround_m`` extends every leg beyond the zone so the vehicle is straight
    and level (and the camera triggering) when it enters the zone again.
    """

    camera: CameraModel
    alt_rel_m: float | None = None
    target_gsd_cm_px: float | None = None
    front_overlap: float = 0.75
    side_overlap: float = 0.65
    speed_m_s: float = 8.0
    turnaround_m: float = 10.0
    max_alt_rel_m: float = KOREA_MAX_ALT_AGL_M
    clamp_altitude: bool = False
    sweep_angle_deg: float | None = None  # None = choose; else leg heading, clockwise from north
    turn_cost_s: float = 4.0  # time lost per turn (decelerate, stop, accelerate)

    def __post_init__(self) -> None:
        if (self.alt_rel_m is None) == (self.target_gsd_cm_px is None):
            raise PlanningError("give exactly one of alt_rel_m and target_gsd_cm_px")
        if self.alt_rel_m is not None and self.alt_rel_m <= 0:
            raise PlanningError(f"alt_rel_m must be positive, got {self.alt_rel_m}")
        for label, v in (("front_overlap", self.front_overlap), ("side_overlap", self.side_overlap)):
            if not 0.0 <= v < 0.95:
                raise PlanningError(f"{label} must be in [0, 0.95), got {v}")
        if self.speed_m_s <= 0:
            raise PlanningError(f"speed_m_s must be positive, got {self.speed_m_s}")
        if self.turnaround_m < 0:
            raise PlanningError(f"turnaround_m must be >= 0, got {self.turnaround_m}")

    def resolve_altitude(self, warnings: list[str]) -> float:
        """Altitude AGL in metres, checked against the cap (error, or clamp + warning)."""
        if self.alt_rel_m is not None:
            alt, why = self.alt_rel_m, "requested altitude"
        else:
            alt = self.camera.alt_for_gsd_m(float(self.target_gsd_cm_px))
            why = f"needed for {self.target_gsd_cm_px} cm/px with {self.camera.name}"
        if alt > self.max_alt_rel_m + 1e-9:
            if not self.clamp_altitude:
                raise AltitudeCapError(alt, self.max_alt_rel_m, reason=why)
            msg = (f"altitude {alt:.1f} m ({why}) clamped to the {self.max_alt_rel_m:.0f} m cap; "
                   f"GSD becomes {self.camera.gsd_cm_px(self.max_alt_rel_m):.2f} cm/px")
            logger.warning(msg)
            warnings.append(msg)
            alt = self.max_alt_rel_m
        return alt

    def swath_geometry(self, alt_m: float) -> tuple[float, float, float, float]:
        """(footprint width, footprint height, line spacing, trigger distance) in metres."""
        width_m, height_m = self.camera.footprint_m(alt_m)
        return (width_m, height_m, width_m * (1 - self.side_overlap),
                height_m * (1 - self.front_overlap))


@dataclass(frozen=True)
class Airspace:
    """Where the drone may fly: an optional inclusion fence and no-fly (exclusion) polygons (WGS84).

    ``margin_m`` keeps the path that far inside the fence and outside every exclusion.
    """

    fence: shapely.Polygon | None = None
    exclusions: tuple[shapely.Polygon, ...] = ()
    margin_m: float = 5.0
    exclusion_names: tuple[str, ...] = ()  # one per exclusion (imported layer names); else "no-fly #i"

    def __post_init__(self) -> None:
        if self.margin_m < 0:
            raise PlanningError(f"margin_m must be >= 0, got {self.margin_m}")
        if self.fence is not None and not isinstance(self.fence, shapely.Polygon):
            raise PlanningError("fence must be one Polygon")
        for i, poly in enumerate(self.exclusions):
            if not isinstance(poly, shapely.Polygon) or poly.is_empty:
                raise PlanningError(f"exclusion {i} is not a non-empty Polygon")

    @property
    def constrained(self) -> bool:
        return self.fence is not None or bool(self.exclusions)

    def name_of(self, i: int) -> str:
        return self.exclusion_names[i] if i < len(self.exclusion_names) else f"no-fly #{i + 1}"

    def names_meeting(self, geom_wgs84: shapely.Geometry) -> list[str]:
        """Names of the exclusions that ``geom_wgs84`` touches or crosses."""
        return [self.name_of(i) for i, e in enumerate(self.exclusions) if e.intersects(geom_wgs84)]

    def describe_point(self, lat: float, lon: float) -> str:
        """Why a point is not flyable: inside which zone, or outside the fence (or within the margin)."""
        p = shapely.Point(lon, lat)
        inside = self.names_meeting(p)
        if inside:
            return "inside no-fly zone " + ", ".join(map(repr, inside))
        if self.fence is not None and not self.fence.covers(p):
            return "outside the geofence"
        return f"within the {self.margin_m:g} m safety margin of the fence or a no-fly zone"


@dataclass(frozen=True)
class Endurance:
    """Battery endurance: flight minutes on a full pack and the share kept in reserve."""

    battery_min: float
    reserve_share: float = 0.25
    climb_m_s: float = 3.0
    descent_m_s: float = 1.5

    def __post_init__(self) -> None:
        if self.battery_min <= 0:
            raise PlanningError(f"battery_min must be positive, got {self.battery_min}")
        if not 0.0 <= self.reserve_share < 0.9:
            raise PlanningError(f"reserve_share must be in [0, 0.9), got {self.reserve_share}")

    @property
    def usable_s(self) -> float:
        return self.battery_min * 60.0 * (1.0 - self.reserve_share)


@dataclass(frozen=True)
class FlightModel:
    """Simple time model: cruise speed, a fixed loss per turn, vertical rates."""

    speed_m_s: float
    turn_cost_s: float = 4.0
    climb_m_s: float = 3.0
    descent_m_s: float = 1.5

    def vertical_s(self, alt_m: float) -> float:
        return alt_m / self.climb_m_s + alt_m / self.descent_m_s
