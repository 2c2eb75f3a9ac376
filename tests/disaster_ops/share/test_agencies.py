"""Agencies: records with sharing rules, CLI, hashed feed tokens, responders see only
their agency's markers, the GeoJSON feed needs a token and filters by the rule."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
import shapely
from sqlmodel import Session, select

from disaster_ops.errors import InputError, PermissionDenied
from disaster_ops.incidents import GroundDetection
from disaster_ops.services.agencies import agency_for_token, create_agency, issue_token
from disaster_ops.services.cop import incident_markers
from disaster_ops.services.incidents import ingest
from disaster_ops.services.roles import Principal, Role
from disaster_ops.share.gis_server import GisFeed, serve
from disaster_ops.storage.models import Agency, AuditEvent
from tests.conftest import run_cli
from tests.disaster_ops.share.peers import free_port

ADMIN = Principal("admin", Role.ADMIN)
SOUTH = shapely.box(129.00, 35.05, 129.06, 35.13)
NORTH = shapely.box(129.00, 35.18, 129.06, 35.25)


def detect(engine, *, lat, lon, kind="flood", conf=0.8):
    det = GroundDetection(source_kind="cctv", source_id=f"cam-{lat}-{kind}", observed_at=datetime.now(UTC),
                          kind=kind, confidence=conf, bbox_px=(0, 0, 9, 9), ground_lat=lat, ground_lon=lon)
    return ingest([det], engine=engine)[0].incident_id


def test_cli_add_list_show_and_bad_input(data_dir, tmp_path, engine):
    env = {"DISASTER_OPS_DATA_DIR": str(data_dir)}
    region = tmp_path / "south.geojson"
    region.write_text(json.dumps({"type": "Feature", "properties": {},
                                  "geometry": json.loads(shapely.to_geojson(SOUTH))}))
    r = run_cli("agencies", "add", "--local-admin", "south-fire", "--region", str(region), "--kinds", "fire,smoke",
                "--min-severity", "2", "--media", env_extra=env)
    assert r.returncode == 0, r.stderr
    r = run_cli("agencies", "list", "--json", env_extra=env)
    (a,) = json.loads(r.stdout)
    assert a["name"] == "south-fire" and a["kinds"] == ["fire", "smoke"] and a["min_severity"] == 2
    assert a["include_media"] is True and a["region"]["type"] == "Polygon" and a["has_token"] is False
    r = run_cli("agencies", "show", "south-fire", env_extra=env)
    assert json.loads(r.stdout)["name"] == "south-fire"
    # bad input: one line, exit 2, nothing stored changes
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "Point", "coordinates": [129, 35]}')
    for args, word in ((("agencies", "add", "--local-admin", "x", "--region", str(bad)), "Polygon"),
                       (("agencies", "add", "--local-admin", "south-fire"), "exists"),
                       (("agencies", "add", "--local-admin", "a/b"), "agency name"),
                       (("agencies", "add", "--local-admin", "y", "--min-severity", "9"), "min_severity"),
                       (("agencies", "add", "--local-admin", "z", "--region", str(tmp_path / "missing.json")), "cannot read"),
                       (("agencies", "show", "nobody"), "no such agency")):
        r = run_cli(*args, env_extra=env)
        assert r.returncode == 2 and word in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
    with Session(engine) as s:
        assert [a.name for a in s.exec(select(Agency))] == ["south-fire"]
    with pytest.raises(PermissionDenied):
        create_agency("w", principal=Principal("r", Role.RESPONDER), engine=engine)
    with pytest.raises(InputError, match="kinds"):
        create_agency("w", principal=ADMIN, kinds=["Fire!"], engine=engine)


def test_token_is_stored_hashed(engine):
    create_agency("police", principal=ADMIN, engine=engine)
    token = issue_token("police", principal=ADMIN, engine=engine)
    with Session(engine) as s:
        row = s.exec(select(Agency)).one()
        audit_text = " ".join(e.details_json or "" for e in s.exec(select(AuditEvent)))
    assert token not in (row.token_hash or "") and len(row.token_hash) == 64 and token not in audit_text
    assert agency_for_token(token, engine=engine).name == "police"
    assert agency_for_token(token + "x", engine=engine) is None and agency_for_token("", engine=engine) is None


def test_responder_of_one_agency_never_sees_another_agencys_markers(engine):
    create_agency("south-fire", principal=ADMIN, region_geojson=shapely.to_geojson(SOUTH), kinds=["fire"],
                  engine=engine)
    create_agency("north-police", principal=ADMIN, region_geojson=shapely.to_geojson(NORTH), engine=engine)
    south_fire = detect(engine, lat=35.10, lon=129.03, kind="fire")
    detect(engine, lat=35.101, lon=129.031, kind="flood")  # south, but not a kind south-fire takes
    north_flood = detect(engine, lat=35.21, lon=129.03)
    south = Principal("lee", Role.RESPONDER, agency="south-fire")
    north = Principal("park", Role.RESPONDER, agency="north-police")
    assert [m.id for m in incident_markers(engine=engine, principal=south)] == [south_fire]
    assert [m.id for m in incident_markers(engine=engine, principal=north)] == [north_flood]
    ghost = Principal("x", Role.RESPONDER, agency="no-such-agency")
    assert incident_markers(engine=engine, principal=ghost) == []  # fail closed
    assert len(incident_markers(engine=engine, principal=Principal("ops", Role.MANAGER))) == 3  # the centre


def _get(url: str, token: str | None = None):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def test_gis_feed_needs_a_token_and_filters_by_agency(engine):
    create_agency("south-fire", principal=ADMIN, region_geojson=shapely.to_geojson(SOUTH), engine=engine)
    create_agency("north-police", principal=ADMIN, region_geojson=shapely.to_geojson(NORTH), engine=engine)
    t_south = issue_token("south-fire", principal=ADMIN, engine=engine)
    t_north = issue_token("north-police", principal=ADMIN, engine=engine)
    south_inc = detect(engine, lat=35.10, lon=129.03)
    north_inc = detect(engine, lat=35.21, lon=129.03)
    from disaster_ops.storage.db import session_scope
    from disaster_ops.storage.models import Camera

    with session_scope(engine) as s:
        s.add(Camera(source_key="S1", name="south cam", lat=35.1001, lon=129.0301, stream_url="rtsp://x/1"))
        s.add(Camera(source_key="N1", name="north cam", lat=35.2101, lon=129.0301))
    feed = GisFeed(engine, audit_window_s=0)
    port = free_port()
    srv = serve(feed, "127.0.0.1", port)
    import threading

    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        for token in (None, "wrong"):
            with pytest.raises(urllib.error.HTTPError) as exc:
                _get(f"{base}/incidents.geojson", token)
            assert exc.value.code == 401
        status, ctype, body = _get(f"{base}/incidents.geojson", t_south)
        assert status == 200 and ctype == "application/geo+json"
        assert [f["id"] for f in json.loads(body)["features"]] == [south_inc]
        _, _, body = _get(f"{base}/incidents.geojson?token={t_north}")
        assert [f["id"] for f in json.loads(body)["features"]] == [north_inc]
        _, _, body = _get(f"{base}/cameras.geojson", t_south)
        cams = json.loads(body)["features"]
        assert [c["id"] for c in cams] == ["S1"] and "stream_url" not in cams[0]["properties"]  # no media
        _, _, body = _get(f"{base}/gaps.geojson", t_north)
        gaps = json.loads(body)["features"]
        assert gaps and {g["properties"]["incident_id"] for g in gaps} == {north_inc}
    finally:
        srv.shutdown()
        feed.close()
    with Session(engine) as s:
        rows = list(s.exec(select(AuditEvent).where(AuditEvent.action == "share.push")))
    assert {r.object_id for r in rows} == {"south-fire", "north-police"}
