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
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from disaster_ops.config import CameraDefaults
from disaster_ops.errors import RegistryError
from disaster_ops.registry.records import CameraRecord, RowIssue
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


ENCODINGS = ("utf-8-sig", "cp949", "euc-kr")


def decode_bytes(raw: bytes, *, file: str) -> tuple[str, str]:
    """Decode a registry file: UTF-8 (with or without BOM), else CP949/EUC-KR."""
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), ("utf-8" if enc == "utf-8-sig" else enc)
        except UnicodeDecodeError:
            continue
    raise RegistryError("not UTF-8, CP949 or EUC-KR text", file=file)


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
    path: str | Path, *, defaults: CameraDefaults | None = None
) -> tuple[RegistryFormat, str, Iterator[CameraRecord | RowIssue]]:
    """Open a registry file and return (format, encoding, records-or-issues iterator).

    Raises :class:`RegistryError` when the file as a whole cannot be read (missing,
    not text, unknown layout, not GeoJSON).
    """
    p = Path(path)
    d = defaults or CameraDefaults()
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read file: {exc.strerror or exc}", file=str(p)) from exc
    if not raw.strip():
        raise RegistryError("file is empty", file=str(p))
    text, encoding = decode_bytes(raw, file=str(p))
    if p.suffix.lower() in (".geojson", ".json"):
        return RegistryFormat.GEOJSON, encoding, _read_geojson(text, str(p), d)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise RegistryError("file is empty", file=str(p)) from None
    fmt = detect_format(p, header)
    if fmt is RegistryFormat.KOREAN_STANDARD:
        return fmt, encoding, _read_korean(reader, header, str(p), d)
    return fmt, encoding, _read_plain(reader, header, str(p), d)


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
    )


def _read_korean(reader, header: list[str], file: str, d: CameraDefaults
                 ) -> Iterator[CameraRecord | RowIssue]:
    cols = _kr_columns(header)
    lat_name, lon_name = header[cols.lat], header[cols.lon]
    keys = _KeyMaker()
    ncols = len(header)

    def cell(row: list[str], i: int | None) -> str:
        return row[i].strip() if i is not None and i < len(row) else ""

    for row in reader:
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
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
            if count < 1:
                raise ValueError
        except ValueError:
            yield RowIssue(file, line, "카메라대수", f"not a positive integer: {count_txt!r}")
            continue
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
        yield CameraRecord(
            source_key=key, lat=lat, lon=lon,
            heading_deg=view.heading_deg if view.heading_deg is not None else d.heading_deg,
            fov_deg=view.fov_deg if view.fov_deg is not None else d.fov_deg,
            range_m=view.range_m if view.range_m is not None else (
                d.ptz_range_m if view.omni else d.range_m),
            name=f"{operator} {address}".strip(), operator=operator,
            purpose=cell(row, cols.purpose), address=address, camera_count=count,
            view_source=view.source if (omni or view.fov_deg or view.heading_deg is not None)
            else "default",
        )


# ---------------------------------------------------------------- plain CSV

_PLAIN_ALIASES = {
    "lat": ("lat", "latitude"), "lon": ("lon", "lng", "longitude"),
    "name": ("name",), "heading_deg": ("heading_deg", "heading"),
    "fov_deg": ("fov_deg", "fov"), "range_m": ("range_m", "range"),
    "stream_url": ("stream_url", "url"), "id": ("id", "source_key", "key"),
    "mount_height_m": ("mount_height_m",), "tilt_deg": ("tilt_deg",),
    "operator": ("operator",), "purpose": ("purpose",), "address": ("address",),
}


def _read_plain(reader, header: list[str], file: str, d: CameraDefaults
                ) -> Iterator[CameraRecord | RowIssue]:
    lower = [h.lower() for h in header]
    col: dict[str, int] = {}
    for field, names in _PLAIN_ALIASES.items():
        for n in names:
            if n in lower:
                col[field] = lower.index(n)
                break
    keys = _KeyMaker()
    for row in reader:
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        values = {f: (row[i].strip() if i < len(row) else "") for f, i in col.items()}
        try:
            rec = _plain_record(values, d, keys)
        except _FieldError as exc:
            yield RowIssue(file, line, exc.field, exc.reason)
            continue
        yield rec


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

def _read_geojson(text: str, file: str, d: CameraDefaults) -> Iterator[CameraRecord | RowIssue]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"not valid JSON: {exc.msg} at line {exc.lineno}", file=file) from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    else:
        raise RegistryError("GeoJSON must be a FeatureCollection or Feature of points", file=file)
    if not isinstance(features, list):
        raise RegistryError("FeatureCollection has no 'features' list", file=file)
    return _geojson_features(features, file, d)


def _geojson_features(features: list, file: str, d: CameraDefaults
                      ) -> Iterator[CameraRecord | RowIssue]:
    keys = _KeyMaker()
    for n, feat in enumerate(features, start=1):
        # For GeoJSON, "row" is the 1-based feature index.
        geom = (feat or {}).get("geometry") or {}
        if geom.get("type") != "Point":
            yield RowIssue(file, n, "geometry", f"feature {n} is not a Point ({geom.get('type')})")
            continue
        coords = geom.get("coordinates") or []
        if len(coords) < 2:
            yield RowIssue(file, n, "geometry", f"feature {n} has no [lon, lat] coordinates")
            continue
        props = dict(feat.get("properties") or {})
        values = {k: props.get(k) for k in ("name", "heading_deg", "fov_deg", "range_m",
                                            "stream_url", "operator", "purpose", "address",
                                            "mount_height_m", "tilt_deg")}
        values["lon"], values["lat"] = coords[0], coords[1]
        values["id"] = feat.get("id") or props.get("id") or props.get("source_key")
        values = {k: ("" if v is None else v) for k, v in values.items()}
        try:
            yield _plain_record(values, d, keys)
        except _FieldError as exc:
            yield RowIssue(file, n, exc.field, exc.reason)
