"""Snapshots that leave the centre are blurred: every served or linked path (GIS feed
over HTTP, GeoJSON/CoT/CAP exports, the dashboard's thumbnails and incident page bytes)
gives the blurred copy unless the principal's role allows raw evidence, and no path,
traversal or stored path can make any of them serve the raw file or a file outside the
data folder. Snapshots are real PETS 2009 frames (read from ../shared, written only to
the test's temporary data folder)."""

from __future__ import annotations

import http.client
import json
import threading
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
import shapely
from lxml import etree

from disaster_ops.incidents import GroundDetection
from disaster_ops.services import cap_ledger, evidence, share_export
from disaster_ops.services.agencies import create_agency, issue_token
from disaster_ops.services.cop import incident_details
from disaster_ops.services.incidents import ingest
from disaster_ops.services.roles import Action, Principal, Role
from disaster_ops.share.gis_server import GisFeed, serve
from tests.conftest import shared_path
from tests.disaster_ops.share.test_cap import assert_valid_cap, cap_schema  # noqa: F401 (fixture)

ADMIN = Principal("admin", Role.ADMIN)
MANAGER = Principal("kim", Role.MANAGER)
PILOT = Principal("lee", Role.PILOT)
RESPONDER = Principal("park", Role.RESPONDER, agency="junggu-fire")
PORTS = range(18500, 18600)  # this suite's range


def _free_port() -> int:
    import socket

    for p in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
            return p
    raise RuntimeError("no free port in 18500-18599")


def pets_frame(index: int = 200) -> np.ndarray:
    cap = cv2.VideoCapture(str(shared_path("people", "pets2009_s2l1", "s2l1_view001.mp4")))
    try:
        for _ in range(index):
            cap.grab()
        ok, f = cap.read()
    finally:
        cap.release()
    assert ok
    return f


@pytest.fixture
def seeded(engine, data_dir):
    """A crowding incident whose snapshot is a PETS frame inside the data folder."""
    snaps = data_dir / "snapshots"
    snaps.mkdir(parents=True, exist_ok=True)
    raw_path = snaps / "cam1_abc_20261129T000000_1.jpg"
    assert cv2.imwrite(str(raw_path), pets_frame())
    det = GroundDetection(source_kind="cctv", source_id="cam-1", observed_at=datetime.now(UTC), kind="crowding",
                          confidence=0.9, bbox_px=(0, 0, 9, 9), ground_lat=35.1, ground_lon=129.03,
                          snapshot_path=str(raw_path))
    inc = ingest([det], engine=engine)[0].incident_id
    return inc, raw_path


def _head_change(raw: bytes, served: bytes) -> float:
    a = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR).astype(np.int16)
    b = cv2.imdecode(np.frombuffer(served, np.uint8), cv2.IMREAD_COLOR).astype(np.int16)
    assert a.shape == b.shape
    return float(np.abs(a - b).max(axis=2).mean())


def test_roles_decide_raw_or_blurred(seeded, engine):
    inc, raw_path = seeded
    raw = raw_path.read_bytes()
    assert MANAGER.may(Action.VIEW_RAW_EVIDENCE) and ADMIN.may(Action.VIEW_RAW_EVIDENCE)
    assert not any(p.may(Action.VIEW_RAW_EVIDENCE) for p in (PILOT, RESPONDER, Principal.system("watcher")))
    assert evidence.incident_snapshot(inc, principal=MANAGER, engine=engine) == raw
    blurred = evidence.incident_snapshot(inc, principal=RESPONDER, engine=engine)
    assert blurred is not None and blurred != raw and _head_change(raw, blurred) > 0.1
    for who in (PILOT, None, Principal.system("share")):
        assert evidence.incident_snapshot(inc, principal=who, engine=engine) == blurred
    # a role string is no principal
    assert evidence.snapshot_bytes(raw_path, principal="manager") == blurred  # type: ignore[arg-type]
    # dashboard thumbnails: raw for the manager, blurred for the responder
    t_m = incident_details([inc], principal=MANAGER, engine=engine)[inc].snapshot_jpeg
    t_r = incident_details([inc], principal=RESPONDER, engine=engine)[inc].snapshot_jpeg
    assert t_m and t_r and t_m != t_r
    assert incident_details([inc], engine=engine)[inc].snapshot_jpeg == t_r  # no principal: blurred


def test_stored_paths_outside_the_data_folder_are_never_read(seeded, engine, data_dir, tmp_path):
    inc, raw_path = seeded
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(raw_path.read_bytes())
    link = data_dir / "snapshots" / "link.jpg"
    link.symlink_to(outside)
    blurred_copy = evidence.blurred_copy_path(raw_path.resolve())
    evidence.incident_snapshot(inc, principal=None, engine=engine)  # makes the cached copy
    assert blurred_copy.is_file()
    not_jpeg = data_dir / "snapshots" / "notes.txt"
    not_jpeg.write_text("secret")
    for p in (str(outside), str(link), "/etc/passwd", str(data_dir / "snapshots" / ".." / ".." / "outside.jpg"),
              str(not_jpeg), str(blurred_copy), str(data_dir / "disaster_ops.db"), "", None):
        for who in (MANAGER, ADMIN, RESPONDER, None):
            assert evidence.snapshot_bytes(p, principal=who) is None, (p, who)


def _http(port: int, path: str, token: str | None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read()
    finally:
        c.close()


def test_gis_feed_serves_only_the_blurred_copy(seeded, engine, data_dir):
    inc, raw_path = seeded
    raw = raw_path.read_bytes()
    create_agency("media-fire", principal=ADMIN, include_media=True, engine=engine)
    create_agency("plain-police", principal=ADMIN, engine=engine)
    create_agency("far-away", principal=ADMIN, include_media=True, engine=engine,
                  region_geojson=shapely.to_geojson(shapely.box(127.0, 37.0, 127.1, 37.1)))
    t_media, t_plain, t_far = (issue_token(n, principal=ADMIN, engine=engine)
                               for n in ("media-fire", "plain-police", "far-away"))
    feed = GisFeed(engine, audit_window_s=0)
    port = _free_port()
    srv = serve(feed, "127.0.0.1", port)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        status, ctype, body = _http(port, f"/snapshots/{inc}.jpg", t_media)
        assert status == 200 and ctype == "image/jpeg"
        assert body != raw and body == evidence.incident_snapshot(inc, principal=None, engine=engine)
        # the GeoJSON feed links to it (relative to the feed) and never names the stored path
        _, _, gj = _http(port, "/incidents.geojson", t_media)
        props = json.loads(gj)["features"][0]["properties"]
        assert props["snapshot_href"] == f"snapshots/{inc}.jpg" and str(raw_path) not in gj.decode()
        _, _, gj = _http(port, "/incidents.geojson", t_plain)
        assert "snapshot_href" not in json.loads(gj)["features"][0]["properties"]
        assert _http(port, f"/snapshots/{inc}.jpg", t_plain)[0] == 404  # no media in its rule
        assert _http(port, f"/snapshots/{inc}.jpg", t_far)[0] == 404  # incident outside its region
        assert _http(port, f"/snapshots/{inc}.jpg", None)[0] == 401
        assert _http(port, f"/snapshots/{inc}.jpg", "wrong")[0] == 401
        hostile = [f"/snapshots/../snapshots/{inc}.jpg", f"/snapshots/{inc}.jpg/../../disaster_ops.db",
                   "/snapshots/%2e%2e%2fdisaster_ops.db", f"/snapshots/{raw_path.name}",
                   f"/snapshots/{raw_path}", f"//{raw_path}", f"/snapshots/{inc}.jpeg", "/snapshots/-1.jpg",
                   f"/snapshots/{inc}.jpg%00.png", f"/snapshots/{inc}.JPG", "/snapshots/99999.jpg",
                   f"/{raw_path.relative_to(data_dir)}", "/../var/snapshots/x.jpg", f"/snapshots/{inc}.jpg?raw=1"]
        for path in hostile:
            status, _ctype, body = _http(port, path, t_media)
            assert body != raw and raw[:200] not in body, path
            if path.endswith("?raw=1"):
                assert status == 200 and body != raw  # the query string changes nothing
            else:
                assert status == 404, path
    finally:
        srv.shutdown()
        feed.close()


def test_exports_link_the_feed_never_the_file(seeded, engine, cap_schema):  # noqa: F811
    inc, raw_path = seeded
    create_agency("media-fire", principal=ADMIN, include_media=True, engine=engine)
    create_agency("plain-police", principal=ADMIN, engine=engine)
    url = "https://gis.example.go.kr/feed"
    # CAP: <resource> with the feed URL, valid against the OASIS schema
    issued = cap_ledger.sync(engine=engine, settings=cap_ledger.CapSettings(public_url=url))
    assert len(issued) == 1
    doc = assert_valid_cap(cap_schema, issued[0].xml)
    ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
    uris = doc.xpath("//c:resource/c:uri/text()", namespaces=ns)
    assert uris == [f"{url}/snapshots/{inc}.jpg"] * 2  # one per language block
    assert doc.xpath("//c:resource/c:mimeType/text()", namespaces=ns)[0] == "image/jpeg"
    assert str(raw_path) not in issued[0].xml.decode()
    # CoT: a link on the marker for receivers with media, none without
    cot = share_export.export_cot(principal=MANAGER, agency="media-fire", public_url=url, engine=engine).data
    links = [e for line in cot.split(b"\n") if line for e in etree.fromstring(line).iter("link") if e.get("url")]
    assert [e.get("url") for e in links] == [f"{url}/snapshots/{inc}.jpg"]
    cot = share_export.export_cot(principal=MANAGER, agency="plain-police", public_url=url, engine=engine).data
    assert b"/snapshots/" not in cot
    # GeoJSON export: the feed-relative link, never the stored path
    gj = share_export.export_geojson(principal=MANAGER, agency="media-fire", engine=engine).data.decode()
    assert f"snapshots/{inc}.jpg" in gj and str(raw_path) not in gj and raw_path.name not in gj
