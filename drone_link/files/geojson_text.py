"""Parsing GeoJSON text from a user's file into a dict, with one-line errors only."""

from __future__ import annotations

import json
from pathlib import Path

from drone_link.files.errors import MissionFileError


def parse_geojson(path: Path, text: str) -> dict:
    """The GeoJSON object in ``text``; bad JSON, 5,000-digit numbers, deep nesting or a
    non-object raise :class:`MissionFileError` naming ``path`` (and the line)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MissionFileError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, deep nesting
        raise MissionFileError(path, f"not usable JSON: {str(exc).split(';')[0][:120]}") from None
    if not isinstance(doc, dict) or "type" not in doc:
        raise MissionFileError(path, "not a GeoJSON object", field="type")
    return doc
