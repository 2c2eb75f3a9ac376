"""Size budgets of a survey, checked before and after planning.

Planning a Korea-sized box at 80 m reached 4.3 GB before it was killed: the planner
materialises every sweep line and photo. :func:`check_survey_size` estimates the photo
count from the area and the camera footprint (area / (line spacing x trigger
distance)) and refuses before any of that is built; :func:`check_mission_size` caps
the waypoints of each planned flight (vehicles hold a few hundred to a few thousand).
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely

from drone_link.planner.errors import PlanningError
from drone_link.planner.spec import SurveySpec
from geo.budget import area_km2


@dataclass(frozen=True)
class PlanLimits:
    max_area_km2: float = 2_000.0
    max_photos: int = 20_000
    max_waypoints: int = 2_000


def check_survey_size(zones_wgs84: shapely.Geometry, spec: SurveySpec, limits: PlanLimits) -> None:
    """Refuse a survey whose area or estimated photo count is over the limits."""
    a_km2 = area_km2(zones_wgs84)
    if a_km2 > limits.max_area_km2:
        raise PlanningError(f"survey area {a_km2:,.1f} km² is larger than the limit of "
                            f"{limits.max_area_km2:g} km² (setting limits.aoi_max_area_km2); split it")
    alt_m = spec.resolve_altitude([])
    _, _, spacing_m, trigger_m = spec.swath_geometry(alt_m)
    photos = a_km2 * 1e6 / max(spacing_m * trigger_m, 1e-6)
    if photos > limits.max_photos:
        raise PlanningError(f"survey needs about {photos:,.0f} photos at {alt_m:.0f} m, more than the "
                            f"limit of {limits.max_photos} (setting limits.plan_max_photos); "
                            "split the area or fly higher")


def check_mission_size(missions, limits: PlanLimits) -> None:
    """Refuse planned flights with more mission items than ``limits.max_waypoints``."""
    for i, m in enumerate(missions, start=1):
        if len(m.items) > limits.max_waypoints:
            raise PlanningError(f"flight {i} has {len(m.items)} mission items, more than the limit of "
                                f"{limits.max_waypoints} (setting limits.plan_max_waypoints); "
                                "split the area or use more sorties")
