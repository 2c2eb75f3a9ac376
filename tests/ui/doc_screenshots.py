"""Screenshots the browser tests take, and the documentation shows.

Every screenshot goes to ``var/artifacts/`` (not committed). With
``DISASTER_OPS_DOC_SCREENSHOTS=docs/img`` set (a folder, relative to the repository or
absolute) the tests also write an optimised copy there, under the same name, for the
operator's guide to show (regenerate them after a dashboard change and commit them):

    DISASTER_OPS_DOC_SCREENSHOTS=docs/img python -m pytest -q tests/ui/test_browser.py

Optimised: at most ``MAX_WIDTH_PX`` wide and ``MAX_HEIGHT_PX`` tall, a palette of
``COLORS`` colours, PNG compression at its best (a map screenshot drops from ~1 MB to
~150 kB).
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from tests.conftest import REPO

ENV = "DISASTER_OPS_DOC_SCREENSHOTS"
ARTIFACTS = REPO / "var" / "artifacts"
MAX_WIDTH_PX = 1200
MAX_HEIGHT_PX = 1600
COLORS = 128


def doc_dir() -> Path | None:
    """Where documentation screenshots go in this run, or None (the default: nowhere)."""
    target = os.environ.get(ENV)
    if not target:
        return None
    p = Path(target)
    return p if p.is_absolute() else REPO / p


def optimise_png(src: Path, dst: Path) -> Path:
    """A small copy of screenshot ``src`` at ``dst`` (see the module docstring)."""
    with Image.open(src) as im:
        im = im.convert("RGB")
        if im.width > MAX_WIDTH_PX:
            im = im.resize((MAX_WIDTH_PX, round(im.height * MAX_WIDTH_PX / im.width)), Image.Resampling.LANCZOS)
        if im.height > MAX_HEIGHT_PX:
            im = im.crop((0, 0, im.width, MAX_HEIGHT_PX))
        im = im.quantize(colors=COLORS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        dst.parent.mkdir(parents=True, exist_ok=True)
        im.save(dst, format="PNG", optimize=True)
    return dst


def shot(page, name: str, *, full_page: bool = False) -> Path:
    """Screenshot ``page`` as ``var/artifacts/NAME.png`` (and the documentation's copy, if asked)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if (target := doc_dir()) is not None:
        optimise_png(path, target / f"{name}.png")
    return path
