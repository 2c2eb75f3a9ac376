"""Demo seeding: the sample data shipped in ``sample_data/``."""

from __future__ import annotations

from pathlib import Path

from disaster_ops.services.cameras import import_registry
from disaster_ops.services.roles import Principal

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
DEMO_HOME = (35.1020, 129.0330)  # simulated drone's home: Busan Jung-gu, inside the sample cameras' area


def sample_registries() -> list[Path]:
    """Camera registry files in sample_data/ (CSV with 'cctv' in the name, or cameras*.geojson)."""
    return sorted([*SAMPLE_DIR.glob("*cctv*.csv"), *SAMPLE_DIR.glob("cameras*.geojson")])


def has_replay_cameras() -> bool:
    """Whether any seeded camera has a stream to replay."""
    from disaster_ops.services.watch import cameras_to_watch

    return bool(cameras_to_watch())


def seed_sample_data() -> list[str]:
    """Import every sample registry (idempotent: re-running updates, never duplicates)."""
    lines = []
    for f in sample_registries():
        r = import_registry(f, principal=Principal.system("demo"))
        lines.append(f"seeded {f.name}: {r.imported} new, {r.updated} updated, {r.unchanged} unchanged, "
                     f"{r.skipped_count} skipped")
    return lines
