"""Ground height from a DEM (GeoTIFF read with rasterio), sampled at WGS84 points.

Only the window around the mission area is read. The DEM's CRS is taken from the
file, or given explicitly (files that carry a user-defined CRS and no EPSG code,
or none at all). Cells equal to the file's nodata value, to an explicit
``nodata``, or below :data:`MIN_VALID_M` (the -9999 / -32768 sentinels of files
without a nodata tag) are gaps; a gap is filled with the *highest* valid
neighbour (up to :data:`FILL_CELLS` cells away: conservative for clearance), and a
point still without ground is an error naming it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from drone_link.planner.errors import PlanningError

logger = logging.getLogger(__name__)

MIN_VALID_M = -1000.0  # lower than any land on Earth (Dead Sea shore: -430 m)
FILL_CELLS = 3


class TerrainError(PlanningError):
    """The DEM cannot be read or has no ground height where the mission flies."""


@dataclass
class Terrain:
    """A DEM window in memory: ``heights_m[row, col]`` AMSL (NaN = no data), its grid and CRS."""

    heights_m: np.ndarray
    x0: float  # world x of the window's upper-left corner (DEM CRS units, metres)
    y0: float
    cell_x_m: float
    cell_y_m: float  # positive; rows go south
    crs: CRS
    source: str
    filled_cells: int = 0

    @classmethod
    def open(cls, path: str | Path, *, bounds_wgs84: tuple[float, float, float, float] | None = None,
             crs: str | None = None, nodata: float | None = None, margin_m: float = 1000.0) -> Terrain:
        """Read the part of ``path`` around ``bounds_wgs84`` (min_lon, min_lat, max_lon, max_lat)."""
        import rasterio
        from rasterio.windows import Window, from_bounds

        path = Path(path)
        try:
            src = rasterio.open(path)
        except (rasterio.errors.RasterioIOError, OSError) as exc:
            raise TerrainError(f"{path}: cannot read the DEM: {exc}") from None
        with src:
            dem_crs = _crs(path, src.crs, crs)
            t = src.transform
            if abs(t.b) > 1e-12 or abs(t.d) > 1e-12 or t.e >= 0:
                raise TerrainError(f"{path}: rotated or south-up DEM grids are not supported")
            if not dem_crs.is_projected:
                raise TerrainError(f"{path}: the DEM CRS must be projected in metres, got {dem_crs.name}")
            window = Window(0, 0, src.width, src.height)
            if bounds_wgs84 is not None:
                fwd = Transformer.from_crs(4326, dem_crs, always_xy=True)
                x0, y0, x1, y1 = fwd.transform_bounds(*bounds_wgs84)
                want = from_bounds(x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m, t)
                window = want.round_offsets(op="floor").round_lengths(op="ceil").intersection(window) \
                    if _overlaps(want, window) else None
                if window is None:
                    raise TerrainError(f"{path}: the DEM does not cover the mission area {bounds_wgs84}")
            a = src.read(1, window=window).astype(np.float64)
            wt = src.window_transform(window)
            bad = ~np.isfinite(a) | (a < MIN_VALID_M)
            for nd in (src.nodata, nodata):
                if nd is not None:
                    bad |= a == nd
            a[bad] = np.nan
            filled = _fill_gaps_with_max(a)
            if filled:
                logger.info("%s: %d DEM gap cells filled with the highest neighbour", path.name, filled)
            return cls(a, wt.c, wt.f, wt.a, -wt.e, dem_crs, str(path), filled)

    # -- sampling ---------------------------------------------------------------------------
    def _grid_xy(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        tr = self.__dict__.get("_to_dem")
        if tr is None:  # building a transformer costs milliseconds: once per DEM
            tr = self.__dict__["_to_dem"] = Transformer.from_crs(4326, self.crs, always_xy=True)
        x, y = tr.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        col = (np.atleast_1d(x) - self.x0) / self.cell_x_m - 0.5  # cell centres at integer positions
        row = (self.y0 - np.atleast_1d(y)) / self.cell_y_m - 0.5
        return row, col

    def ground_amsl_m(self, lat, lon) -> np.ndarray:
        """Bilinear ground height AMSL, metres (NaN where the DEM has no data)."""
        row, col = self._grid_xy(lat, lon)
        return self._bilinear(row, col)

    def ground_max_amsl_m(self, lat, lon) -> np.ndarray:
        """Highest of the 2 x 2 cells around each point: an upper bound of the bilinear surface."""
        row, col = self._grid_xy(lat, lon)
        r0, c0 = np.floor(row).astype(int), np.floor(col).astype(int)
        vals = [self._cell(r0 + dr, c0 + dc) for dr in (0, 1) for dc in (0, 1)]
        return np.max(np.stack(vals), axis=0)

    def ground_min_amsl_m(self, lat, lon) -> np.ndarray:
        """Lowest of the 2 x 2 cells around each point: a lower bound of the bilinear surface."""
        row, col = self._grid_xy(lat, lon)
        r0, c0 = np.floor(row).astype(int), np.floor(col).astype(int)
        vals = [self._cell(r0 + dr, c0 + dc) for dr in (0, 1) for dc in (0, 1)]
        return np.min(np.stack(vals), axis=0)

    def require(self, values: np.ndarray, lat, lon, what: str = "point") -> np.ndarray:
        """``values`` unchanged, or :class:`TerrainError` naming the first point without ground."""
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            i = int(bad[0])
            la, lo = np.atleast_1d(lat)[i], np.atleast_1d(lon)[i]
            raise TerrainError(f"no ground height at {what} {i} ({la:.6f}, {lo:.6f}): outside the DEM "
                               f"{Path(self.source).name} or in a gap larger than {FILL_CELLS} cells")
        return values

    def _cell(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        h, w = self.heights_m.shape
        ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        out = np.full(r.shape, np.nan)
        out[ok] = self.heights_m[r[ok], c[ok]]
        return out

    def _bilinear(self, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        r0, c0 = np.floor(row).astype(int), np.floor(col).astype(int)
        fr, fc = row - r0, col - c0
        v00, v01 = self._cell(r0, c0), self._cell(r0, c0 + 1)
        v10, v11 = self._cell(r0 + 1, c0), self._cell(r0 + 1, c0 + 1)
        return (v00 * (1 - fr) * (1 - fc) + v01 * (1 - fr) * fc + v10 * fr * (1 - fc) + v11 * fr * fc)

    @property
    def cell_m(self) -> float:
        return max(self.cell_x_m, self.cell_y_m)


def _crs(path: Path, file_crs, override: str | None) -> CRS:
    if override:
        try:
            return CRS.from_user_input(override)
        except CRSError as exc:
            raise TerrainError(f"DEM CRS {override!r}: {exc}") from None
    if file_crs is None:
        raise TerrainError(f"{path}: the DEM has no CRS; give it (e.g. --dem-crs EPSG:5186)")
    return CRS.from_user_input(file_crs.to_wkt())


def _overlaps(a, b) -> bool:
    return (a.col_off < b.col_off + b.width and b.col_off < a.col_off + a.width
            and a.row_off < b.row_off + b.height and b.row_off < a.row_off + a.height)


def _fill_gaps_with_max(a: np.ndarray) -> int:
    """Fill NaN cells with the max of their valid 8-neighbours, up to FILL_CELLS rounds (in place)."""
    filled = 0
    for _ in range(FILL_CELLS):
        nan = np.isnan(a)
        if not nan.any():
            break
        p = np.pad(a, 1, constant_values=np.nan)
        h, w = a.shape
        stack = np.stack([p[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]
                          for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc])
        with np.errstate(all="ignore"):
            nb = np.where(np.isnan(stack), -np.inf, stack).max(axis=0)
        fix = nan & np.isfinite(nb)
        a[fix] = nb[fix]
        filled += int(fix.sum())
    return filled
