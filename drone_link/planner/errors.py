"""Planner exceptions: one clear line for the user, the details in the attributes."""

from __future__ import annotations


class PlanningError(ValueError):
    """A coverage or search plan cannot be made from the given inputs."""


class AltitudeCapError(PlanningError):
    """The requested (or GSD-derived) altitude is above the legal/configured cap."""

    def __init__(self, alt_rel_m: float, cap_m: float, *, reason: str = "") -> None:
        self.alt_rel_m = alt_rel_m
        self.cap_m = cap_m
        extra = f" ({reason})" if reason else ""
        super().__init__(
            f"altitude {alt_rel_m:.1f} m AGL is above the cap of {cap_m:.1f} m{extra}; "
            "lower the altitude, relax the GSD or allow clamping (clamp_altitude, --clamp-alt)"
        )


class InfeasibleRouteError(PlanningError):
    """No path between two points stays inside the fence and outside every no-fly zone."""
