"""Coverage and search mission planning (metric work in a local UTM frame from ``geo.crs``).

Entry points: :func:`plan_coverage` (lawnmower surveys of zones, with no-fly
zones, fence, endurance and several drones), :func:`expanding_square` and
:func:`sector_search` (search around a point). Every plan carries a
:class:`PlanReport`.
"""

from drone_link.planner.camera import CAMERA_PRESETS, CameraModel, camera_preset
from drone_link.planner.coverage import CoveragePlan, Sortie, as_polygons, plan_coverage
from drone_link.planner.errors import AltitudeCapError, InfeasibleRouteError, PlanningError
from drone_link.planner.report import PlanReport
from drone_link.planner.search import SearchPlan, expanding_square, parallel_track, sector_search
from drone_link.planner.spec import KOREA_MAX_ALT_AGL_M, Airspace, Endurance, SurveySpec

__all__ = [
    "CAMERA_PRESETS",
    "KOREA_MAX_ALT_AGL_M",
    "Airspace",
    "AltitudeCapError",
    "CameraModel",
    "CoveragePlan",
    "Endurance",
    "InfeasibleRouteError",
    "PlanReport",
    "PlanningError",
    "SearchPlan",
    "Sortie",
    "SurveySpec",
    "as_polygons",
    "camera_preset",
    "expanding_square",
    "parallel_track",
    "plan_coverage",
    "sector_search",
]
