"""Registry readers: Korean CCTV standard data CSV (current and older layouts, UTF-8 or
CP949/EUC-KR), GeoJSON points, and plain English-header CSV.

Each reader yields ``CameraRecord`` for good rows and ``RowIssue`` for bad ones, so the
caller decides between skip-and-report and ``--strict``. Row numbers are the file's line
numbers (the header is line 1).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from disaster_ops.config import CameraDefaults, Limits
from disaster_ops.errors import RegistryError
from disaster_ops.registry.records import CameraRecord, RowIssue
from disaster_ops.registry.schema import checked_record
from disaster_ops.registry.view_text import parse_view_text

# Coordinates of the Korean standard data must fall inside South Korea (incl. Dokdo, Jeju).
KOREA_LAT_RANGE = (32.5, 39.5)
KOREA_LON_RANGE = (123.5, 132.5)
WORLD_LAT_RANGE = (-90.0, 90.0)
WORLD_LON_RANGE = (-180.0, 180.0)


class RegistryFormat(str, Enum):
    KOREAN_STANDARD = "korean-standard"
    PLAIN_CSV = "plain-csv"
    GEOJSON = "geojson"


@dataclass(frozen=True)
class _KrColumns:
    lat: int
    lon: int
    key: int | None
    operator: int | None
    road_addr: int | None
    lot_addr: int | None
    purpose: int | None
    count: int | None
    view: int | None
    retention: int | None = None


ENCODINGS = ("utf-8-sig", "cp949", "euc-kr")


def decode_bytes(raw: bytes, *, file: str) -> tuple[str, str]:
    """Decode a registry file: UTF-8 (with or without BOM), else CP949/EUC-KR.

    A file none of them decodes is refused with the line of the first bad byte (as
    seen by the encoding that read furthest), so the user can find and fix it.
    """
    failures: list[tuple[int, str]] = []
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), ("utf-8" if enc == "utf-8-sig" else enc)
        except UnicodeDecodeError as exc:
            failures.append((exc.start, enc))
    pos, _ = max(failures)
    line = raw.count(b"\n", 0, pos) + 1
    raise RegistryError(f"invalid byte 0x{raw[pos]:02x} (byte {pos}): not UTF-8, CP949 or EUC-KR text",
                        file=file, row=line)


def detect_format(path: Path, header: list[str] | None = None) -> RegistryFormat:
    """Guess the format from the extension and, for CSV, the header."""
    if path.suffix.lower() in (".geojson", ".json"):
        return RegistryFormat.GEOJSON
    cols = {h.strip().lower() for h in (header or [])}
    if {"wgs84위도", "wgs84경도"} <= cols or {"위도", "경도"} <= cols:
        return RegistryFormat.KOREAN_STANDARD
    if {"lat", "lon"} <= cols or {"latitude", "longitude"} <= cols:
        return RegistryFormat.PLAIN_CSV
    raise RegistryError(
        "unknown CSV layout: need WGS84위도/WGS84경도 (or 위도/경도) or lat/lon columns",
        file=str(path), row=1,
    )


def read_registry(
    path: str | Path, *, defaults: CameraDefaults | None = None, limits: Limits | None = None,
) -> tuple[RegistryFormat, str, Iterator[CameraRecord | RowIssue]]:
    """Open a registry file and return (format, encoding, records-or-issues iterator).

    Raises :class:`RegistryError` when the file as a whole cannot be read (missing,
    too large, not text, unknown layout, not GeoJSON) and, while iterating, when the
    CSV structure itself is broken (an unbalanced quote that would swallow the rest of
    the file, too many rows): then no row of the file may be trusted, so the import
    stores nothing.
    """
    p = Path(path)
    d = defaults or CameraDefaults()
    lim = limits or Limits()
    try:
        size = p.stat().st_size
        if size > lim.registry_max_bytes:
            raise RegistryError(f"file is {size} bytes, more than the limit of {lim.registry_max_bytes} "
                                "(setting limits.registry_max_bytes)", file=str(p))
        raw = p.read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read file: {exc.strerror or exc}", file=str(p)) from exc
    if not raw.strip():
        raise RegistryError("file is empty", file=str(p))
    text, encoding = decode_bytes(raw, file=str(p))
    if p.suffix.lower() in (".geojson", ".json"):
        return RegistryFormat.GEOJSON, encoding, _read_geojson(text, str(p), d, lim)
    rows = CheckedCsv(text, file=str(p), max_rows=lim.registry_max_rows)
    try:
        _, header = next(rows)
    except StopIteration:
        raise RegistryError("file is empty", file=str(p)) from None
    header = [h.strip() for h in header]
    fmt = detect_format(p, header)
    if fmt is RegistryFormat.KOREAN_STANDARD:
        return fmt, encoding, _read_korean(rows, header, str(p), d, lim)
    return fmt, encoding, _read_plain(rows, header, str(p), d, lim)


class CheckedCsv:
    """``csv.reader`` that yields ``(line, row)`` and refuses broken structure.

    Python's csv module, given one stray ``"`` at the start of a field, reads everything
    up to the next quote as one field: the rest of the file silently becomes one cell
    (or, past 128 KB, ``_csv.Error``). Real registries do hold a few quoted values with a
    line break (Daejeon 2026: ``"...앉은굿\n보존회 앞"``), so a record spanning lines is
    accepted only when it looks like one: the header's column count, at most
    ``MAX_VALUE_LINES`` lines per value and no line inside a value that looks like a
    row of its own. Anything else is an unbalanced quote, reported at the line where
    the record began, with the column; csv errors (field too large, NUL) name that
    line too.
    """

    MAX_VALUE_LINES = 3

    def __init__(self, text: str, *, file: str, max_rows: int) -> None:
        self._reader = csv.reader(io.StringIO(text, newline=""))
        self.file, self.max_rows = file, max_rows
        self._last_line = 0
        self._rows = 0
        self._header: list[str] | None = None

    def __iter__(self) -> CheckedCsv:
        return self

    def _check_multiline(self, row: list[str], start: int, end: int) -> None:
        ncols = len(self._header) if self._header else len(row)
        for i, cell in enumerate(row):
            lines = cell.splitlines()
            if len(lines) < 2:
                continue
            swallowed = (len(row) != ncols or len(lines) > self.MAX_VALUE_LINES
                         or any(ln.count(",") >= max(2, ncols // 2) for ln in lines))
            if swallowed:
                col = (self._header[i] if self._header and i < len(self._header) else None) \
                    or f"column {i + 1}"
                raise RegistryError(
                    f"unbalanced quote: the quoted value starting here runs to line {end} "
                    f"and would swallow {end - start} following lines; fix the stray '\"'",
                    file=self.file, row=start, field=col)

    def __next__(self) -> tuple[int, list[str]]:
        start = self._last_line + 1
        try:
            row = next(self._reader)
        except csv.Error as exc:
            raise RegistryError(f"unbalanced quote or broken CSV in the record that starts on this "
                                f"line ({exc}); look for a stray '\"'", file=self.file, row=start) from None
        end = self._reader.line_num
        self._last_line = end
        if end > start:
            self._check_multiline(row, start, end)
        if self._header is None:
            self._header = [h.strip() for h in row]
        self._rows += 1
        if self._rows > self.max_rows + 1:
            raise RegistryError(f"more than {self.max_rows} rows (setting limits.registry_max_rows)",
                                file=self.file, row=start)
        return start, row


# ---------------------------------------------------------------- helpers

def _float(value: str | None, field: str) -> float:
    v = (value or "").strip()
    if not v:
        raise ValueError(f"{field} is blank")
    try:
        f = float(v)
    except ValueError:
        raise ValueError(f"{field} is not a number: {v!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{field} is not finite: {v!r}")
    return f


def _check_range(lat: float, lon: float, lat_rng, lon_rng) -> str | None:
    if not lat_rng[0] <= lat <= lat_rng[1]:
        return f"latitude {lat} outside {lat_rng[0]}..{lat_rng[1]}"
    if not lon_rng[0] <= lon <= lon_rng[1]:
        return f"longitude {lon} outside {lon_rng[0]}..{lon_rng[1]}"
    return None


class _KeyMaker:
    """Stable source keys; repeats of the same content get ``#2``, ``#3`` in file order."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def __call__(self, base: str) -> str:
        n = self._seen.get(base, 0) + 1
        self._seen[base] = n
        return base if n == 1 else f"{base}#{n}"


def _hash_key(prefix: str, *parts: str) -> str:
    digest = hashlib.blake2b("|".join(parts).encode("utf-8"), digest_size=10).hexdigest()
    return f"{prefix}:{digest}"


# ---------------------------------------------------------------- Korean standard data

def _kr_columns(header: list[str]) -> _KrColumns:
    idx = {h: i for i, h in enumerate(header)}

    def pick(*names: str) -> int | None:
        for n in names:
            if n in idx:
                return idx[n]
        return None

    lat = pick("WGS84위도", "위도")
    lon = pick("WGS84경도", "경도")
    assert lat is not None and lon is not None  # guaranteed by detect_format
    return _KrColumns(
        lat=lat, lon=lon, key=pick("관리번호"), operator=pick("관리기관명"),
        road_addr=pick("소재지도로명주소"), lot_addr=pick("소재지지번주소"),
        purpose=pick("설치목적구분"), count=pick("카메라대수"), view=pick("촬영방면정보"),
        retention=pick("보관일수"),
    )


_DAYS_RE = re.compile(r"^\s*(\d{1,4})(?:\.0+)?\s*(?:일|days?)?\s*$")


def retention_days(text: str) -> int | None:
    """보관일수 as whole days (``30``, ``30일``, ``30.0``); None when blank or not a count of
    1..3650 days (the camera then follows the retention.default_days setting)."""
    m = _DAYS_RE.match(text or "")
    if not m:
        return None
    days = int(m.group(1))
    return days if 1 <= days <= 3650 else None


def _too_long(row: list[str], header: list[str], max_chars: int) -> tuple[str, str] | None:
    """(column, reason) of the first cell longer than ``max_chars``, else None."""
    if not row or max(map(len, row)) <= max_chars:  # the common case, in C
        return None
    for i, cell in enumerate(row):
        if len(cell) > max_chars:
            col = header[i] if i < len(header) and header[i] else f"column {i + 1}"
            return col, f"{len(cell)} characters, more than {max_chars} (limits.registry_max_field_chars)"
    return None


def _read_korean(reader: CheckedCsv, header: list[str], file: str, d: CameraDefaults,
                 lim: Limits) -> Iterator[CameraRecord | RowIssue]:
    cols = _kr_columns(header)
    lat_name, lon_name = header[cols.lat], header[cols.lon]
    keys = _KeyMaker()
    ncols = len(header)

    def cell(row: list[str], i: int | None) -> str:
        return row[i].strip() if i is not None and i < len(row) else ""

    for line, row in reader:
        if not row or all(not c.strip() for c in row):
            continue
        long = _too_long(row, header, lim.registry_max_field_chars)
        if long:
            yield RowIssue(file, line, *long)
            continue
        if len(row) < min(ncols, max(cols.lat, cols.lon) + 1):
            yield RowIssue(file, line, None, f"row has {len(row)} columns, header has {ncols}")
            continue
        try:
            lat = _float(row[cols.lat], lat_name)
        except ValueError as exc:
            yield RowIssue(file, line, lat_name, str(exc))
            continue
        try:
            lon = _float(row[cols.lon], lon_name)
        except ValueError as exc:
            yield RowIssue(file, line, lon_name, str(exc))
            continue
        bad = _check_range(lat, lon, KOREA_LAT_RANGE, KOREA_LON_RANGE)
        if bad:
            yield RowIssue(file, line, lat_name if "latitude" in bad else lon_name, bad)
            continue
        count_txt = cell(row, cols.count)
        try:
            count = int(float(count_txt)) if count_txt else 1
            if not 1 <= count <= 10_000:
                raise ValueError
        except (ValueError, OverflowError):
            yield RowIssue(file, line, "카메라대수", f"not a positive integer: {count_txt!r}")
            continue
        keep_days = retention_days(cell(row, cols.retention))
        operator = cell(row, cols.operator)
        address = cell(row, cols.road_addr) or cell(row, cols.lot_addr)
        mgmt = cell(row, cols.key)
        if mgmt:
            key = keys(f"kr:{mgmt}")
        else:
            # No management number (older releases): the operator and address identify the
            # pole, so coordinate corrections update the camera instead of adding one.
            # Several cameras at one address are told apart by their order in the file.
            road, lot = cell(row, cols.road_addr), cell(row, cols.lot_addr)
            parts = (operator, road, lot) if (road or lot) else (operator, f"{lat:.6f}", f"{lon:.6f}")
            key = keys(_hash_key("krh", *parts))
        view = parse_view_text(cell(row, cols.view), camera_count=count)
        omni = view.fov_deg is not None and view.fov_deg >= 360.0
        yield checked_record(file, line, CameraRecord(
            source_key=key, lat=lat, lon=lon,
            heading_deg=view.heading_deg if view.heading_deg is not None else d.heading_deg,
            fov_deg=view.fov_deg if view.fov_deg is not None else d.fov_deg,
            range_m=view.range_m if view.range_m is not None else (
                d.ptz_range_m if view.omni else d.range_m),
            name=f"{operator} {address}".strip(), operator=operator,
            purpose=cell(row, cols.purpose), address=address, camera_count=count, retention_days=keep_days,
            view_source=view.source if (omni or view.fov_deg or view.heading_deg is not None)
            else "default",
        ))


# ---------------------------------------------------------------- plain CSV

_PLAIN_ALIASES = {
    "lat": ("lat", "latitude"), "lon": ("lon", "lng", "longitude"),
    "name": ("name",), "heading_deg": ("heading_deg", "heading"),
    "fov_deg": ("fov_deg", "fov"), "range_m": ("range_m", "range"),
    "stream_url": ("stream_url", "url"), "id": ("id", "source_key", "key"),
    "mount_height_m": ("mount_height_m",), "tilt_deg": ("tilt_deg",),
    "operator": ("operator",), "purpose": ("purpose",), "address": ("address",),
}


def _read_plain(reader: CheckedCsv, header: list[str], file: str, d: CameraDefaults,
                lim: Limits) -> Iterator[CameraRecord | RowIssue]:
    lower = [h.lower() for h in header]
    col: dict[str, int] = {}
    for field, names in _PLAIN_ALIASES.items():
        for n in names:
            if n in lower:
                col[field] = lower.index(n)
                break
    keys = _KeyMaker()
    for line, row in reader:
        if not row or all(not c.strip() for c in row):
            continue
        long = _too_long(row, header, lim.registry_max_field_chars)
        if long:
            yield RowIssue(file, line, *long)
            continue
        values = {f: (row[i].strip() if i < len(row) else "") for f, i in col.items()}
        try:
            rec = _plain_record(values, d, keys)
        except _FieldError as exc:
            yield RowIssue(file, line, exc.field, exc.reason)
            continue
        yield checked_record(file, line, rec)


class _FieldError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def _opt_float(values: dict, field: str, default: float | None, lo: float, hi: float,
               *, lo_open: bool = False) -> float | None:
    raw = values.get(field, "")
    if raw is None or str(raw).strip() == "":
        return default
    try:
        v = _float(str(raw), field)
    except ValueError as exc:
        raise _FieldError(field, str(exc)) from None
    if v < lo or v > hi or (lo_open and v == lo):
        raise _FieldError(field, f"{v} outside {'(' if lo_open else '['}{lo}, {hi}]")
    return v


def _plain_record(values: dict, d: CameraDefaults, keys: _KeyMaker) -> CameraRecord:
    lat = _opt_float(values, "lat", None, *WORLD_LAT_RANGE)
    lon = _opt_float(values, "lon", None, *WORLD_LON_RANGE)
    if lat is None:
        raise _FieldError("lat", "lat is blank")
    if lon is None:
        raise _FieldError("lon", "lon is blank")
    heading = _opt_float(values, "heading_deg", None, 0.0, 360.0)
    fov = _opt_float(values, "fov_deg", None, 0.0, 360.0, lo_open=True)
    rng = _opt_float(values, "range_m", None, 0.0, 5000.0, lo_open=True)
    name = str(values.get("name") or "")
    ident = str(values.get("id") or "")
    base = f"cam:{ident}" if ident else _hash_key("camh", name, f"{lat:.6f}", f"{lon:.6f}")
    given = heading is not None or fov is not None
    return CameraRecord(
        source_key=keys(base), lat=lat, lon=lon,
        heading_deg=(heading if heading is not None else d.heading_deg) % 360.0,
        fov_deg=fov if fov is not None else d.fov_deg,
        range_m=rng if rng is not None else d.range_m,
        name=name, operator=str(values.get("operator") or ""),
        purpose=str(values.get("purpose") or ""), address=str(values.get("address") or ""),
        stream_url=(values.get("stream_url") or None),
        view_source="manual" if given else "default",
        mount_height_m=_opt_float(values, "mount_height_m", None, 0.0, 500.0, lo_open=True),
        tilt_deg=_opt_float(values, "tilt_deg", None, 0.0, 90.0),
        fields_given=frozenset(k for k, v in values.items() if v not in (None, "")),
    )


# ---------------------------------------------------------------- GeoJSON

def _read_geojson(text: str, file: str, d: CameraDefaults, lim: Limits
                  ) -> Iterator[CameraRecord | RowIssue]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"not valid JSON: {exc.msg} at line {exc.lineno}", file=file) from None
    except (ValueError, RecursionError) as exc:  # 5,000-digit integers, deep nesting
        raise RegistryError(f"not usable JSON: {str(exc)[:120]}", file=file) from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    else:
        raise RegistryError("GeoJSON must be a FeatureCollection or Feature of points", file=file)
    if not isinstance(features, list):
        raise RegistryError("FeatureCollection has no 'features' list", file=file)
    if len(features) > lim.registry_max_rows:
        raise RegistryError(f"{len(features)} features, more than {lim.registry_max_rows} "
                            "(setting limits.registry_max_rows)", file=file)
    return _geojson_features(features, file, d, lim)


_GEOJSON_PROPS = ("name", "heading_deg", "fov_deg", "range_m", "stream_url", "operator", "purpose",
                  "address", "mount_height_m", "tilt_deg")


def _scalar_text(v: object, field: str, max_chars: int) -> str:
    """A GeoJSON property as text: strings and numbers only, bounded length."""
    if v is None:
        return ""
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise _FieldError(field, f"must be a string or number, got {type(v).__name__}")
    if isinstance(v, int) and abs(v) > 10**18:
        raise _FieldError(field, "integer too large")
    text = str(v)
    if len(text) > max_chars:
        raise _FieldError(field, f"{len(text)} characters, more than {max_chars} "
                                 "(limits.registry_max_field_chars)")
    return text


def _geojson_features(features: list, file: str, d: CameraDefaults, lim: Limits
                      ) -> Iterator[CameraRecord | RowIssue]:
    keys = _KeyMaker()
    for n, feat in enumerate(features, start=1):
        # For GeoJSON, "row" is the 1-based feature index.
        if not isinstance(feat, dict):
            yield RowIssue(file, n, "feature", f"feature {n} is not an object")
            continue
        geom = feat.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            kind = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
            yield RowIssue(file, n, "geometry", f"feature {n} is not a Point ({str(kind)[:40]})")
            continue
        coords = geom.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            yield RowIssue(file, n, "geometry", f"feature {n} has no [lon, lat] coordinates")
            continue
        props = feat.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            yield RowIssue(file, n, "properties", f"feature {n}: properties must be an object")
            continue
        try:
            values = {k: _scalar_text(props.get(k), k, lim.registry_max_field_chars)
                      for k in _GEOJSON_PROPS}
            values["lon"] = _scalar_text(coords[0], "lon", 64)
            values["lat"] = _scalar_text(coords[1], "lat", 64)
            values["id"] = _scalar_text(feat.get("id") or props.get("id") or props.get("source_key"),
                                        "id", lim.registry_max_field_chars)
            yield checked_record(file, n, _plain_record(values, d, keys))
        except _FieldError as exc:
            yield RowIssue(file, n, exc.field, exc.reason)
