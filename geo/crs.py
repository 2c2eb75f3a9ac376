"""Coordinate reference systems: WGS84 for storage/exchange, a local metric CRS for all metric work.

Every buffer, area, distance or offset in the product happens in a metric CRS chosen
here. The default is the UTM zone that contains the data (``estimate_utm_crs``), which
keeps scale error well under 0.1 % inside a zone; Korea-wide work may use EPSG:5179
(Korea 2000 / Unified CS) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

WGS84 = CRS.from_epsg(4326)
KOREA_UNIFIED = CRS.from_epsg(5179)


@lru_cache(maxsize=64)
def utm_crs_for(lat: float, lon: float) -> CRS:
    """The UTM zone CRS (WGS84 datum) containing ``lat, lon``."""
    if not (-80.0 <= lat <= 84.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"lat/lon out of UTM range: {lat}, {lon}")
    if lat != 0.0 and (lon + 180.0) % 6.0 != 0.0:
        # Inside one standard 6-degree band (EPSG's UTM areas of use), off the equator: the
        # zone by arithmetic, the answer the PROJ database query below gives, without its
        # ~0.07 s (a tenth of the coverage command's start-up). On a band edge or the
        # equator two zones match and the query decides, as before.
        zone = int((lon + 180.0) // 6.0) + 1
        return CRS.from_epsg((32600 if lat > 0 else 32700) + zone)
    infos = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(lon, lat, lon, lat),
    )
    return CRS.from_epsg(int(infos[0].code))


@dataclass(frozen=True)
class LocalFrame:
    """A pair of transformers between WGS84 lon/lat and one metric CRS (x east, y north, metres)."""

    crs: CRS

    @classmethod
    def around(cls, lat: float, lon: float) -> LocalFrame:
        return _frame_for_crs(utm_crs_for(round(lat, 0), round(lon, 0)))

    @classmethod
    def for_geometry(cls, geom_wgs84: shapely.Geometry) -> LocalFrame:
        c = shapely.centroid(geom_wgs84)
        return cls.around(c.y, c.x)

    @property
    def _fwd(self) -> Transformer:
        return _transformer(WGS84, self.crs)

    @property
    def _inv(self) -> Transformer:
        return _transformer(self.crs, WGS84)

    def to_xy_m(self, lat, lon):
        """WGS84 degrees → metric x, y (arrays or scalars)."""
        x, y = self._fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return x, y

    def to_latlon(self, x_m, y_m):
        """Metric x, y → WGS84 (lat, lon)."""
        lon, lat = self._inv.transform(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
        return lat, lon

    def geom_to_m(self, geom_wgs84):
        """Shapely geometry (or array of them) in lon/lat → metric CRS."""
        return shapely.transform(geom_wgs84, self._fwd.transform, interleaved=False)

    def geom_to_wgs84(self, geom_m):
        """Shapely geometry (or array of them) in the metric CRS → lon/lat."""
        return shapely.transform(geom_m, self._inv.transform, interleaved=False)

    @classmethod
    def tangent(cls, lat: float, lon: float) -> LocalFrame:
        """An azimuthal equidistant frame centred on ``lat, lon``: x east, y true north, metres.

        Distances and azimuths from the centre are exact (geodesic), so per-camera work
        (pixel → ground offsets from the camera) needs no grid-convergence correction.
        """
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise ValueError(f"lat/lon out of range: {lat}, {lon}")
        return _frame_for_crs(
            CRS.from_proj4(f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +datum=WGS84 +units=m +no_defs")
        )

    def north_and_scale(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        """Grid bearing of true north (degrees clockwise from grid +y) and point scale factor.

        A bearing ``b_deg`` clockwise from true north points ``b_deg + north_deg`` clockwise
        from grid north, and a ground distance ``d_m`` spans ``d_m * scale`` grid metres
        (conformal CRS such as UTM; a good approximation within a few km elsewhere).
        Computed numerically from a 1e-4° meridian step, vectorised.
        """
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        dlat = 1e-4
        lat0 = np.clip(lat, -89.9, 89.9 - dlat)
        x0, y0 = self.to_xy_m(lat0, lon)
        x1, y1 = self.to_xy_m(lat0 + dlat, lon)
        dx, dy = x1 - x0, y1 - y0
        north_deg = np.degrees(np.arctan2(dx, dy))
        # Meridian arc length of dlat on the WGS84 ellipsoid at the mid latitude.
        a, e2 = 6378137.0, 6.69437999014e-3
        phi = np.radians(lat0 + dlat / 2.0)
        meridian_m = a * (1.0 - e2) / (1.0 - e2 * np.sin(phi) ** 2) ** 1.5 * np.radians(dlat)
        return north_deg, np.hypot(dx, dy) / meridian_m


@lru_cache(maxsize=64)
def _frame_for_crs(crs: CRS) -> LocalFrame:
    return LocalFrame(crs)


@lru_cache(maxsize=128)
def _transformer(src: CRS, dst: CRS) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)
