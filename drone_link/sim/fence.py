"""Geofence check of the simulated vehicle (ArduPilot polygon/circle fence, action RTL).

Fence items arrive as MAVLink mission_type 1: polygon vertices carry the vertex count in
param1 (consecutive items form one polygon), circles carry the radius in param1. The
vehicle must stay inside every inclusion zone and outside every exclusion zone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import Point, Polygon

from drone_link.mission import Cmd, MissionItem

ToLocal = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Fence:
    inclusions: tuple[shapely.Geometry, ...] = ()
    exclusions: tuple[shapely.Geometry, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.inclusions or self.exclusions)

    def breach(self, e_m: float, n_m: float) -> str | None:
        """Why (e, n) breaks the fence, or None."""
        p = Point(e_m, n_m)
        for zone in self.inclusions:
            if not zone.covers(p):
                return "outside inclusion zone"
        for zone in self.exclusions:
            if zone.contains(p):
                return "inside exclusion zone"
        return None

    @classmethod
    def from_items(cls, items: Sequence[MissionItem], to_local: ToLocal) -> Fence:
        inc: list[shapely.Geometry] = []
        exc: list[shapely.Geometry] = []
        i = 0
        while i < len(items):
            it = items[i]
            cmd = int(it.command)
            if cmd in (Cmd.NAV_FENCE_CIRCLE_INCLUSION, Cmd.NAV_FENCE_CIRCLE_EXCLUSION):
                zone = Point(*to_local(it.lat_deg, it.lon_deg)).buffer(max(it.param1, 0.1))
                (inc if cmd == Cmd.NAV_FENCE_CIRCLE_INCLUSION else exc).append(zone)
                i += 1
            elif cmd in (Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION):
                n = max(int(it.param1), 1)
                verts = [to_local(v.lat_deg, v.lon_deg) for v in items[i:i + n]
                         if int(v.command) == cmd]
                if len(verts) >= 3:
                    zone = shapely.make_valid(Polygon(verts))
                    (inc if cmd == Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION else exc).append(zone)
                i += n
            else:
                i += 1  # return point and anything else: not a zone
        return cls(tuple(inc), tuple(exc))
