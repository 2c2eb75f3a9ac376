"""Incident exports parse as what other systems expect (GeoJSON, CoT); CAP is in share/test_cap.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import shapely

from disaster_ops.exports import incidents_cot, incidents_geojson
from disaster_ops.exports.cot import parse_events
from disaster_ops.incidents import GroundDetection
from disaster_ops.services.incidents import ingest, list_incidents
from tests.conftest import run_cli


def _incident(engine, kind="flood"):
    det = GroundDetection(source_kind="drone", source_id="sim-1", observed_at=datetime.now(UTC),
                          kind=kind, confidence=0.8, bbox_px=(0, 0, 9, 9), ground_lat=35.1, ground_lon=129.03)
    ingest([det], engine=engine)
    return list_incidents(engine=engine)


def test_geojson_and_cot(engine):
    incs = _incident(engine)
    gj = incidents_geojson(incs)
    assert gj["features"][0]["properties"]["kind"] == "flood"
    assert shapely.from_geojson(json.dumps(gj["features"][0]["geometry"])).contains(shapely.Point(129.03, 35.1))

    events = parse_events(incidents_cot(incs))
    marker = events[0]
    assert marker.get("uid") == f"disaster-ops.incident.{incs[0].id}" and marker.get("type") == "b-m-p-s-m"
    pt = marker.find("point")
    assert abs(float(pt.get("lat")) - 35.1) < 1e-4 and abs(float(pt.get("lon")) - 129.03) < 1e-4
    # the area goes too, not only the centre: a circle for a single detection's round area
    assert [e.get("type") for e in events[1:]] == ["u-d-c-c"]


def test_export_cli(engine, data_dir, tmp_path):
    _incident(engine, kind="fire")
    env = {"DISASTER_OPS_DATA_DIR": str(data_dir)}
    out = tmp_path / "inc.cot"
    r = run_cli("export", "--format", "cot", "--out", str(out), env_extra=env)
    assert r.returncode == 0, r.stderr
    assert "FIRE #" in out.read_text(encoding="utf-8")
    bad = run_cli("export", "--format", "kml", env_extra=env)
    assert bad.returncode == 2
    unknown = run_cli("export", "--agency", "nobody", env_extra=env)
    assert unknown.returncode == 2 and "nobody" in unknown.stderr
