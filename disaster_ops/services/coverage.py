"""Coverage indexes for the product: built once, reused, rebuilt when the registry changes.

The ``coverage`` command, the dashboard's gaps and the gap-survey planner all answer
"what does no camera see here" from a :class:`geo.coverage.CoverageIndex` holding the
union of all sectors as disjoint polygons (``union=True``: a disjoint-subset union, and
zones cut from it by :func:`geo.coverage.uncovered_from_union`). An index is keyed by
what it was built from:

* the database registry: ``(count, max id, max updated_at)`` of the camera table plus
  the view overrides, so an import, an edit or a deletion invalidates it;
* a registry file: a hash of the file's bytes plus the overrides (a simple plain CSV is
  read column-wise, :mod:`disaster_ops.registry.fast_plain`; any other file row by row).

Indexes live in memory for the process (the dashboard) and on disk under
``<data_dir>/cache/coverage/`` (``.npz`` of plain arrays, no pickle) for the next
process (the CLI). A cache file that cannot be read is rebuilt, never trusted.

Small queries do not pay for a whole-registry build: when the cameras near the AOI are
under :data:`WHOLE_INDEX_SHARE` of the registry and no index is cached yet, a local
index of just those cameras is built (and not cached).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from disaster_ops.config import get_settings
from geo.aoi import PointRadius
from geo.coverage import CoverageIndex, _aoi_bounds_wgs84, _candidates, write_npz
from geo.sectors import Cameras

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

WHOLE_INDEX_SHARE = 0.25
# 2: per-tile gaps stored with the pieces; 3: 4 km tiles; 4: the union itself; 5: kept per group (reuse);
# 6: groups unioned by Clipper2 on a 1 mm grid (geo.clipper_union), groups within 2 mm joined;
# 7: the union stored as flat coordinate arrays instead of WKB
_CACHE_VERSION = "7"
_memory: dict[str, CoverageIndex] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Overrides:
    """View overrides applied to every camera before indexing (None: the camera's own)."""

    fov_deg: float | None = None
    range_m: float | None = None

    def apply(self, cams: Cameras) -> Cameras:
        if self.fov_deg is not None:
            cams.fov_deg = np.full(len(cams), float(self.fov_deg))
        if self.range_m is not None:
            cams.range_m = np.full(len(cams), float(self.range_m))
        return cams

    def key(self) -> str:
        return f"fov={self.fov_deg}|range={self.range_m}"


def union_workers() -> int:
    """Workers of an index build: the ``coverage.union_workers`` setting, 0 = min(cores, 4)."""
    return get_settings().coverage.union_workers or max(1, min(4, os.cpu_count() or 1))


_workers = union_workers


def _cache_dir() -> Path:
    return get_settings().data_dir / "cache" / "coverage"


def _cached(key: str) -> CoverageIndex | None:
    with _lock:
        if key in _memory:
            return _memory[key]
    path = _cache_dir() / f"{key}.npz"
    if path.exists():
        try:
            idx = CoverageIndex.load(path)
        except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt, not trusted
            logger.warning("coverage cache %s unreadable (%s); rebuilding", path, exc)
            return None
        if idx.tiled is not None:
            idx.tiled.workers = _workers()
        with _lock:
            _memory[key] = idx
        return idx
    return None


def _store(key: str, idx: CoverageIndex) -> None:
    with _lock:
        _memory.clear()  # one registry version at a time in memory
        _memory[key] = idx
    arrays = idx.save_arrays()
    if _writers is not None and _writers_owner == threading.get_ident():  # inside background_cache_writes()
        t = threading.Thread(target=_write_cache, args=(key, arrays), name="coverage-cache", daemon=False)
        t.start()
        _writers.append(t)
    else:
        _write_cache(key, arrays)


def _write_cache(key: str, arrays: dict) -> None:
    try:
        d = _cache_dir()
        for old in d.glob(f"{key.split('-')[0]}-*.npz"):
            old.unlink(missing_ok=True)  # older versions of the same source
        write_npz(d / f"{key}.npz", arrays)
    except OSError as exc:
        logger.warning("coverage cache not written (%s)", exc)


_writers: list[threading.Thread] | None = None
_writers_owner: int | None = None  # the thread that opened background_cache_writes (others write at once)


@contextmanager
def background_cache_writes() -> Iterator[None]:
    """Index cache files built in the body are written on a thread while the caller goes on
    (the coverage command: on the province the ~25 MB write is ~0.25 s of kernel time,
    done beside the query); every one is written before this returns. The in-memory index
    is there at once either way."""
    global _writers, _writers_owner
    with _lock:
        if _writers is not None:
            mine = False
        else:
            _writers, _writers_owner, mine = [], threading.get_ident(), True
    if not mine:
        yield
        return
    try:
        yield
    finally:
        with _lock:
            writers, _writers, _writers_owner = _writers, None, None
        for t in writers:
            t.join()


def _previous(key: str) -> CoverageIndex | None:
    """An earlier index to take unchanged group unions from: the one in memory, else the
    last one cached for the same source, else the newest cached one (group keys name
    their members, so any index of the same cache version is safe to reuse)."""
    with _lock:
        for idx in _memory.values():
            if idx.groups is not None:
                return idx
    d = _cache_dir()
    if not d.is_dir():
        return None
    try:
        files = sorted(d.glob("*.npz"), key=lambda f: f.stat().st_mtime, reverse=True)
    except OSError:
        return None
    same = [f for f in files if f.name.startswith(key.split("-")[0] + "-")]
    for path in (same or files)[:1]:
        try:
            idx = CoverageIndex.load(path)
        except Exception as exc:  # noqa: BLE001 - a damaged cache is not reused
            logger.warning("coverage cache %s not reused (%s)", path, exc)
            continue
        if idx.groups is not None:
            return idx
    return None


def _index_for(key: str, load_cameras, aoi, overrides: Overrides) -> CoverageIndex:
    idx = _cached(key)
    if idx is not None:
        return idx
    cams, skipped = load_cameras()
    cams = overrides.apply(cams)
    if aoi is not None and len(cams):
        near = _candidates(cams, _aoi_bounds_wgs84(aoi))
        if near.size < WHOLE_INDEX_SHARE * len(cams):
            idx = CoverageIndex.build(cams.subset(near), precompute=False, union=True, workers=_workers())
            idx.rows_skipped = skipped
            return idx
    defaults = get_settings().camera_defaults
    from geo.sectors import SectorDefaults

    previous = _previous(key)
    idx = CoverageIndex.build(cams, defaults=SectorDefaults(defaults.heading_deg, defaults.fov_deg, defaults.range_m),
                              precompute=False, union=True, workers=_workers(), reuse=previous)
    if idx.groups is not None:
        logger.info("coverage index: %d groups unioned, %d reused", idx.groups.unioned, idx.groups.reused)
    idx.rows_skipped = skipped
    _store(key, idx)
    return idx


# ---------------------------------------------------------------- database registry
def registry_version(engine: Engine | None = None) -> str:
    """Changes whenever a camera is added, edited or removed."""
    import sqlalchemy as sa

    from disaster_ops.storage.db import get_engine
    from disaster_ops.storage.models import Camera

    t = Camera.__table__
    with (engine or get_engine()).connect() as conn:
        n, max_id, max_upd = conn.execute(
            sa.select(sa.func.count(), sa.func.max(t.c.id), sa.func.max(t.c.updated_at))).one()
    return f"{n}:{max_id}:{max_upd}"


def db_cameras(engine: Engine | None = None) -> Cameras:
    """All cameras of the database as arrays (one Core query, no ORM objects)."""
    import sqlalchemy as sa

    from disaster_ops.storage.db import get_engine
    from disaster_ops.storage.models import Camera

    t = Camera.__table__
    with (engine or get_engine()).connect() as conn:
        rows = conn.execute(sa.select(t.c.source_key, t.c.lat, t.c.lon, t.c.heading_deg, t.c.fov_deg,
                                      t.c.range_m).order_by(t.c.id)).all()
    if not rows:
        return Cameras(np.array([]), np.array([]), np.array([]), np.array([]), np.array([]),
                       np.array([], dtype=object))
    keys, lat, lon, hdg, fov, rng = zip(*rows, strict=True)
    return Cameras(*(np.array(v, dtype=float) for v in (lat, lon, hdg, fov, rng)), np.array(keys, dtype=object))


def db_index(*, engine: Engine | None = None, aoi=None, overrides: Overrides | None = None) -> CoverageIndex:
    """The coverage index of the database registry (cached; rebuilt when it changes)."""
    from disaster_ops.storage.db import get_engine

    eng = engine or get_engine()
    ov = overrides or Overrides()
    src = hashlib.blake2b(str(eng.url).encode(), digest_size=6).hexdigest()
    ver = hashlib.blake2b(f"{_CACHE_VERSION}|{registry_version(eng)}|{ov.key()}".encode(),
                          digest_size=10).hexdigest()
    return _index_for(f"db{src}-{ver}", lambda: (db_cameras(eng), 0), aoi, ov)


# ---------------------------------------------------------------- registry file
def file_index(path: Path, *, aoi=None, overrides: Overrides | None = None) -> CoverageIndex:
    """The coverage index of a registry file (cached by the file's content hash)."""
    from disaster_ops.registry import CameraRecord, read_registry

    ov = overrides or Overrides()
    raw = Path(path).read_bytes()
    digest = hashlib.blake2b(raw, digest_size=12).hexdigest()
    src = hashlib.blake2b(str(Path(path).resolve()).encode(), digest_size=6).hexdigest()
    ver = hashlib.blake2b(f"{_CACHE_VERSION}|{digest}|{ov.key()}".encode(), digest_size=10).hexdigest()

    def load() -> tuple[Cameras, int]:
        from disaster_ops.registry.fast_plain import read_plain_arrays

        fast = read_plain_arrays(raw, Path(path), defaults=get_settings().camera_defaults,
                                 limits=get_settings().limits)
        if fast is not None:  # a simple plain CSV: column-wise, the same cameras
            return Cameras(fast.lat, fast.lon, fast.heading_deg, fast.fov_deg, fast.range_m,
                           fast.source_key), 0
        _, _, rows = read_registry(Path(path), defaults=get_settings().camera_defaults,
                                   limits=get_settings().limits)
        records, skipped = [], 0
        for row in rows:
            if isinstance(row, CameraRecord):
                records.append(row)
            else:
                skipped += 1
                logger.info("coverage: skipped %s", row)
        return Cameras.from_records(records), skipped

    return _index_for(f"file{src}-{ver}", load, aoi, ov)


def clear_memory() -> None:
    with _lock:
        _memory.clear()


def aoi_bounds(area) -> tuple[float, float, float, float]:
    return (area.polygon_wgs84() if isinstance(area, PointRadius) else area).bounds
