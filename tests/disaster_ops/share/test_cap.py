"""CAP 1.2: every message validates against the OASIS schema, incidents chain
Alert -> Update -> Cancel with references, Korean and English info blocks, areas."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import shapely
from lxml import etree

from disaster_ops.exports.cap import CAP_NS, area_circle_km
from disaster_ops.incidents import GroundDetection
from disaster_ops.services import cap_ledger
from disaster_ops.services.incidents import ingest, list_incidents, set_status
from disaster_ops.services.roles import Principal, Role
from disaster_ops.share.views import IncidentShare
from tests.conftest import REPO, run_cli

N = {"c": CAP_NS}
MANAGER = Principal("kim", Role.MANAGER)


@pytest.fixture(scope="module")
def cap_schema():
    path = REPO.parent / "shared" / "standards" / "CAP-v1.2-schema.xsd"
    if not path.exists():
        pytest.skip(f"CAP schema not present: {path} (CI always has ../shared/standards)")
    return etree.XMLSchema(etree.parse(str(path)))


def assert_valid_cap(schema, xml: bytes) -> etree._Element:
    doc = etree.fromstring(xml)
    schema.assertValid(doc)
    assert doc.tag == f"{{{CAP_NS}}}alert"  # one alert per message, no wrapper
    try:  # the capvalidator package (WMO) checks the same schema; use it where installed
        import capvalidator
    except ImportError:
        return doc
    res = capvalidator.check_schema(xml)
    assert res.passed, res.message
    return doc


def detect(engine, *, kind="flood", lat=35.1, lon=129.03, at=None, conf=0.8, source="sim-1"):
    det = GroundDetection(source_kind="drone", source_id=source, observed_at=at or datetime.now(UTC),
                          kind=kind, confidence=conf, bbox_px=(0, 0, 9, 9), ground_lat=lat, ground_lon=lon)
    return ingest([det], engine=engine, principal=Principal.system("worker:sim-1"))[0].incident_id


def test_incident_life_is_alert_update_cancel_with_references(engine, cap_schema):
    t0 = datetime(2026, 11, 28, 1, 0, 0, tzinfo=UTC)
    inc_id = detect(engine, at=datetime.now(UTC))
    first = cap_ledger.sync(engine=engine, now=t0)
    assert [m.msg_type for m in first] == ["Alert"]
    assert cap_ledger.sync(engine=engine, now=t0 + timedelta(seconds=5)) == []  # nothing changed: nothing sent

    set_status(inc_id, "confirmed", principal=MANAGER, engine=engine)
    upd = cap_ledger.sync(engine=engine, now=t0 + timedelta(seconds=10))
    set_status(inc_id, "resolved", principal=MANAGER, engine=engine)
    cancel = cap_ledger.sync(engine=engine, now=t0 + timedelta(seconds=20))
    assert [m.msg_type for m in upd + cancel] == ["Update", "Cancel"]
    assert cap_ledger.sync(engine=engine, now=t0 + timedelta(seconds=30)) == []  # cancelled: the chain ends

    chain = cap_ledger.chain_of(inc_id, engine=engine)
    docs = [assert_valid_cap(cap_schema, m.xml) for m in chain]
    idents = [d.findtext("c:identifier", namespaces=N) for d in docs]
    assert idents == [f"disaster-ops.incident.{inc_id}.{k}" for k in (1, 2, 3)]  # stable per incident
    sents = [d.findtext("c:sent", namespaces=N) for d in docs]
    assert sents[0] == "2026-11-28T01:00:00-00:00"  # UTC written -00:00 (CAP 1.2 3.3.2)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-00:00", s) for s in sents)
    sender = docs[0].findtext("c:sender", namespaces=N)
    assert docs[0].find("c:references", namespaces=N) is None
    assert docs[1].findtext("c:references", namespaces=N) == f"{sender},{idents[0]},{sents[0]}"
    assert docs[2].findtext("c:references", namespaces=N).split() == [
        f"{sender},{idents[0]},{sents[0]}", f"{sender},{idents[1]},{sents[1]}"]
    assert docs[2].findtext("c:msgType", namespaces=N) == "Cancel"


def test_info_blocks_in_korean_and_english(engine, cap_schema):
    detect(engine, kind="fire")
    (msg,) = cap_ledger.sync(engine=engine)
    doc = assert_valid_cap(cap_schema, msg.xml)
    infos = doc.findall("c:info", namespaces=N)
    assert [i.findtext("c:language", namespaces=N) for i in infos] == ["ko-KR", "en-US"]
    ko, en = infos
    assert ko.findtext("c:event", namespaces=N) == "화재" and "감지" in ko.findtext("c:headline", namespaces=N)
    assert en.findtext("c:event", namespaces=N) == "Fire" and "detected" in en.findtext("c:headline", namespaces=N)
    assert not re.search(r"[가-힣]", en.findtext("c:description", namespaces=N))  # no Korean under en-US


def test_every_part_of_the_area_is_a_polygon_and_a_point_radius_is_a_circle(engine, cap_schema):
    # Two detections far apart in one flood are fused only if close; build a two-part area directly.
    now = datetime.now(UTC)
    a = shapely.Point(129.03, 35.1).buffer(0.001)
    b = shapely.box(129.05, 35.12, 129.052, 35.123)
    two = IncidentShare(7, "flood", ("flood",), "new", 3, shapely.MultiPolygon([a, b]), now, now, 2, None, None)
    from disaster_ops.exports.cap import cap_alert

    doc = assert_valid_cap(cap_schema, cap_alert(two, msg_type="Alert", ident="x.incident.7.1", sent=now,
                                                  sender="ops@example.kr"))
    for info in doc.findall("c:info", namespaces=N):
        polys = info.findall("c:area/c:polygon", namespaces=N)
        assert len(polys) == 2
        for p in polys:
            ring = p.text.split()
            assert ring[0] == ring[-1] and len(ring) >= 4
        assert info.find("c:area/c:circle", namespaces=N) is None  # not a point with a radius
    # A single detection's round area is a point with a radius: a circle too.
    detect(engine, kind="flood", lat=35.2, lon=129.1)
    (msg,) = cap_ledger.sync(engine=engine)
    doc = assert_valid_cap(cap_schema, msg.xml)
    circle = doc.findtext("c:info/c:area/c:circle", namespaces=N)
    (centre, r_km) = circle.split()
    lat, lon = map(float, centre.split(","))
    assert abs(lat - 35.2) < 1e-4 and abs(lon - 129.1) < 1e-4 and 0 < float(r_km) < 1
    assert area_circle_km(shapely.box(0, 0, 1, 1)) is None


def test_text_is_escaped_and_updates_on_area_change(engine, cap_schema):
    inc_id = detect(engine, kind="flood")
    cap_ledger.sync(engine=engine)
    detect(engine, kind="flood", lat=35.1003, lon=129.0303, source="cam-2")  # joins and grows the area
    (upd,) = cap_ledger.sync(engine=engine)
    assert upd.msg_type == "Update" and upd.incident_id == inc_id
    assert_valid_cap(cap_schema, upd.xml)


def test_export_cli_writes_a_pollable_cap_directory(engine, data_dir, tmp_path, cap_schema):
    detect(engine, kind="fire")
    detect(engine, kind="flood", lat=35.3, lon=129.2)
    out = tmp_path / "cap"
    env = {"DISASTER_OPS_DATA_DIR": str(data_dir)}
    r = run_cli("export", "--format", "cap", "--out", str(out), env_extra=env)
    assert r.returncode == 0, r.stderr
    files = sorted(out.glob("*.xml"))
    assert len(files) == 2
    for f in files:
        assert_valid_cap(cap_schema, f.read_bytes())
    feed = etree.parse(str(out / "index.atom")).getroot()
    A = {"a": "http://www.w3.org/2005/Atom"}
    hrefs = sorted(e.get("href") for e in feed.findall("a:entry/a:link", namespaces=A))
    assert hrefs == sorted(f.name for f in files)
    # stdout: one Atom document embedding each alert, each valid on its own
    r = run_cli("export", "--format", "cap", env_extra=env)
    assert r.returncode == 0, r.stderr
    feed = etree.fromstring(r.stdout.encode())
    alerts = feed.findall("a:entry/a:content/c:alert", namespaces={**A, **N})
    assert len(alerts) == 2
    for a in alerts:
        cap_schema.assertValid(etree.fromstring(etree.tostring(a)))
    assert len(list_incidents(engine=engine)) == 2
