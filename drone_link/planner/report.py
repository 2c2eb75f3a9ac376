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

    def to_dict(self) -> dict:
        return asdict(self)
