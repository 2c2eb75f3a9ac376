"""MQTT events reach a real broker (Debian's mosquitto, TLS + password) in order with QoS 1,
retained last state, each agency filtered by its rule, pushes audited."""

from __future__ import annotations

import json
import queue
import ssl
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
import shapely
from sqlmodel import Session, select

from disaster_ops.incidents import GroundDetection
from disaster_ops.services.agencies import create_agency
from disaster_ops.services.incidents import ingest, set_status
from disaster_ops.services.roles import Principal, Role
from disaster_ops.share.config import MqttSinkConfig, ShareConfig
from disaster_ops.share.mqtt_sink import MqttSink, SinkError
from disaster_ops.share.publisher import Publisher
from disaster_ops.storage.models import AuditEvent

ADMIN = Principal("admin", Role.ADMIN)
MANAGER = Principal("kim", Role.MANAGER)
SOUTH = shapely.box(129.00, 35.05, 129.06, 35.13)  # a district around 35.10 N
NORTH = shapely.box(129.00, 35.18, 129.06, 35.25)  # the next district up


def detect(engine, *, lat, lon, kind="flood"):
    det = GroundDetection(source_kind="cctv", source_id=f"cam-{lat}", observed_at=datetime.now(UTC),
                          kind=kind, confidence=0.8, bbox_px=(0, 0, 9, 9), ground_lat=lat, ground_lon=lon)
    return ingest([det], engine=engine)[0].incident_id


class Subscriber:
    def __init__(self, broker, topic="disaster-ops/#", client_id="agency-reader"):
        self.q: queue.Queue = queue.Queue()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        c.username_pw_set(broker.username, broker.password)
        c.tls_set(ca_certs=str(broker.ca), cert_reqs=ssl.CERT_REQUIRED)
        subscribed = queue.Queue()
        c.on_connect = lambda cl, *_: cl.subscribe(topic, qos=1)
        c.on_subscribe = lambda *_: subscribed.put(True)
        c.on_message = lambda _c, _u, m: self.q.put((m.topic, m.payload, m.qos, m.retain))
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        subscribed.get(timeout=10)
        self.client = c

    def drain(self, settle_s: float = 0.5) -> list:
        out = []
        while True:
            try:
                out.append(self.q.get(timeout=settle_s))
            except queue.Empty:
                return out

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def _sink(broker, **kw) -> MqttSink:
    cfg = MqttSinkConfig(name="broker", host="127.0.0.1", port=broker.port, username=broker.username,
                         password_env="TEST_MQTT_PW", tls=True, ca_file=broker.ca, **kw)
    s = MqttSink(cfg)
    s.connect()
    return s


def test_new_update_end_in_order_qos1_retained_and_scoped(engine, broker, monkeypatch):
    monkeypatch.setenv("TEST_MQTT_PW", broker.password)
    create_agency("south-fire", principal=ADMIN, region_geojson=shapely.to_geojson(SOUTH), engine=engine)
    create_agency("north-police", principal=ADMIN, region_geojson=shapely.to_geojson(NORTH), engine=engine)
    sub = Subscriber(broker)
    sink = _sink(broker)
    pub = Publisher(ShareConfig(audit_window_s=0), engine=engine, mqtt_sinks=[sink])
    try:
        inc = detect(engine, lat=35.10, lon=129.03)
        pub.tick()
        set_status(inc, "confirmed", principal=MANAGER, engine=engine)
        pub.tick()
        pub.tick()  # nothing changed: nothing sent
        set_status(inc, "resolved", principal=MANAGER, engine=engine)
        pub.tick()
        got = sub.drain()
    finally:
        sink.close()
        sub.close()
    events = [(json.loads(p), qos, retain) for t, p, qos, retain in got if t == "disaster-ops/south-fire/events"]
    assert [e["type"] for e, _, _ in events] == ["new", "update", "end"]
    assert all(qos == 1 and not retain for _, qos, retain in events)
    new, upd, end = (e for e, _, _ in events)
    assert new["before"] is None and new["after"]["status"] == "new" and new["after"]["id"] == inc
    assert upd["before"]["status"] == "new" and upd["after"]["status"] == "confirmed"
    assert end["before"]["status"] == "confirmed" and end["after"]["status"] == "resolved"
    assert end["after"]["open"] is False
    # the other district receives nothing at all
    assert not [t for t, *_ in got if t.startswith("disaster-ops/north-police/")]
    # retained last state: a subscriber arriving later gets it at once
    late = Subscriber(broker, topic=f"disaster-ops/south-fire/incidents/{inc}/state", client_id="late")
    try:
        (_topic, payload, _qos, retain), = late.drain()
    finally:
        late.close()
    assert retain and json.loads(payload)["status"] == "resolved"
    # audited: one aggregated row per sink and agency per window (window 0 here: per tick)
    with Session(engine) as s:
        rows = list(s.exec(select(AuditEvent).where(AuditEvent.action == "share.push")))
    assert {r.object_id for r in rows} == {"south-fire"}
    assert sum(json.loads(r.details_json)["messages"] for r in rows) == 6  # 3 events + 3 retained states


def test_snapshots_only_for_agencies_that_include_media(engine, broker, monkeypatch, data_dir):
    """The snapshot payload is the blurred copy (agencies are outside the centre), never the raw file."""
    import cv2
    import numpy as np

    from disaster_ops.services.evidence import snapshot_bytes

    monkeypatch.setenv("TEST_MQTT_PW", broker.password)
    snap = data_dir / "snapshots" / "cam1_abc_20261129T000000_1.jpg"
    snap.parent.mkdir(parents=True, exist_ok=True)
    img = np.zeros((120, 160, 3), np.uint8)
    cv2.circle(img, (80, 40), 20, (200, 180, 160), -1)
    assert cv2.imwrite(str(snap), img)
    create_agency("with-media", principal=ADMIN, include_media=True, engine=engine)
    create_agency("no-media", principal=ADMIN, engine=engine)
    det = GroundDetection(source_kind="cctv", source_id="cam-1", observed_at=datetime.now(UTC), kind="fire",
                          confidence=0.9, bbox_px=(0, 0, 9, 9), ground_lat=35.1, ground_lon=129.03,
                          snapshot_path=str(snap))
    inc = ingest([det], engine=engine)[0].incident_id
    from disaster_ops.storage.db import session_scope
    from disaster_ops.storage.models import Camera, CameraStatus, Drone, DroneState

    with session_scope(engine) as s:
        s.add(Camera(source_key="C-1", name="bridge", lat=35.1, lon=129.03, status=CameraStatus.OFFLINE))
        d = Drone(name="sim-1", connection="udpin:127.0.0.1:14550")
        s.add(d)
        s.flush()
        s.add(DroneState(drone_id=d.id, lat=35.1, lon=129.03, alt_rel_m=80.0, battery_pct=71.0, mode="AUTO",
                         armed=True, link_ok=True))
    sub = Subscriber(broker)
    sink = _sink(broker)
    try:
        Publisher(ShareConfig(), engine=engine, mqtt_sinks=[sink]).tick()
        msgs = sub.drain()
        got = {t: p for t, p, *_ in msgs}
    finally:
        sink.close()
        sub.close()
    qos_retain = {t: (q, r) for t, _p, q, r in msgs}
    cam = json.loads(got["disaster-ops/no-media/cameras/C-1/health"])
    assert cam["status"] == "offline" and qos_retain["disaster-ops/no-media/cameras/C-1/health"] == (1, False)
    drone = json.loads(got["disaster-ops/with-media/drones/sim-1/state"])
    assert drone["battery_pct"] == 71.0 and drone["mode"] == "AUTO" and drone["armed"] is True
    payload = got[f"disaster-ops/with-media/incidents/{inc}/snapshot"]
    assert payload != snap.read_bytes() and payload == snapshot_bytes(str(snap), principal=None)
    assert cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR).shape == img.shape
    assert f"disaster-ops/no-media/incidents/{inc}/snapshot" not in got
    assert f"disaster-ops/no-media/incidents/{inc}/state" in got


def test_broker_refuses_wrong_password_and_plain_tcp(engine, broker, monkeypatch):
    monkeypatch.setenv("TEST_MQTT_PW", "wrong")
    with pytest.raises(SinkError, match="mqtt broker"):
        _sink(broker)
    monkeypatch.setenv("TEST_MQTT_PW", broker.password)
    cfg = MqttSinkConfig(name="plain", host="127.0.0.1", port=broker.port, username=broker.username,
                         password_env="TEST_MQTT_PW", tls=False)
    s = MqttSink(cfg)
    t0 = time.monotonic()
    with pytest.raises(SinkError):
        s.connect(timeout_s=3)
    assert time.monotonic() - t0 < 10
