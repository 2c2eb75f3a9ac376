"""Retention of person images: each camera's 보관일수 (registry retention days) honoured
for every file of a person that the database tracks by camera and time.

The interface is small so that any store of person images joins it:

- :class:`TrackedFiles` names a table, its file-path, camera-key and time columns, an
  optional filter (which rows are person images) and what happens to an expired row
  (:class:`Expiry`: delete the row, or keep the row and clear its path);
- :func:`register` adds a store; built in are :data:`PEOPLE_SNAPSHOTS`, the snapshots of
  people incidents (``collapse``, ``crowding``, ``loitering``) in ``detection``, whose rows
  stay (the incident's history) with the path cleared, and :data:`PERSON_CROPS`, the
  sightings of missing-person search (``person_sighting``: row and crop deleted, packs
  compacted);
- :func:`policies` gives each camera's :class:`RetentionPolicy` (its ``retention_days``,
  else ``retention.default_days``);
- :func:`run` finds expired rows per distinct number of days in SQL (no per-camera
  loop: a province has 170,000 cameras), deletes the file and its cached blurred copy
  first and then the row (a crash in between leaves a row whose file is gone, which the
  next run cleans; never a file nobody tracks), and audits one event per store as
  ``system`` (dry runs too, marked ``dry_run``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from disaster_ops.services import audit
from disaster_ops.services.roles import Principal
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Camera, Detection, PersonSighting

logger = logging.getLogger(__name__)

PEOPLE_INCIDENT_KINDS = ("collapse", "crowding", "loitering")
RETENTION_PRINCIPAL = Principal.system("retention")
MAX_LISTED = 200  # expired items kept in a report / audit event (counts are always complete)


class Expiry(str, enum.Enum):
    DELETE_ROW = "delete_row"  # the row is only the image (a person crop): it goes
    CLEAR_PATH = "clear_path"  # the row is evidence of something else (a detection): the path is cleared


@dataclass(frozen=True)
class TrackedFiles:
    """A table whose rows track person-image files by camera and time."""

    name: str
    table: sa.Table
    path_col: str
    camera_col: str
    time_col: str
    expiry: Expiry
    id_col: str = "id"
    where: Callable[[sa.Table], sa.ColumnElement[bool]] | None = None
    after_delete: Callable[[Engine], object] | None = None  # e.g. drop deleted rows from derived packs


@dataclass(frozen=True)
class RetentionPolicy:
    camera_key: str
    days: int
    source: str  # "registry" (보관일수) or "default"

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days)


@dataclass(frozen=True)
class ExpiredFile:
    store: str
    row_id: int
    camera_key: str
    at: datetime
    path: str


@dataclass
class RetentionReport:
    now: datetime
    dry_run: bool
    expired: dict[str, int] = field(default_factory=dict)  # store -> rows past retention
    files_deleted: int = 0
    rows_deleted: int = 0
    paths_cleared: int = 0
    errors: list[str] = field(default_factory=list)
    items: list[ExpiredFile] = field(default_factory=list)  # the first MAX_LISTED

    def to_json(self) -> dict:
        return {"now": self.now.isoformat(), "dry_run": self.dry_run, "expired": self.expired,
                "files_deleted": self.files_deleted, "rows_deleted": self.rows_deleted,
                "paths_cleared": self.paths_cleared, "errors": self.errors,
                "items": [{"store": i.store, "id": i.row_id, "camera": i.camera_key, "at": i.at.isoformat(),
                           "path": i.path} for i in self.items]}


def _people_detections(t: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(t.c.kind.in_(PEOPLE_INCIDENT_KINDS), t.c.source_kind == "cctv")


def _compact_sighting_packs(engine: Engine) -> object:
    from disaster_ops.services.sightings import compact_packs

    return compact_packs(engine=engine)


PEOPLE_SNAPSHOTS = TrackedFiles("people_snapshots", Detection.__table__, "snapshot_path", "source_id",
                                "observed_at", Expiry.CLEAR_PATH, where=_people_detections)
# Missing-person search's sightings (services/sightings): the row is the person (colours,
# place, time) and its crop; both go. Drone sightings (camera_key "drone:NAME") follow the
# default days. Packs of deleted sightings are rewritten without them.
PERSON_CROPS = TrackedFiles("person_sightings", PersonSighting.__table__, "crop_path", "camera_key",
                            "captured_at", Expiry.DELETE_ROW, after_delete=_compact_sighting_packs)
_STORES: dict[str, TrackedFiles] = {PEOPLE_SNAPSHOTS.name: PEOPLE_SNAPSHOTS, PERSON_CROPS.name: PERSON_CROPS}


def register(store: TrackedFiles) -> None:
    """Put a store of person images under retention (replaces one of the same name)."""
    _STORES[store.name] = store


def stores() -> list[TrackedFiles]:
    return list(_STORES.values())


def _default_days(default_days: int | None) -> int:
    if default_days is not None:
        return int(default_days)
    from disaster_ops.config import get_settings

    return get_settings().retention.default_days


def policies(*, default_days: int | None = None, engine: Engine | None = None,
             keys: list[str] | None = None) -> dict[str, RetentionPolicy]:
    """Each camera's policy (``keys``: only those cameras)."""
    d = _default_days(default_days)
    q = sa.select(Camera.source_key, Camera.retention_days)
    if keys is not None:
        q = q.where(Camera.source_key.in_(keys))
    with Session(engine or get_engine()) as s:
        return {k: RetentionPolicy(k, int(r) if r else d, "registry" if r else "default")
                for k, r in s.execute(q)}


def _expired_condition(store: TrackedFiles, now: datetime, days_values: list[int], default_days: int):
    """Rows past their camera's retention: one clause per distinct number of days, plus
    images of cameras the registry does not (or no longer) hold, at the default."""
    t = store.table
    cam = Camera.__table__
    eff = sa.func.coalesce(cam.c.retention_days, default_days)
    ts, ck = t.c[store.time_col], t.c[store.camera_col]
    parts = [sa.and_(ts < now - timedelta(days=d), ck.in_(sa.select(cam.c.source_key).where(eff == d)))
             for d in days_values]
    parts.append(sa.and_(ts < now - timedelta(days=default_days), ck.not_in(sa.select(cam.c.source_key))))
    cond = sa.or_(*parts)
    if store.expiry is Expiry.CLEAR_PATH:  # a row without a file is nothing to clear
        cond = sa.and_(t.c[store.path_col].is_not(None), cond)
    return sa.and_(cond, store.where(t)) if store.where is not None else cond


def _delete_file(path: str | None, data_root: Path) -> tuple[bool, str | None]:
    """Delete a person image and its cached blurred copy. (deleted, error)."""
    from disaster_ops.services.evidence import blurred_copy_path

    if not path:
        return False, None
    p = Path(path)
    try:
        rp = p.resolve()
        blurred = blurred_copy_path(rp, root=data_root)
        blurred.unlink(missing_ok=True)
        if not rp.exists():
            return False, None
        rp.unlink()
        return True, None
    except OSError as exc:
        return False, f"{path}: {exc.strerror or exc}"


def run(*, now: datetime | None = None, dry_run: bool = False, engine: Engine | None = None,
        default_days: int | None = None, only: list[str] | None = None, batch: int = 1000,
        principal: Principal = RETENTION_PRINCIPAL, data_root: Path | None = None) -> RetentionReport:
    """Delete person images past their camera's retention (``dry_run``: only report them)."""
    eng = engine or get_engine()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    d_def = _default_days(default_days)
    if data_root is None:
        from disaster_ops.config import get_settings

        data_root = get_settings().data_dir
    rep = RetentionReport(now=now, dry_run=dry_run)
    with Session(eng) as s:
        days_values = sorted({int(v) for v in s.execute(
            sa.select(sa.func.coalesce(Camera.retention_days, d_def)).distinct()).scalars()} | {d_def})
    for store in stores():
        if only is not None and store.name not in only:
            continue
        t = store.table
        cond = _expired_condition(store, now, days_values, d_def)
        cols = (t.c[store.id_col], t.c[store.camera_col], t.c[store.time_col], t.c[store.path_col])
        n_store, last_id = 0, None
        before = (rep.files_deleted, rep.rows_deleted, rep.paths_cleared, len(rep.errors))
        while True:
            q = sa.select(*cols).where(cond).order_by(t.c[store.id_col]).limit(batch)
            if last_id is not None:
                q = q.where(t.c[store.id_col] > last_id)
            with Session(eng) as s:
                rows = s.execute(q).all()
            if not rows:
                break
            last_id = rows[-1][0]
            n_store += len(rows)
            for rid, key, at, path in rows:
                if len(rep.items) < MAX_LISTED:
                    rep.items.append(ExpiredFile(store.name, int(rid), str(key), at, str(path or "")))
            if dry_run:
                continue
            done_ids = []
            for rid, _key, _at, path in rows:
                deleted, err = _delete_file(path, data_root)
                if err:
                    rep.errors.append(err)
                    continue  # the row stays, so the file is tried again next run
                rep.files_deleted += int(deleted)
                done_ids.append(rid)
            if done_ids:
                with session_scope(eng) as s:
                    idc = t.c[store.id_col]
                    if store.expiry is Expiry.DELETE_ROW:
                        rep.rows_deleted += s.execute(sa.delete(t).where(idc.in_(done_ids))).rowcount or 0
                    else:
                        rep.paths_cleared += s.execute(sa.update(t).where(idc.in_(done_ids))
                                                       .values({store.path_col: None})).rowcount or 0
        rep.expired[store.name] = n_store
        if store.after_delete is not None and not dry_run and rep.rows_deleted > before[1]:
            try:
                store.after_delete(eng)
            except Exception:  # the rows are gone; a derived copy is tidied on the next run
                logger.exception("retention: %s: after-delete step failed", store.name)
        with session_scope(eng) as s:
            audit.record(s, principal=principal, action="retention.run", object_type="retention",
                         object_id=store.name,
                         details={"dry_run": dry_run, "expired": n_store, "default_days": d_def,
                                  "files_deleted": rep.files_deleted - before[0],
                                  "rows_deleted": rep.rows_deleted - before[1],
                                  "paths_cleared": rep.paths_cleared - before[2],
                                  "errors": len(rep.errors) - before[3],
                                  "ids": [i.row_id for i in rep.items if i.store == store.name][:MAX_LISTED]})
    if rep.errors:
        logger.warning("retention: %d file(s) could not be deleted (first: %s)", len(rep.errors), rep.errors[0])
    logger.info("retention%s: %s expired, %d file(s) deleted", " (dry run)" if dry_run else "", rep.expired,
                rep.files_deleted)
    return rep
