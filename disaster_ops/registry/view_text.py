"""Turn the registry's free-text ``촬영방면정보`` (shooting direction) into a view.

The Korean CCTV standard data has no numeric heading for most rows. Observed values
(Busan 2024, Daejeon 2026) and how they map:

=====================================  ==========================================
text                                   view
=====================================  ==========================================
``360도 전방면``, ``360°``, ``360``,      fov 360° (omnidirectional / PTZ), PTZ range
``360도다방면``, ``회전``, ``전방향``
``90도 정면``, ``60도 단방향``, ``130``,   fov = that number, heading unknown → default
``45°``, ``170도 방면``
``동측``, ``북서``, ``남쪽``, ``북동향``    heading from the compass word, default fov
``반경 2~3m``                           fov 360°, range = the larger number
``고정``, blank, place names             default heading and fov (``view_source=default``)
=====================================  ==========================================

``카메라대수`` (camera count) > 1 means several view directions on one pole; that is
modelled as 360° coverage at fixed-camera range. Every result says how it was derived in
``source`` so the UI can mark guessed views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Compass words → heading clockwise from north. Longer words first so 북서 wins over 북.
_COMPASS = [
    ("북북동", 22.5), ("동북동", 67.5), ("동남동", 112.5), ("남남동", 157.5),
    ("남남서", 202.5), ("서남서", 247.5), ("서북서", 292.5), ("북북서", 337.5),
    ("북동", 45.0), ("동북", 45.0), ("남동", 135.0), ("동남", 135.0),
    ("남서", 225.0), ("서남", 225.0), ("북서", 315.0), ("서북", 315.0),
    ("북", 0.0), ("동", 90.0), ("남", 180.0), ("서", 270.0),
]
_COMPASS_RE = re.compile(
    r"^(?:" + "|".join(w for w, _ in _COMPASS) + r")(?:측|쪽|향|방향|방면)?$"
)
_OMNI_WORDS = ("전방향", "다방면", "전방위", "회전", "전방면", "360")
_ANGLE_RE = re.compile(r"^(\d{1,3}(?:\.\d+)?)\s*(?:도|°)?")
_RADIUS_RE = re.compile(r"반경\s*(?:(\d+(?:\.\d+)?)\s*[~\-]\s*)?(\d+(?:\.\d+)?)\s*m")


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """Heading/fov/range parsed from text; ``None`` means 'use the default'."""

    heading_deg: float | None
    fov_deg: float | None
    range_m: float | None
    omni: bool
    source: str  # registry-text | registry-angle | registry-compass | camera-count | default


@lru_cache(maxsize=8192)  # registry texts repeat a lot; ViewSpec is immutable
def parse_view_text(text: str | None, *, camera_count: int = 1) -> ViewSpec:
    """Parse ``촬영방면정보`` plus ``카메라대수`` into a :class:`ViewSpec`."""
    t = (text or "").strip().replace(" ", "")
    t_spaced = (text or "").strip()
    if t:
        m = _RADIUS_RE.search(t_spaced)
        if m:
            return ViewSpec(None, 360.0, float(m.group(2)), True, "registry-text")
        if any(w in t for w in _OMNI_WORDS):
            return ViewSpec(None, 360.0, None, True, "registry-text")
        m = _ANGLE_RE.match(t)
        if m:
            angle = float(m.group(1))
            if 0.0 < angle < 360.0:
                if camera_count > 1:
                    return ViewSpec(None, 360.0, None, False, "camera-count")
                return ViewSpec(None, angle, None, False, "registry-angle")
            if angle >= 360.0:
                return ViewSpec(None, 360.0, None, True, "registry-text")
        core = re.sub(r"\(.*?\)", "", t)
        if _COMPASS_RE.match(core):
            for word, heading in _COMPASS:
                if core.startswith(word):
                    if camera_count > 1:
                        return ViewSpec(None, 360.0, None, False, "camera-count")
                    return ViewSpec(heading, None, None, False, "registry-compass")
    if camera_count > 1:
        return ViewSpec(None, 360.0, None, False, "camera-count")
    return ViewSpec(None, None, None, False, "default")
