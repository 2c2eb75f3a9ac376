"""CoT to TAK: our events go over TCP and over TLS with client certificates, opened with
PyTAK, and a second TAK client (PyTAK) reads them back from the server."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from configparser import ConfigParser
from datetime import UTC, datetime, timedelta

import pytest
import shapely

from disaster_ops.exports.cot import parse_events
from disaster_ops.incidents import GroundDetection
from disaster_ops.services.agencies import create_agency
from disaster_ops.services.incidents import ingest, set_status
from disaster_ops.services.roles import Principal, Role
from disaster_ops.share.config import ShareConfig, TakSinkConfig
from disaster_ops.share.mqtt_sink import SinkError
from disaster_ops.share.publisher import Publisher
from disaster_ops.share.tak_sink import TakSink
from tests.disaster_ops.share.peers import free_port
from tests.disaster_ops.share.tak_relay import CotRelay

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pytak

ADMIN = Principal("admin", Role.ADMIN)
MANAGER = Principal("kim", Role.MANAGER)


@pytest.fixture
def relay(pki):
    r = CotRelay(tcp_port=free_port(), tls_port=free_port(), ca=pki.ca, cert=pki.server_cert,
                 key=pki.server_key).start()
    yield r
    r.stop()


class TakReader:
    """A second TAK client: PyTAK's connection, reading what the server relays."""

    def __init__(self, url: str, *, cert=None, key=None, ca=None):
        cp = ConfigParser(interpolation=None)
        cp["r"] = {"COT_URL": url}
        if cert:
            cp["r"].update({"PYTAK_TLS_CLIENT_CERT": str(cert), "PYTAK_TLS_CLIENT_KEY": str(key),
                            "PYTAK_TLS_CLIENT_CAFILE": str(ca)})
        self.buf = b""
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

        async def open_and_read():
            reader, self.writer = await pytak.protocol_factory(cp["r"])
            connected.set()
            while chunk := await reader.read(65536):
                self.buf += chunk

        connected = threading.Event()
        asyncio.run_coroutine_threadsafe(open_and_read(), self.loop)
        assert connected.wait(10), "reader could not connect"

    def events(self, n: int, timeout_s: float = 10.0):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            evs = parse_events(self.buf)
            if len(evs) >= n:
                return evs
            time.sleep(0.05)
        return parse_events(self.buf)

    def close(self):
        async def _close():
            self.writer.close()
            for t in asyncio.all_tasks():
                if t is not asyncio.current_task():
                    t.cancel()

        asyncio.run_coroutine_threadsafe(_close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)


def detect(engine, *, lat=35.1, lon=129.03, kind="fire"):
    det = GroundDetection(source_kind="cctv", source_id=f"cam-{lat}", observed_at=datetime.now(UTC),
                          kind=kind, confidence=0.9, bbox_px=(0, 0, 9, 9), ground_lat=lat, ground_lon=lon)
    return ingest([det], engine=engine)[0].incident_id


def test_cot_over_tls_with_client_certificates_read_back_by_a_second_client(engine, relay, pki):
    url = f"tls://127.0.0.1:{relay.tls_port}"
    reader = TakReader(url, cert=pki.client_cert, key=pki.client_key, ca=pki.ca)
    sink = TakSink(TakSinkConfig(name="tak", url=url, cert_file=pki.client_cert, key_file=pki.client_key,
                                 ca_file=pki.ca, stale_s=300, resend_s=60))
    sink.connect()
    pub = Publisher(ShareConfig(), engine=engine, tak_sinks=[sink])
    try:
        inc = detect(engine)
        t_sent = datetime.now(UTC)
        pub.tick()
        marker, area = reader.events(2)
        set_status(inc, "confirmed", principal=MANAGER, engine=engine)
        set_status(inc, "resolved", principal=MANAGER, engine=engine)
        pub.tick()
        evs = reader.events(4)
    finally:
        sink.close()
        reader.close()
    assert marker.get("uid") == f"disaster-ops.incident.{inc}" and marker.get("type") == "b-m-p-s-m"
    assert area.get("type") == "u-d-c-c" and area.find("detail/shape/ellipse") is not None
    stale = datetime.fromisoformat(marker.get("stale"))
    assert stale - t_sent > timedelta(seconds=250)  # an active incident stays alive
    ended = evs[2]
    assert ended.get("uid") == marker.get("uid") and "resolved" in ended.find("detail/contact").get("callsign")
    assert ended.get("stale") == ended.get("time")  # ended: expires on every client at once


def test_tls_server_refuses_a_client_certificate_from_another_ca(engine, relay, pki):
    url = f"tls://127.0.0.1:{relay.tls_port}"
    reader = TakReader(url, cert=pki.client_cert, key=pki.client_key, ca=pki.ca)
    rogue = TakSink(TakSinkConfig(name="rogue", url=url, cert_file=pki.rogue_cert, key_file=pki.rogue_key,
                                  ca_file=pki.ca))
    try:
        try:  # TLS 1.3 may finish the client side of the handshake before the server refuses
            rogue.connect()
            rogue.send([(b'<event version="2.0" uid="rogue" type="a-h-G" how="h-e" time="t" start="t" '
                        b'stale="t"><point lat="0" lon="0" hae="0" ce="0" le="0"/></event>')])
        except SinkError:
            pass
        time.sleep(0.5)
        assert reader.events(1, timeout_s=1.0) == []
        assert relay.relayed == 0  # the handshake failed: nothing from the rogue client got in
    finally:
        rogue.close()
        reader.close()


def test_plain_tcp_drone_track_and_agency_scope(engine, relay):
    create_agency("north", principal=ADMIN, engine=engine,
                  region_geojson=shapely.to_geojson(shapely.box(129.0, 35.18, 129.06, 35.25)))
    from disaster_ops.storage.db import session_scope
    from disaster_ops.storage.models import Drone, DroneState

    with session_scope(engine) as s:
        d = Drone(name="sim-1", connection="udpin:127.0.0.1:14550")
        s.add(d)
        s.flush()
        s.add(DroneState(drone_id=d.id, lat=35.2, lon=129.03, alt_amsl_m=120.0, heading_deg=90.0,
                         ground_speed_m_s=8.0, mode="AUTO", armed=True, link_ok=True))
    url = f"tcp://127.0.0.1:{relay.tcp_port}"
    reader = TakReader(url)
    sink = TakSink(TakSinkConfig(name="north-tak", url=url, agency="north"))
    sink.connect()
    try:
        detect(engine, lat=35.10, lon=129.03)  # south: not for the north's TAK server
        north_inc = detect(engine, lat=35.21, lon=129.03, kind="flood")
        Publisher(ShareConfig(), engine=engine, tak_sinks=[sink]).tick()
        evs = reader.events(3)
        time.sleep(0.3)
        evs = reader.events(99, timeout_s=0.2)
    finally:
        sink.close()
        reader.close()
    uids = sorted(e.get("uid") for e in evs)
    assert uids == sorted([f"disaster-ops.incident.{north_inc}", f"disaster-ops.incident.{north_inc}.area.0",
                           "disaster-ops.drone.sim-1"])
    drone = next(e for e in evs if e.get("type") == "a-f-A-M-H-Q")
    assert drone.find("detail/track").get("course") == "90.0"
