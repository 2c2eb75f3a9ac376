"""``disaster-ops demo --headless``: the whole loop without the dashboard, one JSON report.

Slow (about 4 minutes, the duration the issue names): excluded from ``make test``.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli


@pytest.mark.slow
def test_headless_demo_runs_the_loop_and_reports(data_dir):
    r = run_cli("demo", "--headless", "--duration", "240", "--json", "--drone-port", "18870",
                "--camera-port", "18871", "--camera-telemetry-port", "18872", timeout_s=420)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    for key in ("cameras", "incidents_by_kind", "incidents_by_source_kind", "missions_planned",
                "missions_completed", "aerial_frames", "aerial_detections", "aerial_ground_error_m",
                "frame_to_incident_s"):
        assert key in out
    assert out["incidents_by_source_kind"].get("cctv", 0) >= 1
    assert out["missions_completed"] >= 1
    assert out["aerial_detections"] >= 1 and out["aerial_ground_error_m"]["n"] >= 1
    assert out["aerial_ground_error_m"]["median"] <= 3.0
    assert set(out["aerial_ground_error_m"]) == {"median", "p95", "n"}
    assert set(out["frame_to_incident_s"]) == {"median", "p95"}
