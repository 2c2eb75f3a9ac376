"""Plain-CSV registries read column-wise, for the coverage command at province scale.

:func:`read_registry` checks every row through the schema, one Python object per row
(~3 s of CPU for 170,000 rows). Coverage needs only five numeric columns and the keys,
so :func:`read_plain_arrays` parses a *simple* plain CSV with numpy in one pass and gives
exactly what the row reader would (same values, defaults, keys), or returns None, and
the caller uses the row reader, which names the file, row and field of every problem.

"Simple" is checked, not assumed: no quote, NUL or lone carriage return anywhere (no
multi-line values), every line has the header's column count, no blank line, unique
non-blank ids, every number parses as a finite float inside the schema's range, no line
longer than the longest allowed field, within the row and byte limits, and only the
columns the plain layout names (no ``mount_height_m`` / ``tilt_deg``). Anything else
goes the row-by-row way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disaster_ops.config import CameraDefaults, Limits
from disaster_ops.errors import RegistryError
from disaster_ops.registry.readers import (
    _PLAIN_ALIASES,
    RegistryFormat,
    decode_bytes,
    detect_format,
)
from disaster_ops.registry.schema import MAX_TEXT_CHARS

_NUMERIC = {  # field: (low, high, low bound open)
    "lat": (-90.0, 90.0, False), "lon": (-180.0, 180.0, False), "heading_deg": (0.0, 360.0, False),
    "fov_deg": (0.0, 360.0, True), "range_m": (0.0, 5000.0, True),
}
_TEXT = ("id", "name", "operator", "purpose", "address", "stream_url")


@dataclass(frozen=True)
class PlainCameraArrays:
    """Cameras of a plain CSV as arrays (WGS84 degrees, degrees, metres), defaults filled."""

    source_key: np.ndarray  # str objects, ``cam:<id>`` as the row reader makes them
    lat: np.ndarray
    lon: np.ndarray
    heading_deg: np.ndarray
    fov_deg: np.ndarray
    range_m: np.ndarray


def read_plain_arrays(raw: bytes, path: Path, *, defaults: CameraDefaults | None = None,
                      limits: Limits | None = None) -> PlainCameraArrays | None:
    """The cameras of a simple plain-CSV registry ``raw`` (the bytes of ``path``), or None."""
    d = defaults or CameraDefaults()
    lim = limits or Limits()
    if path.suffix.lower() in (".geojson", ".json") or len(raw) > lim.registry_max_bytes or not raw.strip():
        return None
    try:
        text, _ = decode_bytes(raw, file=str(path))
    except RegistryError:
        return None
    text = text.replace("\r\n", "\n")
    if any(c in text for c in ('"', "\x00", "\r")):
        return None
    lines = text.rstrip("\n").split("\n")
    header = [h.strip() for h in lines[0].split(",")]
    try:
        if detect_format(path, header) is not RegistryFormat.PLAIN_CSV:
            return None
    except RegistryError:
        return None
    lower = [h.lower() for h in header]
    if len(set(lower)) != len(lower):
        return None
    col: dict[str, int] = {}
    for field, names in _PLAIN_ALIASES.items():
        hits = [n for n in names if n in lower]
        if hits:
            col[field] = lower.index(hits[0])
    if set(col) - set(_NUMERIC) - set(_TEXT) or "id" not in col:
        return None  # columns with their own checks (mount height, tilt): the row reader
    body = lines[1:]
    n = len(body)
    ncols = len(header)
    if n == 0 or n > lim.registry_max_rows:
        return None
    if max(map(len, lines)) > min(lim.registry_max_field_chars, MAX_TEXT_CHARS):
        return None  # a field might be too long: the row reader says which
    commas = np.fromiter((ln.count(",") for ln in body), dtype=np.int64, count=n)
    if (commas != ncols - 1).any():
        return None
    flat = "\n".join(body).replace("\n", ",").split(",")

    # str.strip() of every field, as the row reader does, only where a field can hold
    # whitespace (plain ASCII without spaces, tabs or separators has none to strip).
    bare = text.isascii() and not any(c in text for c in " \t\x0b\x0c\x1c\x1d\x1e\x1f")

    def column(field: str) -> list[str]:
        values = flat[col[field]::ncols]
        return values if bare else [v.strip() for v in values]

    ids = column("id")
    if "" in ids or len(set(ids)) != n:
        return None  # blank ids (or rows) and repeated ids ("#2" keys): the row reader
    values: dict[str, np.ndarray] = {}
    fill = {"heading_deg": d.heading_deg, "fov_deg": d.fov_deg, "range_m": d.range_m}
    for field, (lo, hi, lo_open) in _NUMERIC.items():
        if field not in col:
            if field in ("lat", "lon"):
                return None
            values[field] = np.full(n, float(fill[field]))
            continue
        text_values = column(field)
        blank = np.fromiter((not v for v in text_values), dtype=bool, count=n) if "" in text_values \
            else np.zeros(n, dtype=bool)
        if blank.any():
            if field in ("lat", "lon"):
                return None
            text_values = [v or "nan" for v in text_values]
        try:  # Python's float, as the row reader parses
            v = np.fromiter(map(float, text_values), dtype=np.float64, count=n)
        except ValueError:
            return None
        if blank.any():
            v[blank] = float(fill[field])
        if not np.isfinite(v).all() or (v < lo).any() or (v > hi).any() or (lo_open and (v == lo).any()):
            return None
        values[field] = v
    keys = np.array(["cam:" + k for k in ids], dtype=object)
    return PlainCameraArrays(keys, values["lat"], values["lon"], values["heading_deg"] % 360.0,
                             values["fov_deg"], values["range_m"])
