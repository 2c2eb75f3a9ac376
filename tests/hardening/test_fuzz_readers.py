"""Property-based fuzzing of every input reader (Hypothesis, fixed seed, a few hundred
cases per input in ``make test``; the long run is ``benchmarks/fuzz.py``).

Property: reading any byte string, or any structurally mangled valid file, either
succeeds (records within the schema's ranges) or raises one of the product's clean
error types with a one-line message. Never another exception.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.hardening.mutate import byte_mutation, structure_mutation
from tests.hardening.readers import CLEAN_ERRORS, READERS, seeds

SEEDS = seeds()
EXAMPLES = int(os.environ.get("DISASTER_OPS_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


def _read(kind: str, data: bytes, tmp_path) -> None:
    suffix, read = READERS[kind]
    path = tmp_path / f"case{suffix}"
    path.write_bytes(data)
    try:
        read(path)
    except CLEAN_ERRORS as exc:
        assert "\n" not in str(exc).strip(), f"multi-line error: {exc!r}"


@pytest.mark.parametrize("kind", sorted(READERS))
@seed(17)
@FUZZ
@given(rnd=st.randoms(use_true_random=False))
def test_byte_mutations_are_read_or_refused_cleanly(kind, rnd: random.Random, tmp_path):
    data = byte_mutation(rnd.choice(SEEDS[kind]), rnd, [s for ss in SEEDS.values() for s in ss])
    _read(kind, data, tmp_path)


@pytest.mark.parametrize("kind", sorted(READERS))
@seed(17)
@FUZZ
@given(rnd=st.randoms(use_true_random=False))
def test_structure_mutations_are_read_or_refused_cleanly(kind, rnd: random.Random, tmp_path):
    _read(kind, structure_mutation(kind, rnd.choice(SEEDS[kind]), rnd), tmp_path)


@seed(17)
@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_in_every_reader(data: bytes, tmp_path):
    for kind in READERS:
        _read(kind, data, tmp_path)


CELL = st.one_of(st.text(max_size=40), st.sampled_from(['"', '"x', "NaN", "inf", "1e39", "9" * 500, "", "-0"]),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr))


@seed(17)
@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=8), max_size=20),
       header=st.sampled_from(["name,lat,lon,heading_deg,fov_deg,range_m,stream_url",
                               "관리번호,관리기관명,소재지도로명주소,WGS84위도,WGS84경도,촬영방면정보,카메라대수"]))
def test_generated_registry_rows(rows, header, tmp_path):
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    _read("registry_csv", (header + "\n" + out.getvalue()).encode("utf-8"), tmp_path)
