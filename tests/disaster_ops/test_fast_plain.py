"""The column-wise plain-CSV reader gives exactly what the row reader gives, or steps aside."""

from __future__ import annotations

import numpy as np
import pytest

from disaster_ops.registry import CameraRecord, read_registry
from disaster_ops.registry.fast_plain import read_plain_arrays

GOOD = ("id,lat,lon,heading_deg,fov_deg,range_m,name\n"
        "a,37.5,127.0,350.5,60,50,Gate\n"
        "b, 37.51 ,127.01,,360,,Parking lot\n"  # blanks take the defaults; spaces are stripped
        "c,37.52,127.02,360,90,80.25,\n"
        "d,-33.9,151.2,0,0.5,5000,Harbour\n")


def _rows(path):
    _, _, rows = read_registry(path)
    return [r for r in rows if isinstance(r, CameraRecord)]


def test_same_cameras_as_the_row_reader(tmp_path):
    p = tmp_path / "cams.csv"
    p.write_text(GOOD, encoding="utf-8")
    fast = read_plain_arrays(p.read_bytes(), p)
    slow = _rows(p)
    assert fast is not None
    assert list(fast.source_key) == [r.source_key for r in slow]
    for field in ("lat", "lon", "heading_deg", "fov_deg", "range_m"):
        assert np.array_equal(getattr(fast, field), np.array([getattr(r, field) for r in slow])), field


@pytest.mark.parametrize("text", [
    GOOD.replace("Gate", '"Gate, north"'),  # quotes: multi-line values possible
    GOOD.replace("350.5", "abc"),  # not a number: the row reader names the row
    GOOD.replace("350.5", "361"),  # out of range
    GOOD.replace("37.52", "nan"),  # not finite
    GOOD.replace("b, 37.51", "a, 37.51"),  # repeated id: "#2" keys
    GOOD.replace("c,37.52", ",37.52"),  # blank id
    GOOD.replace(",Harbour", ""),  # short row
    GOOD + "\n\ne,37.6,127.1,0,60,50,x\n",  # blank line inside
    GOOD.replace("name\n", "mount_height_m\n"),  # a column with its own checks
    "id,lat,lon\n" + "x" * 2000 + ",1,2\n",  # a field longer than allowed
    "WGS84위도,WGS84경도\n37.5,127.0\n",  # Korean standard layout
])
def test_anything_irregular_goes_to_the_row_reader(tmp_path, text):
    p = tmp_path / "cams.csv"
    p.write_text(text, encoding="utf-8")
    assert read_plain_arrays(p.read_bytes(), p) is None


def test_coverage_of_a_plain_csv_equals_the_row_reader_path(tmp_path, data_dir, monkeypatch):
    """file_index on a simple plain CSV (column-wise) and on the same CSV forced row by row
    give the same cameras and the same union."""
    from disaster_ops.registry import fast_plain
    from disaster_ops.services import coverage as cov_svc

    p = tmp_path / "cams.csv"
    p.write_text(GOOD, encoding="utf-8")
    fast = cov_svc.file_index(p)
    cov_svc.clear_memory()
    cached = list(data_dir.rglob("*.npz"))
    assert len(cached) == 1
    cached[0].unlink()
    monkeypatch.setattr(fast_plain, "read_plain_arrays", lambda *a, **k: None)
    slow = cov_svc.file_index(p)
    assert slow is not fast and len(slow.cameras) == 4
    assert list(fast.cameras.ids) == list(slow.cameras.ids)
    assert fast.covered_area_m2 == pytest.approx(slow.covered_area_m2, rel=1e-12)
