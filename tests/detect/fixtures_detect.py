"""Paths of the detection test fixtures (real frames, CC BY 4.0 / CC0; see docs/MODELS.md)."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "detect"


def fixture_images(kind: str) -> list[Path]:
    """Fixture images of ``kind`` (``fire``, ``smoke``, ``normal``), sorted."""
    return sorted((FIXTURES / kind).glob("*.jpg"))
