"""Detection snapshots on disk: safe file names and checked writes.

File names never contain a raw registry key or drone name (a ``/`` in a key meant no
snapshot was written; ``..`` could leave the folder): the stem is a fixed prefix, the
database id and a short hash of the name. ``cv2.imwrite`` returns False instead of
raising; a failed write is logged and counted, and the detection gets no snapshot path
rather than one that points to a missing file.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def safe_stem(kind: str, ident: int | None, name: str, at: datetime, frame_index: int) -> str:
    """``cam12_3f9a1c_20261128T101500_7``: only ``[A-Za-z0-9_-]``, whatever the name holds."""
    digest = hashlib.blake2b(name.encode("utf-8", "replace"), digest_size=3).hexdigest()
    head = _SAFE.sub("", f"{kind}{'' if ident is None else ident}")[:24] or "snap"
    return f"{head}_{digest}_{at:%Y%m%dT%H%M%S}_{int(frame_index)}"


def write_snapshot(folder: Path, stem: str, image: np.ndarray, *, who: str) -> str | None:
    """Write ``image`` as ``folder/stem.jpg``; the path, or None (logged) when it failed."""
    path = folder / f"{stem}.jpg"
    import cv2

    try:
        ok = bool(cv2.imwrite(str(path), image))
    except (cv2.error, OSError) as exc:  # a snapshot must never stop detection
        logger.warning("%s: snapshot %s not written (%s)", who, path, exc)
        return None
    if not ok:
        logger.warning("%s: snapshot %s not written (cv2.imwrite failed: disk full or folder gone?)",
                       who, path)
        return None
    return str(path)


MAX_SNAPSHOT_BYTES = 20_000_000  # a larger "snapshot" is not one of ours: never decoded


def thumbnail_jpeg(path: str | Path | None, *, root: Path, max_px: int = 160, quality: int = 70) -> bytes | None:
    """A small JPEG of a stored snapshot (longest side ``max_px``), or None.

    Only files inside ``root`` (the data folder the detectors write to) are read, at most
    :data:`MAX_SNAPSHOT_BYTES`, and only if they decode as an image: a stored path is
    data, and must not make the dashboard read (and show) any other file."""
    if not path:
        return None
    import cv2

    try:
        p = Path(path).resolve()
        if not p.is_relative_to(root.resolve()) or not p.is_file() or p.stat().st_size > MAX_SNAPSHOT_BYTES:
            return None
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
    except (OSError, ValueError, cv2.error):
        return None
    return small_jpeg(img, max_px=max_px, quality=quality)


def small_jpeg(img, *, max_px: int, quality: int) -> bytes | None:
    """``img`` (BGR array, or None) shrunk so its longest side is at most ``max_px``, as JPEG bytes."""
    import cv2

    if img is None or img.size == 0:
        return None
    h, w = img.shape[:2]
    scale = min(1.0, max_px / max(h, w))
    if scale < 1.0:
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return bytes(buf) if ok else None
