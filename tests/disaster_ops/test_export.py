"""Incident exports parse as what other systems expect (GeoJSON, CAP 1.2, CoT)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import shapely

from disaster_ops.exports import incidents_cap, incidents_cot, incidents_geojson
from disaster_ops.exports.formats import CAP_NS
from disaster_ops.incidents import GroundDetection
from disaster_ops.services.incidents import ingest, list_incidents
from tests.conftest import run_cli


def _incident(engine, kind="flood"):
    det = GroundDetection(source_kind="drone", source_id="sim-1", observed_at=datetime.now(UTC),
                          kind=kind, confidence=0.8, bbox_px=(0, 0, 9, 9), ground_lat=35.1, ground_lon=129.03)
    ingest([det], engine=engine)
    return list_incidents(engine=engine)


def test_geojson_cap_and_cot(engine):
    incs = _incident(engine)
    gj = incidents_geojson(incs)
    assert gj["features"][0]["properties"]["kind"] == "flood"
    assert shapely.from_geojson(json.dumps(gj["features"][0]["geometry"])).contains(shapely.Point(129.03, 35.1))

    cap = ET.fromstring(incidents_cap(incs))
    alert = cap.find(f"{{{CAP_NS}}}alert")
    info = alert.find(f"{{{CAP_NS}}}info")
    assert alert.find(f"{{{CAP_NS}}}msgType").text == "Alert"
    assert info.find(f"{{{CAP_NS}}}event").text == "Flood"
    ring = info.find(f"{{{CAP_NS}}}area/{{{CAP_NS}}}polygon").text.split()
    assert ring[0] == ring[-1] and len(ring) >= 4  # CAP needs a closed ring of lat,lon pairs
    lat, lon = map(float, ring[0].split(","))
    assert 35.09 < lat < 35.11 and 129.02 < lon < 129.04

    cot = ET.fromstring(incidents_cot(incs))
    ev = cot.find("event")
    assert ev.get("uid") == f"disaster-ops.incident.{incs[0].id}"
    pt = ev.find("point")
    assert abs(float(pt.get("lat")) - 35.1) < 1e-4 and abs(float(pt.get("lon")) - 129.03) < 1e-4


def test_export_cli(engine, data_dir, tmp_path):
    _incident(engine, kind="fire")
    out = tmp_path / "inc.xml"
    r = run_cli("export", "--format", "cap", "--out", str(out), env_extra={"DISASTER_OPS_DATA_DIR": str(data_dir)})
    assert r.returncode == 0, r.stderr
    assert "Fire" in out.read_text(encoding="utf-8")
    bad = run_cli("export", "--format", "kml", env_extra={"DISASTER_OPS_DATA_DIR": str(data_dir)})
    assert bad.returncode == 2
