import numpy as np
import pytest
from pyproj import Proj

from geo.crs import LocalFrame


def test_utm_round_trip_under_1_cm():
    rng = np.random.default_rng(1)
    lat = rng.uniform(34.0, 38.5, 500)
    lon = rng.uniform(126.0, 129.5, 500)
    f = LocalFrame.around(36.5, 127.5)
    x, y = f.to_xy_m(lat, lon)
    lat2, lon2 = f.to_latlon(x, y)
    x2, y2 = f.to_xy_m(lat2, lon2)
    assert np.max(np.hypot(x2 - x, y2 - y)) < 0.01
    assert np.max(np.abs(lat2 - lat)) < 1e-9


def test_tangent_frame_is_centred_and_true_north():
    f = LocalFrame.tangent(37.5, 127.0)
    x, y = f.to_xy_m(37.5, 127.0)
    assert abs(float(x)) < 1e-6 and abs(float(y)) < 1e-6
    north, scale = f.north_and_scale(37.5, 127.0)
    assert abs(float(north)) < 1e-6
    assert float(scale) == pytest.approx(1.0, abs=1e-6)


def test_grid_convergence_matches_pyproj_factors():
    f = LocalFrame.around(37.5, 127.0)
    lat = np.array([37.0, 37.5, 38.0])
    lon = np.array([126.5, 127.0, 127.8])
    north, scale = f.north_and_scale(lat, lon)
    fac = Proj(f.crs).get_factors(lon, lat)
    np.testing.assert_allclose(north, -np.asarray(fac.meridian_convergence), atol=1e-4)
    np.testing.assert_allclose(scale, fac.meridional_scale, atol=1e-6)


def test_utm_zone_by_arithmetic_is_the_zone_the_proj_database_gives():
    """The UTM zone is computed (inside a band, off the equator) instead of asked of PROJ's
    database: the same EPSG code as the database query, north and south, near band edges,
    and the query still decides on an edge or the equator."""
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    from geo.crs import utm_crs_for

    points = [(37.0, 127.0), (35.0, 129.0), (-33.0, 151.0), (60.0, 10.0), (78.0, 15.0), (-79.0, -179.0),
              (84.0, 179.0), (1.0, 5.9), (-1.0, 6.1), (51.5, -0.1), (37.0, 126.0), (0.0, 10.0)]
    for lat, lon in points:
        utm_crs_for.cache_clear()
        want = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
        assert utm_crs_for(lat, lon).to_epsg() == int(want[0].code), (lat, lon)
