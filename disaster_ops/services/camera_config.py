"""Per-camera detection settings: show, change and reset them, each change audited.

The settings are a :class:`CameraDetectConfig` stored as JSON in ``camera.detect_config``
(kinds, thresholds, ROI and exclusion polygons, motion gate, confirmation, flood mode).
A flood reference image is copied under ``<data_dir>/references/`` so the camera keeps
it when the original file moves. The watcher reads the settings when it starts.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import cv2
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.config import get_settings
from disaster_ops.detect import CameraDetectConfig, FrameError
from disaster_ops.detect.frames import read_image
from disaster_ops.errors import InputError
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Camera


def _camera(session: Session, source_key: str) -> Camera:
    cam = session.exec(select(Camera).where(Camera.source_key == source_key)).first()
    if cam is None:
        raise InputError(f"no camera with key {source_key!r} (see `disaster-ops cameras list --json`)")
    return cam


def get_detect_config(source_key: str, *, engine: Engine | None = None) -> CameraDetectConfig:
    """The camera's effective settings (defaults where nothing was set)."""
    with Session(engine or get_engine()) as session:
        cam = _camera(session, source_key)
        return parse_detect_config(cam.detect_config, source=source_key)


def parse_detect_config(text: str | None, *, source: str) -> CameraDetectConfig:
    """Validate stored or user-given JSON settings; a clear error names the bad field."""
    if not text:
        return CameraDetectConfig()
    try:
        return CameraDetectConfig.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise InputError(f"{source}: invalid detection settings at {where}: {first['msg']}") from exc


def set_detect_config(
    source_key: str, config: CameraDetectConfig | None, *, principal: Principal,
    engine: Engine | None = None,
) -> CameraDetectConfig:
    """Store ``config`` for the camera (None = back to defaults) and audit the change."""
    require(principal, Action.CONFIGURE_CAMERA)
    with session_scope(engine or get_engine()) as session:
        cam = _camera(session, source_key)
        before = cam.detect_config
        cam.detect_config = None if config is None else config.model_dump_json(exclude_defaults=True)
        session.add(cam)
        audit.record(session, principal=principal, action="camera.configure_detection", object_type="camera",
                     object_id=source_key,
                     details={"before": json.loads(before) if before else None,
                              "after": json.loads(cam.detect_config) if cam.detect_config else None})
        return config or CameraDetectConfig()


def store_reference_image(source_key: str, image: Path, *, data_dir: Path | None = None) -> Path:
    """Copy a dry-weather frame of the camera's view to ``<data_dir>/references/`` as PNG.

    Raises InputError for a missing or undecodable image. Returns the stored path.
    """
    try:
        frame = read_image(Path(image))
    except FrameError as exc:
        raise InputError(f"flood reference: {exc}") from exc
    root = Path(data_dir or get_settings().data_dir).resolve() / "references"
    root.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", source_key).strip("_") or "camera"
    digest = hashlib.sha1(source_key.encode()).hexdigest()[:8]  # keys differing only in odd characters stay apart
    out = root / f"{safe}-{digest}.png"
    if not cv2.imwrite(str(out), frame):
        raise InputError(f"flood reference: cannot write {out}")
    return out
