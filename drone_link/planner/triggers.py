"""Where the camera fires along a path, the photo footprints, and the covered share of a zone.

Distance triggering is simulated as ArduPilot does it: once ``DO_SET_CAM_TRIGG_DIST``
is set (with "trigger now"), a photo is taken whenever the straight-line
distance from the last photo reaches the trigger distance, until it is reset to 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from drone_link.planner.path import Action, CameraOff, CameraOn, Waypoint


@dataclass(frozen=True)
class Photo:
    x_m: float
    y_m: float
    heading_rad: float  # direction of travel, counter-clockwise from east


def trigger_points(actions: list[Action]) -> list[Photo]:
    """Photos taken while flying ``actions`` (metric frame)."""
    photos: list[Photo] = []
    dist = 0.0
    last: tuple[float, float] | None = None
    pos: Waypoint | None = None
    pending_first = False
    for a in actions:
        if isinstance(a, CameraOn):
            dist, pending_first = a.distance_m, True
            if pos is not None:
                last = (pos.x_m, pos.y_m)
            continue
        if isinstance(a, CameraOff):
            dist, pending_first = 0.0, False
            continue
        if pos is None or dist <= 0:
            pos = a
            continue
        ax, ay, bx, by = pos.x_m, pos.y_m, a.x_m, a.y_m
        heading = math.atan2(by - ay, bx - ax)
        if pending_first:
            photos.append(Photo(ax, ay, heading))
            last = (ax, ay)
            pending_first = False
        seg = math.hypot(bx - ax, by - ay)
        u = 0.0
        while seg > 0 and last is not None:
            # solve |a + t (b - a) - last| = dist for the smallest t > u
            dx, dy = (bx - ax) / seg, (by - ay) / seg
            fx, fy = ax - last[0], ay - last[1]
            bq = fx * dx + fy * dy
            cq = fx * fx + fy * fy - dist * dist
            disc = bq * bq - cq
            if disc < 0:
                break
            t = -bq + math.sqrt(disc)
            if t <= u * seg + 1e-9 or t > seg:
                break
            u = t / seg
            px, py = ax + dx * t, ay + dy * t
            photos.append(Photo(px, py, heading))
            last = (px, py)
        pos = a
    return photos


def footprints(photos: list[Photo], *, width_m: float, height_m) -> np.ndarray:
    """Footprint rectangles (metric polygons): width across the travel direction.

    ``height_m`` (along track) may be one number or one per photo.
    """
    if not photos:
        return np.array([], dtype=object)
    p = np.array([(ph.x_m, ph.y_m, ph.heading_rad) for ph in photos])
    ux, uy = np.cos(p[:, 2]), np.sin(p[:, 2])  # along track
    vx, vy = -uy, ux  # across track
    hw, hh = width_m / 2, height_m / 2
    corners = []
    for sa, sc in ((1, 1), (-1, 1), (-1, -1), (1, -1), (1, 1)):
        corners.append(np.column_stack([p[:, 0] + sa * hh * ux + sc * hw * vx,
                                        p[:, 1] + sa * hh * uy + sc * hw * vy]))
    rings = np.stack(corners, axis=1)
    return shapely.polygons(rings)


def swept_footprints(photos: list[Photo], *, width_m: float, height_m: float) -> np.ndarray:
    """Footprints with each straight run merged into one rectangle (same union, far fewer parts).

    Consecutive photos with the same heading, on one line and no further apart
    than the footprint height leave no gap, so their union is the rectangle
    from the first to the last one.
    """
    runs: list[Photo] = []
    lengths: list[float] = []
    i = 0
    while i < len(photos):
        j = i
        while j + 1 < len(photos) and _same_run(photos[j], photos[j + 1], photos[i], height_m):
            j += 1
        a, b = photos[i], photos[j]
        runs.append(Photo((a.x_m + b.x_m) / 2, (a.y_m + b.y_m) / 2, a.heading_rad))
        lengths.append(math.hypot(b.x_m - a.x_m, b.y_m - a.y_m))
        i = j + 1
    if not runs:
        return np.array([], dtype=object)
    return footprints(runs, width_m=width_m, height_m=height_m + np.asarray(lengths))


def _same_run(p: Photo, q: Photo, first: Photo, height_m: float) -> bool:
    if abs(p.heading_rad - q.heading_rad) > 1e-9:
        return False
    if math.hypot(q.x_m - p.x_m, q.y_m - p.y_m) > height_m:
        return False
    # q on the line through first along the heading
    dx, dy = q.x_m - first.x_m, q.y_m - first.y_m
    return abs(-math.sin(first.heading_rad) * dx + math.cos(first.heading_rad) * dy) < 1e-6


def covered_share(zone_m: shapely.Geometry, prints: np.ndarray) -> float:
    """Share of ``zone_m`` area inside the union of ``prints`` (0..1)."""
    if zone_m.area <= 0:
        return 1.0
    if len(prints) == 0:
        return 0.0
    covered = shapely.union_all(prints)
    return float(shapely.intersection(zone_m, covered).area / zone_m.area)
