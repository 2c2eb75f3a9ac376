"""Snapshots as they are served: raw evidence only to those whose role allows it, a
face/head-blurred copy to everyone else and to every feed that leaves the centre.

Every place that hands out snapshot bytes goes through :func:`snapshot_bytes` (or
:func:`incident_snapshot`): the dashboard (popup thumbnails, the incidents page), the
MQTT ``snapshot`` topic, the GIS feed's ``/snapshots/ID.jpg`` (which the GeoJSON
``snapshot_href``, CAP ``<resource>`` and CoT ``<link>`` point to). Rules:

- a stored path is data: it is read only when it resolves (links followed) to a regular
  ``.jpg``/``.jpeg`` file inside the data folder and not inside the blurred-copy cache,
  at most :data:`MAX_SNAPSHOT_BYTES`; anything else gives None;
- ``principal`` None means "leaves the centre" (agency feeds, exports): always blurred;
  a principal sees the raw file only with :data:`Action.VIEW_RAW_EVIDENCE` (admins and
  managers, ``services/roles.py``);
- blurring fails closed: if the blurred copy cannot be made, nothing is served;
- blurred copies are cached in ``<data_dir>/blurred/`` named by a hash of the raw path,
  remade when the raw file is newer; retention deletes them with their raw file.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.services.roles import Action, Principal

logger = logging.getLogger(__name__)

MAX_SNAPSHOT_BYTES = 20_000_000
SUFFIXES = {".jpg", ".jpeg"}
BLURRED_DIR = "blurred"
JPEG_QUALITY = 85

_lock = threading.Lock()
_anonymizer = None


def may_see_raw(principal: Principal | None) -> bool:
    """True only for an authenticated principal whose role allows raw evidence."""
    return isinstance(principal, Principal) and principal.may(Action.VIEW_RAW_EVIDENCE)


def _data_root(root: Path | None) -> Path:
    if root is not None:
        return Path(root).resolve()
    from disaster_ops.config import get_settings

    return get_settings().data_dir.resolve()


def resolve_snapshot(path: str | Path | None, *, root: Path | None = None) -> Path | None:
    """The stored snapshot file ``path`` names, or None unless it is a JPEG inside the data
    folder (outside the blurred cache), a regular file, not too large."""
    if not path:
        return None
    base = _data_root(root)
    try:
        p = Path(path).resolve()
        if (not p.is_relative_to(base) or p.is_relative_to(base / BLURRED_DIR)
                or p.suffix.lower() not in SUFFIXES or not p.is_file()
                or p.stat().st_size > MAX_SNAPSHOT_BYTES):
            return None
    except (OSError, ValueError, RuntimeError):
        return None
    return p


def blurred_copy_path(raw: Path, *, root: Path | None = None) -> Path:
    """Where the blurred copy of ``raw`` is cached (a name derived from the raw path only)."""
    digest = hashlib.blake2b(str(raw).encode("utf-8", "replace"), digest_size=12).hexdigest()
    return _data_root(root) / BLURRED_DIR / f"{digest}.jpg"


def anonymizer():
    """The process's one :class:`~disaster_ops.people.anonymize.Anonymizer` (person model loaded once)."""
    global _anonymizer
    with _lock:
        if _anonymizer is None:
            from disaster_ops.people.anonymize import Anonymizer

            _anonymizer = Anonymizer()
        return _anonymizer


def set_anonymizer(a) -> None:
    """Replace the process's anonymiser (tests that share one loaded model)."""
    global _anonymizer
    with _lock:
        _anonymizer = a


def blurred_jpeg(raw: Path, *, root: Path | None = None) -> bytes | None:
    """The blurred copy of ``raw`` (made and cached on first use), or None when it cannot be made."""
    import cv2

    out = blurred_copy_path(raw, root=root)
    try:
        if out.is_file() and out.stat().st_mtime >= raw.stat().st_mtime:
            return out.read_bytes()
        img = cv2.imread(str(raw), cv2.IMREAD_COLOR)
        if img is None or img.size == 0:
            return None
        blurred, report = anonymizer().anonymize(img)
        ok, buf = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            return None
        data = buf.tobytes()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(out)
        logger.debug("blurred %s: %d person(s), %d face(s)", raw.name, report.heads, report.faces)
        return data
    except Exception:  # fail closed: never fall back to the raw file
        logger.exception("snapshot %s: blurred copy could not be made; not served", raw)
        return None


_prepare_pool = None


def prepare_blurred(path: str | Path | None) -> None:
    """Make the blurred copy of a new snapshot in the background (one worker thread), so
    the first agency or dashboard request does not wait for the person model."""
    global _prepare_pool
    raw = resolve_snapshot(path)
    if raw is None:
        return
    with _lock:
        if _prepare_pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _prepare_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blur")
    _prepare_pool.submit(blurred_jpeg, raw)


def snapshot_bytes(path: str | Path | None, *, principal: Principal | None, root: Path | None = None) -> bytes | None:
    """The bytes of a stored snapshot as ``principal`` may see them (None: outside the
    centre): raw for roles with raw evidence, else the blurred copy; None when the path
    is not a readable snapshot of ours."""
    raw = resolve_snapshot(path, root=root)
    if raw is None:
        return None
    if may_see_raw(principal):
        try:
            return raw.read_bytes()
        except OSError:
            return None
    return blurred_jpeg(raw, root=root)


def snapshot_thumbnail(path: str | Path | None, *, principal: Principal | None, max_px: int = 160,
                       quality: int = 70, root: Path | None = None) -> bytes | None:
    """A small JPEG (longest side ``max_px``) of what :func:`snapshot_bytes` gives ``principal``."""
    import cv2
    import numpy as np

    data = snapshot_bytes(path, principal=principal, root=root)
    if data is None:
        return None
    from disaster_ops.services.snapshots import small_jpeg

    return small_jpeg(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), max_px=max_px, quality=quality)


def latest_snapshot_path(incident_id: int, *, engine: Engine | None = None) -> str | None:
    """The newest detection snapshot path of an incident (None if it has none)."""
    from disaster_ops.storage.db import get_engine
    from disaster_ops.storage.models import Detection

    with Session(engine or get_engine()) as s:
        return s.exec(select(Detection.snapshot_path)
                      .where(Detection.incident_id == int(incident_id), Detection.snapshot_path.is_not(None))
                      .order_by(sa.desc(Detection.id)).limit(1)).first()


def incident_snapshot(incident_id: int, *, principal: Principal | None, engine: Engine | None = None,
                      root: Path | None = None) -> bytes | None:
    """The newest snapshot of an incident as ``principal`` may see it (see :func:`snapshot_bytes`)."""
    return snapshot_bytes(latest_snapshot_path(incident_id, engine=engine), principal=principal, root=root)


def snapshot_href(incident_id: int) -> str:
    """The feed-relative link to an incident's (blurred) snapshot."""
    return f"snapshots/{int(incident_id)}.jpg"


def snapshot_url(base_url: str | None, incident_id: int) -> str | None:
    """Absolute link on the GIS feed (``share gis``) to an incident's blurred snapshot."""
    return None if not base_url else f"{base_url.rstrip('/')}/{snapshot_href(incident_id)}"
