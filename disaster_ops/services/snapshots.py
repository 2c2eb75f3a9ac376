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
