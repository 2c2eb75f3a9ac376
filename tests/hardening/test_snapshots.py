"""Snapshot files (issue #17): names from a safe id whatever the camera key holds, and a
failed write is reported (None, logged) instead of a path to a file that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from disaster_ops.services.snapshots import safe_stem, write_snapshot

AT = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)


def test_hostile_keys_give_safe_distinct_names(tmp_path):
    keys = ["kr:a/b", "../../etc/passwd", "kr:a\\b", "카메라 1", "x" * 500, "kr:a/c"]
    stems = [safe_stem("cam", i, k, AT, 7) for i, k in enumerate(keys)]
    assert len(set(stems)) == len(stems)
    for stem in stems:
        assert set(stem) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        assert len(stem) < 64
    img = np.zeros((16, 16, 3), np.uint8)
    path = write_snapshot(tmp_path, stems[0], img, who="kr:a/b")
    assert path is not None and (tmp_path / f"{stems[0]}.jpg").is_file()


def test_failed_write_returns_none_and_logs(tmp_path, caplog):
    img = np.zeros((16, 16, 3), np.uint8)
    gone = tmp_path / "removed"
    assert write_snapshot(gone, "cam1_x", img, who="cam-1") is None
    assert "not written" in caplog.text
