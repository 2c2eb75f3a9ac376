"""Frame input: normalise any decoded image to 3-channel uint8 BGR, read files and videos.

Detectors accept what cameras and files really give: grayscale, BGRA (PNG with alpha),
16-bit images, float images. Empty or broken input raises :class:`FrameError` with the
source name and a reason, so a caller processing many files can report and go on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from disaster_ops.detect.errors import FrameError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".webm", ".ts"})
MIN_SIDE_PX = 8


def to_bgr(frame: np.ndarray, *, source: str = "frame") -> np.ndarray:
    """Return ``frame`` as contiguous uint8 BGR ``(h, w, 3)``.

    Grayscale ``(h, w)`` or ``(h, w, 1)`` is replicated, BGRA drops alpha, 16-bit is
    scaled down, float in 0..1 is scaled up. Raises FrameError for empty, tiny or
    non-image arrays.
    """
    if not isinstance(frame, np.ndarray):
        raise FrameError(source, f"expected a numpy image, got {type(frame).__name__}")
    if frame.size == 0:
        raise FrameError(source, "empty image")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        raise FrameError(source, f"unsupported image shape {frame.shape}")
    if min(frame.shape[:2]) < MIN_SIDE_PX:
        raise FrameError(source, f"image too small {frame.shape[1]}x{frame.shape[0]} px")
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif np.issubdtype(frame.dtype, np.floating):
        if not np.all(np.isfinite(frame)):
            raise FrameError(source, "image has NaN or infinite values")
        scale = 255.0 if frame.max() <= 1.0 else 1.0
        frame = np.clip(frame * scale, 0, 255).astype(np.uint8)
    elif frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(frame)


MAX_IMAGE_PIXELS = 64_000_000  # 8K video frames are 33 MP; a header claiming more is refused


def _header_pixels(path: Path) -> int | None:
    """Width x height from the image header without decoding (None if Pillow cannot tell)."""
    try:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, without Pillow's warning
        with Image.open(path) as im:
            w, h = im.size
        return int(w) * int(h)
    except Exception:  # noqa: BLE001 - unknown format: OpenCV decides below
        return None


def read_image(path: Path) -> np.ndarray:
    """Decode an image file (any depth/channels) to BGR uint8, or raise FrameError.

    A header that claims more than ``MAX_IMAGE_PIXELS`` is refused before decoding (a
    30,000 x 30,000 PNG of a few kilobytes asked for 2.7 GB), and OpenCV's own decode
    errors become :class:`FrameError` instead of a traceback.
    """
    path = Path(path)
    if not path.is_file():
        raise FrameError(str(path), "no such file")
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        raise FrameError(str(path), "empty file")
    pixels = _header_pixels(path)
    if pixels is not None and pixels > MAX_IMAGE_PIXELS:
        raise FrameError(str(path), f"image of {pixels:,} pixels is larger than the limit of "
                                    f"{MAX_IMAGE_PIXELS:,}")
    try:
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise FrameError(str(path), f"not a decodable image ({str(exc).strip().splitlines()[-1][:120]})") from None
    if img is None:
        raise FrameError(str(path), "not a decodable image (corrupt or unsupported format)")
    return to_bgr(img, source=str(path))


@dataclass(frozen=True)
class SourcedFrame:
    """One frame with where it came from: file and frame index (0 for still images)."""

    source: str
    frame_index: int
    image: np.ndarray
    time_s: float = 0.0


def iter_video(path: Path, *, fps: float | None = None, max_frames: int | None = None) -> Iterator[SourcedFrame]:
    """Decode a video, yielding frames sampled at ``fps`` (None = every frame).

    Raises FrameError when the file cannot be opened or has no decodable frame.
    """
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FrameError(str(path), "cannot open video")
    try:
        native = cap.get(cv2.CAP_PROP_FPS) or 0.0
        if native <= 0 or native > 1000:
            native = 25.0
        step_s = 1.0 / fps if fps else 0.0
        next_s, index, yielded = 0.0, 0, 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            t = index / native
            index += 1
            if step_s and t + 1e-9 < next_s:
                continue
            next_s += step_s
            yield SourcedFrame(str(path), index - 1, to_bgr(frame, source=str(path)), t)
            yielded += 1
            if max_frames is not None and yielded >= max_frames:
                break
        if index == 0:
            raise FrameError(str(path), "video has no decodable frame")
    finally:
        cap.release()


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Folders become their image and video files (sorted, recursive); files stay."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
            )
        else:
            out.append(p)
    return out


def is_video(path: Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES
