"""Person sightings: what missing-person search searches.

While the people plugin tracks persons on a camera (or a drone stream), :class:`SightingRecorder`
stores at most one compact sighting per track per ``sightings_every_s``: where (the ground
point of the feet through the source's pixel->ground model; the pole and its reach where
the camera is not calibrated), when, the track id and box, the appearance vector and
colours (``people.appearance``) and a small crop JPEG under ``<data_dir>/sightings/``.

Every row carries ``camera_key`` and ``captured_at`` and its crop's path, so retention can
delete a camera's crops and rows older than its retention days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from disaster_ops.detect.records import Detections
from disaster_ops.people.appearance import FEATURE_VERSION, appearance_of
from disaster_ops.services.snapshots import safe_stem, write_snapshot
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import PersonSighting, SourceKind

logger = logging.getLogger(__name__)
CROP_MARGIN = 0.1  # share of the box added around a crop
CROP_MAX_H_PX = 160  # crops taller than this are scaled down


class SightingSampler:
    """Which tracked persons of a frame to store: a track at most once per ``every_s``
    (stream time); tracks unseen for ``forget_s`` are forgotten."""

    def __init__(self, every_s: float, *, forget_s: float = 600.0) -> None:
        self.every_s = float(every_s)
        self.forget_s = forget_s
        self._last: dict[int, float] = {}

    def due(self, track_ids: np.ndarray, now_s: float) -> np.ndarray:
        """Boolean mask of the ``track_ids`` (-1 = untracked, never due) to store now."""
        if self.every_s <= 0:
            return np.zeros(len(track_ids), bool)
        out = np.zeros(len(track_ids), bool)
        for i, tid in enumerate(int(t) for t in track_ids):
            if tid < 0:
                continue
            last = self._last.get(tid)
            if last is None or now_s - last >= self.every_s - 1e-6:
                self._last[tid] = now_s
                out[i] = True
        if len(self._last) > 1000:
            self._last = {k: v for k, v in self._last.items() if now_s - v < self.forget_s}
        return out


@dataclass(frozen=True)
class GroundPoint:
    lat: float
    lon: float
    uncertainty_m: float | None


class SightingRecorder:
    """Sightings of one source (camera or drone stream).

    Args:
        source_kind: cctv or drone.
        camera_key: camera ``source_key`` or ``drone:NAME``.
        every_s: one sighting per track at most this often, s (0: none).
        crop_dir: where crops go (default ``<data_dir>/sightings``).
    """

    def __init__(self, source_kind: SourceKind, camera_key: str, *, every_s: float,
                 crop_dir: Path | None = None) -> None:
        from disaster_ops.config import get_settings

        self.source_kind = SourceKind(source_kind)
        self.camera_key = camera_key
        self.sampler = SightingSampler(every_s)
        self.crop_dir = Path(crop_dir) if crop_dir else get_settings().data_dir / "sightings"
        self.stored = 0

    def sightings(self, frame: np.ndarray, persons: Detections, *, now_s: float, captured_at: datetime,
                  ground) -> list[PersonSighting]:
        """Rows for the tracked persons due now. ``ground(i) -> GroundPoint | None`` places
        person ``i`` of ``persons`` (None: not on the ground, e.g. an unreferenced drone frame)."""
        if not len(persons) or "track_id" not in persons.data:
            return []
        due = self.sampler.due(persons.data["track_id"], now_s)
        rows = []
        for i in np.flatnonzero(due):
            app = appearance_of(frame, persons.xyxy[i])
            where = ground(int(i)) if app is not None else None
            if app is None or where is None:
                continue
            tid = int(persons.data["track_id"][i])
            x1, y1, x2, y2 = (float(v) for v in persons.xyxy[i])
            rows.append(PersonSighting(
                source_kind=self.source_kind, camera_key=self.camera_key, captured_at=captured_at, track_id=tid,
                x1=x1, y1=y1, x2=x2, y2=y2, lat=where.lat, lon=where.lon, uncertainty_m=where.uncertainty_m,
                confidence=float(persons.confidence[i]), upper_colour=app.upper_colour,
                lower_colour=app.lower_colour, build=app.build.value, feature_version=FEATURE_VERSION,
                attrs=app.vector.tobytes(), crop_path=self._write_crop(frame, (x1, y1, x2, y2), captured_at, tid)))
        return rows

    def _write_crop(self, frame: np.ndarray, box, at: datetime, track_id: int) -> str | None:
        import cv2

        h, w = frame.shape[:2]
        x1, y1, x2, y2 = box
        mx, my = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
        crop = frame[max(0, round(y1 - my)):min(h, round(y2 + my)), max(0, round(x1 - mx)):min(w, round(x2 + mx))]
        if not crop.size:
            return None
        if crop.shape[0] > CROP_MAX_H_PX:
            s = CROP_MAX_H_PX / crop.shape[0]
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * s)), CROP_MAX_H_PX), interpolation=cv2.INTER_AREA)
        folder = self.crop_dir / f"{at:%Y%m%d}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            logger.warning("%s: sighting crops folder %s not made (%s)", self.camera_key, folder, exc)
            return None
        stem = safe_stem("person", None, self.camera_key, at, track_id) + f"_{at.microsecond // 1000:03d}"
        return write_snapshot(folder, stem, crop, who=self.camera_key)


def store(rows: list[PersonSighting], *, engine: Engine | None = None) -> int:
    """Insert sightings in one transaction; how many."""
    if not rows:
        return 0
    with session_scope(engine or get_engine()) as s:
        s.add_all(rows)
    return len(rows)


def ground_of_model(model, persons: Detections, *, max_range_m: float,
                    fallback_latlon: tuple[float, float] | None, box_point: str = "bottom"):
    """``ground(i)`` for :meth:`SightingRecorder.sightings` from a pixel->ground model
    (``services.projection.camera_model`` or a drone frame's pose): the bottom centre of the
    box (``box_point="foot"`` for drones); a pole model gives the pole with the camera's reach
    as uncertainty."""
    from disaster_ops.services.projection import to_ground

    def ground(i: int) -> GroundPoint | None:
        one = persons[np.arange(len(persons)) == i]
        g = to_ground(model, one, kinds={"person"}, source_kind="", source_id="", observed_at=_EPOCH,
                      max_range_m=max_range_m, fallback_latlon=fallback_latlon, box_point=box_point)
        return GroundPoint(g[0].ground_lat, g[0].ground_lon, g[0].uncertainty_m) if g else None

    return ground


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


# -- packs: column-packed copies of consecutive sightings (fast search scoring) -------------

BUILD_CODES = {"": 0, "slim": 1, "medium": 2, "broad": 3}
ROWS_PER_PACK = 4096
SETTLE_S = 600.0  # only rows captured this long ago are packed (their insert has committed)


@dataclass(frozen=True)
class PackArrays:
    """One pack decoded: parallel arrays of its sightings."""

    ids: np.ndarray  # int64
    t_s: np.ndarray  # float64 Unix seconds
    lat: np.ndarray  # float64
    lon: np.ndarray  # float64
    builds: np.ndarray  # uint8 BUILD_CODES
    attrs: np.ndarray  # (n, VECTOR_BYTES) uint8


def decode_pack(ids: bytes, t_s: bytes, lat: bytes, lon: bytes, builds: bytes, attrs: bytes) -> PackArrays:
    from disaster_ops.people.appearance import VECTOR_BYTES

    n = len(ids) // 8
    return PackArrays(np.frombuffer(ids, "<i8"), np.frombuffer(t_s, "<f8"), np.frombuffer(lat, "<f8"),
                      np.frombuffer(lon, "<f8"), np.frombuffer(builds, np.uint8),
                      np.frombuffer(attrs, np.uint8).reshape(n, VECTOR_BYTES))


def _pack_row(rows: list) -> dict:
    """``rows``: (id, captured_at, lat, lon, build, attrs) in id order -> pack column values."""
    ids = np.array([r[0] for r in rows], "<i8")
    t = np.array([r[1].timestamp() for r in rows], "<f8")
    lat = np.array([r[2] for r in rows], "<f8")
    lon = np.array([r[3] for r in rows], "<f8")
    return {"id_lo": int(ids[0]), "id_hi": int(ids[-1]), "n": len(rows),
            "first_at": min(r[1] for r in rows), "last_at": max(r[1] for r in rows),
            "min_lat": float(lat.min()), "min_lon": float(lon.min()), "max_lat": float(lat.max()),
            "max_lon": float(lon.max()), "ids": ids.tobytes(), "t_s": t.tobytes(), "lat": lat.tobytes(),
            "lon": lon.tobytes(), "builds": np.array([BUILD_CODES.get(r[4], 0) for r in rows], np.uint8).tobytes(),
            "attrs": b"".join(bytes(r[5]) for r in rows)}


def _rows_for_pack(conn, after_id: int, limit: int, upper_id: int | None = None) -> list:
    import sqlalchemy as sa

    from disaster_ops.people.appearance import VECTOR_BYTES

    t = PersonSighting.__table__.c
    q = sa.select(t.id, t.captured_at, t.lat, t.lon, t.build, t.attrs).where(t.id > after_id).order_by(t.id)
    if upper_id is not None:
        q = q.where(t.id <= upper_id)
    return [r for r in conn.execute(q.limit(limit)).all() if len(r[5]) == VECTOR_BYTES]


def pack(*, engine: Engine | None = None, rows_per_pack: int = ROWS_PER_PACK, settle_s: float = SETTLE_S,
         now: datetime | None = None) -> int:
    """Pack the sightings after the last packed id, ``rows_per_pack`` at a time, stopping at
    the first one captured less than ``settle_s`` ago (or when fewer than a full pack are
    left). Safe to run from several processes (a pack's first id is unique). How many packs."""
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError

    from disaster_ops.storage.models import PersonSightingPack, utcnow

    eng = engine or get_engine()
    cutoff = (now or utcnow()).timestamp() - settle_s
    ptab = PersonSightingPack.__table__
    made = 0
    while True:
        with eng.begin() as conn:
            after = conn.execute(sa.select(sa.func.max(ptab.c.id_hi))).scalar() or 0
            rows = _rows_for_pack(conn, after, rows_per_pack)
            settled = next((i for i, r in enumerate(rows) if r[1].timestamp() > cutoff), len(rows))
            if settled < rows_per_pack:
                return made
            try:
                conn.execute(sa.insert(ptab).values(**_pack_row(rows)))
            except IntegrityError:  # another packer wrote this pack first
                return made
        made += 1


def compact_packs(*, engine: Engine | None = None) -> int:
    """After sightings were deleted (retention): rewrite each pack that still holds a deleted
    sighting from the rows left in its id range (or drop it when none are). How many changed.
    Searches never return a deleted sighting either way; this removes its colours and place
    from the pack too."""
    import sqlalchemy as sa

    from disaster_ops.storage.models import PersonSightingPack

    eng = engine or get_engine()
    ptab, t = PersonSightingPack.__table__, PersonSighting.__table__.c
    changed = 0
    with eng.begin() as conn:
        packs = conn.execute(sa.select(ptab.c.id, ptab.c.id_lo, ptab.c.id_hi, ptab.c.n)).all()
        for pid, lo, hi, n in packs:
            left = conn.execute(sa.select(sa.func.count()).where(t.id >= lo, t.id <= hi)).scalar()
            if left == n:
                continue
            changed += 1
            rows = _rows_for_pack(conn, lo - 1, n, upper_id=hi)
            if not rows:
                conn.execute(sa.delete(ptab).where(ptab.c.id == pid))
                continue
            vals = _pack_row(rows)
            vals["id_lo"], vals["id_hi"] = lo, hi  # the pack keeps its id range
            conn.execute(sa.update(ptab).where(ptab.c.id == pid).values(**vals))
    return changed
