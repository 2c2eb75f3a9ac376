import math

import numpy as np
import pytest
import shapely

from geo.crs import LocalFrame
from geo.sectors import Cameras, SectorDefaults, view_sectors


def cams(**kw):
    base = {"lat": [37.5], "lon": [127.0], "heading_deg": [0.0], "fov_deg": [60.0], "range_m": [50.0]}
    base.update(kw)
    return Cameras(**base)


def test_sector_area_and_direction():
    s = view_sectors(cams(heading_deg=[90.0]), arc_step_deg=1.0)
    poly = s.polygons_m[0]
    assert poly.area == pytest.approx(math.pi * 50**2 / 6, rel=1e-3)
    lat, lon = s.frame.to_latlon(poly.centroid.x, poly.centroid.y)
    assert float(lon) > 127.0 and abs(float(lat) - 37.5) < 1e-5  # heading 90 = east


def test_heading_is_true_north_not_grid_north():
    # At 127E the UTM 52N grid is rotated ~1.2 deg from true north; the sector axis must follow true north.
    s = view_sectors(cams(fov_deg=[2.0], range_m=[1000.0]), arc_step_deg=0.5)
    tip = s.polygons_m[0].centroid
    _, lon = s.frame.to_latlon(tip.x, tip.y)
    assert abs(float(lon) - 127.0) < 1e-6


def test_disc_for_360_and_ignores_heading():
    s = view_sectors(cams(heading_deg=[np.nan], fov_deg=[360.0], range_m=[100.0]))
    assert s.valid[0]
    assert s.polygons_m[0].area == pytest.approx(math.pi * 100**2, rel=0.01)
    assert s.polygons_m[0].is_valid


@pytest.mark.parametrize("field,value,reason", [
    ("heading_deg", np.nan, "heading_deg missing"),
    ("fov_deg", 0.0, "fov_deg <= 0"),
    ("fov_deg", -10.0, "fov_deg <= 0"),
    ("range_m", 0.0, "range_m <= 0"),
    ("range_m", np.inf, "range_m <= 0 or infinite"),
    ("lat", 95.0, "lat missing"),
    ("lon", np.nan, "lon missing"),
])
def test_invalid_cameras_are_reported_per_camera(field, value, reason):
    good = {"lat": 37.5, "lon": 127.0, "heading_deg": 10.0, "fov_deg": 60.0, "range_m": 50.0}
    bad = dict(good, **{field: value})
    c = Cameras(**{k: [good[k], bad[k], good[k]] for k in good})
    s = view_sectors(c)
    assert s.valid.tolist() == [True, False, True]
    assert s.reasons[1].startswith(reason)
    assert s.polygons_m[1] is None
    assert s.problems() == [("1", s.reasons[1])]
    assert all(shapely.is_valid(s.polygons_m[[0, 2]]))


def test_defaults_fill_missing_values():
    c = cams(heading_deg=[np.nan], fov_deg=[np.nan], range_m=[np.nan])
    assert not view_sectors(c).valid[0]
    s = view_sectors(c, defaults=SectorDefaults(heading_deg=0.0, fov_deg=90.0, range_m=30.0), arc_step_deg=1.0)
    assert s.valid[0]
    assert s.polygons_m[0].area == pytest.approx(math.pi * 30**2 / 4, rel=1e-3)


def test_batch_of_mixed_cameras_is_vectorised_and_valid():
    rng = np.random.default_rng(0)
    n = 2000
    c = Cameras(37.5 + rng.normal(0, 0.01, n), 127.0 + rng.normal(0, 0.01, n), rng.uniform(0, 360, n),
                rng.choice([45.0, 60.0, 90.0, 360.0], n), rng.uniform(20, 120, n))
    s = view_sectors(c, frame=LocalFrame.around(37.5, 127.0))
    assert s.valid.all()
    assert shapely.is_valid(s.polygons_m).all()
    wgs = s.to_wgs84()
    assert np.allclose(shapely.get_x(shapely.centroid(wgs)), 127.0, atol=0.1)


def test_from_records_reads_attributes():
    class R:
        def __init__(self, key, heading):
            self.source_key, self.lat, self.lon = key, 37.5, 127.0
            self.heading_deg, self.fov_deg, self.range_m = heading, 60.0, 50.0

    c = Cameras.from_records([R("a", 10.0), R("b", None)])
    s = view_sectors(c)
    assert s.valid.tolist() == [True, False]
    assert s.problems() == [("b", "heading_deg missing")]
