"""Camera view sectors: the ground area each camera sees, as polygons in a metric CRS.

A camera at ``lat, lon`` looking along ``heading_deg`` (clockwise from true north) with a
horizontal field of view ``fov_deg`` and a useful range ``range_m`` sees a circular sector;
``fov_deg >= 360`` (rotating / 360° cameras) gives a disc. Sectors are built for all
cameras at once with shapely 2 array functions: one ``shapely.polygons`` call per distinct
vertex count, never a Python loop per camera.

Bad rows never crash a batch: every camera gets a ``valid`` flag and a ``reason``.
Missing values (NaN) are filled from caller-supplied :class:`SectorDefaults` when given
(the product's defaults live in ``disaster_ops`` settings, not here).

Arcs are polygonised with one vertex every ``arc_step_deg`` (default 10°), so a disc is an
inscribed 36-gon covering 99.5 % of the true circle: slightly conservative coverage.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import shapely

from geo.crs import LocalFrame

logger = logging.getLogger(__name__)

DEFAULT_ARC_STEP_DEG = 10.0


@dataclass(frozen=True)
class SectorDefaults:
    """Values used where a camera's own value is missing (NaN). None = no default (row invalid)."""

    heading_deg: float | None = None
    fov_deg: float | None = None
    range_m: float | None = None


@dataclass
class Cameras:
    """Cameras as parallel arrays (WGS84 degrees, metres). Build with :meth:`from_records`.

    ``ids`` are caller keys (strings), carried through to results.
    """

    lat: np.ndarray
    lon: np.ndarray
    heading_deg: np.ndarray
    fov_deg: np.ndarray
    range_m: np.ndarray
    ids: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        arrays = [np.atleast_1d(np.asarray(a, dtype=float)) for a in
                  (self.lat, self.lon, self.heading_deg, self.fov_deg, self.range_m)]
        n = arrays[0].shape[0]
        arrays = [np.broadcast_to(a, (n,)).astype(float) if a.shape != (n,) else a for a in arrays]
        self.lat, self.lon, self.heading_deg, self.fov_deg, self.range_m = arrays
        if self.ids is None:
            self.ids = np.arange(n).astype(str)
        self.ids = np.asarray(self.ids, dtype=object)
        if self.ids.shape != (n,):
            raise ValueError(f"ids has shape {self.ids.shape}, expected ({n},)")

    def __len__(self) -> int:
        return int(self.lat.shape[0])

    @classmethod
    def from_records(cls, records: Iterable) -> Cameras:
        """From objects with ``lat, lon, heading_deg, fov_deg, range_m`` attributes (None → NaN).

        An optional ``source_key`` or ``id`` attribute becomes the id.
        """
        rows = list(records)

        def col(name: str) -> np.ndarray:
            return np.array([np.nan if getattr(r, name, None) is None else float(getattr(r, name)) for r in rows],
                            dtype=float)

        ids = np.array([str(getattr(r, "source_key", None) or getattr(r, "id", None) or i)
                        for i, r in enumerate(rows)], dtype=object)
        return cls(col("lat"), col("lon"), col("heading_deg"), col("fov_deg"), col("range_m"), ids)

    def subset(self, index) -> Cameras:
        """The cameras selected by an index array or boolean mask."""
        return Cameras(self.lat[index], self.lon[index], self.heading_deg[index], self.fov_deg[index],
                       self.range_m[index], self.ids[index])


@dataclass
class ViewSectors:
    """Result of :func:`view_sectors`: one entry per input camera, in input order.

    Attributes:
        polygons_m: shapely Polygons in ``frame`` metres; None where invalid.
        valid: True where the camera produced a polygon.
        reasons: '' where valid, else why not (e.g. ``"fov_deg <= 0"``).
        frame: the metric frame of ``polygons_m``.
        cameras: the (default-filled) camera arrays actually used.
    """

    polygons_m: np.ndarray
    valid: np.ndarray
    reasons: np.ndarray
    frame: LocalFrame
    cameras: Cameras
    # (N, 5): apex x, y (frame metres), grid heading (degrees clockwise from grid north),
    # fov (degrees, 360 = disc) and reach (frame metres) of each polygon; NaN where invalid.
    # Lets a union reason about the shapes without reading their vertices (geo.union).
    params_m: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.valid.shape[0])

    @property
    def invalid_count(self) -> int:
        return int((~self.valid).sum())

    def to_wgs84(self) -> np.ndarray:
        """Polygons in lon/lat (None where invalid)."""
        out = np.full(len(self), None, dtype=object)
        out[self.valid] = self.frame.geom_to_wgs84(self.polygons_m[self.valid])
        return out

    def problems(self) -> list[tuple[str, str]]:
        """(camera id, reason) for every invalid camera."""
        idx = np.flatnonzero(~self.valid)
        return [(str(self.cameras.ids[i]), str(self.reasons[i])) for i in idx]


def _fill(values: np.ndarray, default: float | None) -> tuple[np.ndarray, np.ndarray]:
    missing = np.isnan(values)
    if default is not None and missing.any():
        values = np.where(missing, float(default), values)
        missing = np.zeros_like(missing)
    return values, missing


def _validate(cams: Cameras) -> np.ndarray:
    """Per-camera reason strings ('' = valid); first problem wins."""
    n = len(cams)
    reasons = np.full(n, "", dtype=object)
    disc = cams.fov_deg >= 360.0
    checks = [
        (~np.isfinite(cams.lat) | (np.abs(cams.lat) > 90.0), "lat missing or outside [-90, 90]"),
        (~np.isfinite(cams.lon) | (np.abs(cams.lon) > 180.0), "lon missing or outside [-180, 180]"),
        ((cams.lat == 0.0) & (cams.lon == 0.0), "lat/lon is 0,0 (placeholder coordinates)"),
        (np.isnan(cams.fov_deg), "fov_deg missing"),
        (np.isinf(cams.fov_deg) | (cams.fov_deg <= 0.0), "fov_deg <= 0 or infinite"),
        (np.isnan(cams.range_m), "range_m missing"),
        (~np.isfinite(cams.range_m) | (cams.range_m <= 0.0), "range_m <= 0 or infinite"),
        (~disc & np.isnan(cams.heading_deg), "heading_deg missing"),
        (~disc & np.isinf(cams.heading_deg), "heading_deg infinite"),
    ]
    for bad, why in checks:
        hit = bad & (reasons == "")
        reasons[hit] = why
    return reasons


@dataclass
class SectorShapes:
    """The shape of every camera's sector without its vertices (what :func:`view_sectors`
    builds its polygons from); one entry per input camera, in input order.

    ``params_m`` rows are (apex x, apex y in ``frame`` metres, grid heading in degrees
    clockwise from grid north, fov degrees (360 = disc), reach in grid metres), NaN where
    invalid; ``n_seg`` is the number of arc segments (polygons have ``n_seg + 3``
    coordinates, closing one included). :func:`sector_polygons` turns rows into polygons.
    """

    valid: np.ndarray
    reasons: np.ndarray
    frame: LocalFrame
    cameras: Cameras
    params_m: np.ndarray
    n_seg: np.ndarray


def sector_shapes(
    cameras: Cameras,
    *,
    frame: LocalFrame | None = None,
    defaults: SectorDefaults | None = None,
    arc_step_deg: float = DEFAULT_ARC_STEP_DEG,
) -> SectorShapes:
    """Validate ``cameras`` and compute each sector's shape row (see :class:`SectorShapes`):
    the positions are reprojected, no polygon is built."""
    if not (0.0 < arc_step_deg <= 90.0):
        raise ValueError(f"arc_step_deg must be in (0, 90], got {arc_step_deg}")
    defaults = defaults or SectorDefaults()
    heading, _ = _fill(cameras.heading_deg, defaults.heading_deg)
    fov, _ = _fill(cameras.fov_deg, defaults.fov_deg)
    rng, _ = _fill(cameras.range_m, defaults.range_m)
    cams = Cameras(cameras.lat, cameras.lon, heading, fov, rng, cameras.ids)
    reasons = _validate(cams)
    valid = reasons == ""
    n = len(cams)
    params = np.full((n, 5), np.nan)
    n_seg = np.zeros(n, dtype=np.int64)

    idx = np.flatnonzero(valid)
    if frame is None:
        if idx.size:
            frame = LocalFrame.around(float(np.mean(cams.lat[idx])), float(np.mean(cams.lon[idx])))
        else:
            frame = LocalFrame.around(37.5, 127.0)
    if idx.size == 0:
        return SectorShapes(valid, reasons, frame, cams, params, n_seg)

    lat, lon = cams.lat[idx], cams.lon[idx]
    x0, y0 = frame.to_xy_m(lat, lon)
    north_deg, scale = frame.north_and_scale(lat, lon)
    fov_i = np.minimum(fov[idx], 360.0)
    disc = fov_i >= 360.0
    head = np.where(disc, 0.0, np.nan_to_num(heading[idx])) + north_deg
    r_grid = rng[idx] * scale
    seg = np.maximum(1, np.ceil(fov_i / arc_step_deg - 1e-9)).astype(int)
    seg[disc] = np.maximum(seg[disc], 3)
    params[idx] = np.column_stack([x0, y0, head, fov_i, r_grid])
    n_seg[idx] = seg
    if (~valid).any():
        logger.info("view_sectors: %d of %d cameras invalid", int((~valid).sum()), n)
    return SectorShapes(valid, reasons, frame, cams, params, n_seg)


def _sector_blocks(params_m: np.ndarray, n_seg: np.ndarray):
    """Yield ``(rows, xy)`` per distinct segment count and shape: ``xy`` (len(rows), k + 3, 2)
    holds the closed ring of each of those rows (the coordinates :func:`sector_polygons` builds)."""
    x0, y0, head, fov_i, r_grid = (params_m[:, i] for i in range(5))
    disc = fov_i >= 360.0
    for k in np.unique(n_seg):
        for is_disc in (True, False):
            g = np.flatnonzero((n_seg == k) & (disc == is_disc))
            if g.size == 0:
                continue
            if is_disc:
                # k+2 evenly spaced points + closing point = k+3 coordinates.
                t_disc = np.arange(k + 2) / (k + 2)
                ang = head[g, None] + 360.0 * np.concatenate([t_disc, t_disc[:1]])[None, :]
                r = r_grid[g, None]
            else:
                # apex + (k+1) arc points + apex = k+3 coordinates.
                t_sec = np.linspace(0.0, 1.0, k + 1)
                ang = np.concatenate(
                    [np.zeros((g.size, 1)),
                     head[g, None] - fov_i[g, None] / 2.0 + fov_i[g, None] * t_sec[None, :],
                     np.zeros((g.size, 1))], axis=1)
                r = r_grid[g, None] * np.concatenate([[0.0], np.ones(k + 1), [0.0]])[None, :]
            rad = np.radians(ang)
            xy = np.empty((g.size, k + 3, 2))
            np.sin(rad, out=xy[..., 0])
            xy[..., 0] *= r
            xy[..., 0] += x0[g, None]
            np.cos(rad, out=xy[..., 1])
            xy[..., 1] *= r
            xy[..., 1] += y0[g, None]
            yield g, xy


def sector_polygons(params_m: np.ndarray, n_seg: np.ndarray) -> np.ndarray:
    """Polygons of valid shape rows (:class:`SectorShapes`), in the rows' order.

    One vectorised build per distinct segment count and shape (a handful of groups, not
    per camera), written straight into the coordinate array shapely reads.
    """
    params_m = np.asarray(params_m, dtype=float).reshape(-1, 5)
    n_seg = np.asarray(n_seg, dtype=np.int64)
    polygons = np.full(n_seg.size, None, dtype=object)
    for g, xy in _sector_blocks(params_m, n_seg):
        polygons[g] = shapely.polygons(xy)
    return polygons


def sector_rings(params_m: np.ndarray, n_seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exterior rings of :func:`sector_polygons` without building polygons:
    ``(coords (M, 2), bounds (N, 2))``; row ``i``'s closed ring (closing point included) is
    ``coords[bounds[i, 0]:bounds[i, 1]]``, the same doubles as the polygon's vertices
    (rows are stored block by block, not necessarily in row order)."""
    params_m = np.asarray(params_m, dtype=float).reshape(-1, 5)
    n_seg = np.asarray(n_seg, dtype=np.int64)
    bounds = np.zeros((n_seg.size, 2), dtype=np.int64)
    blocks = []
    at = 0
    for g, xy in _sector_blocks(params_m, n_seg):
        m = xy.shape[1]
        bounds[g, 0] = at + m * np.arange(g.size)
        bounds[g, 1] = bounds[g, 0] + m
        at += g.size * m
        blocks.append(xy.reshape(-1, 2))
    return (np.concatenate(blocks) if blocks else np.zeros((0, 2))), bounds


def view_sectors(
    cameras: Cameras,
    *,
    frame: LocalFrame | None = None,
    defaults: SectorDefaults | None = None,
    arc_step_deg: float = DEFAULT_ARC_STEP_DEG,
) -> ViewSectors:
    """View polygons of many cameras at once, in a metric frame.

    Args:
        cameras: positions and view parameters (NaN = missing).
        frame: metric frame for the output; default: the UTM zone of the cameras' mean position.
        defaults: fill values for missing (NaN) heading / fov / range.
        arc_step_deg: angular spacing of arc vertices (smaller = rounder, slower unions).

    Returns:
        :class:`ViewSectors` with a polygon, validity flag and reason per camera.

    Example:
        >>> cams = Cameras(lat=[37.5], lon=[127.0], heading_deg=[90.0], fov_deg=[60.0], range_m=[50.0])
        >>> s = view_sectors(cams)
        >>> bool(s.valid[0]), round(s.polygons_m[0].area)  # ~ pi * 50² / 6
        (True, 1304)
    """
    sh = sector_shapes(cameras, frame=frame, defaults=defaults, arc_step_deg=arc_step_deg)
    polygons = np.full(len(sh.cameras), None, dtype=object)
    idx = np.flatnonzero(sh.valid)
    if idx.size:
        polygons[idx] = sector_polygons(sh.params_m[idx], sh.n_seg[idx])
    return ViewSectors(polygons, sh.valid, sh.reasons, sh.frame, sh.cameras, sh.params_m)
