"""The figures every plan reports (typed, units in names)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class PlanReport:
    """What a plan (or one sortie of it) will fly and photograph.

    ``covered_share`` is the share of the zone area inside the union of the photo
    footprints at the simulated trigger points (``covered_share_min_zone`` the
    worst zone). ``flight_time_s`` includes climb, descent and a fixed cost per turn.
    """

    distance_m: float
    flight_time_s: float
    photo_count: int
    gsd_cm_px: float
    covered_share: float
    covered_share_min_zone: float
    zone_area_m2: float
    alt_rel_m: float
    line_spacing_m: float
    trigger_distance_m: float
    turnaround_m: float = 0.0
    sweep_headings_deg: tuple[float, ...] = ()
    item_count: int = 0  # largest mission (items) among the sorties
    sortie_count: int = 1
    drone_count: int = 1
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # altitude datum: "relative_to_home" (alt_rel_m above the take-off point) or
    # "terrain_amsl" (AMSL waypoints from a DEM, alt_rel_m is then the target AGL)
    alt_mode: str = "relative_to_home"
    min_clearance_m: float | None = None  # lowest height over the highest DEM cell under the path
    max_alt_agl_m: float | None = None  # highest height over the ground anywhere on the path
    home_alt_amsl_m: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)
