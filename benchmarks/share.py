"""Sharing throughput and latency with 500 open incidents (issue #13).

Starts the same real peers as the tests: Debian's mosquitto with TLS and a password, and
the CoT relay on TCP (standing in for a TAK server, see docs/sharing.md). Then:

1. broker: the publisher's first tick pushes every incident (event + retained state,
   QoS 1, waiting for every PUBACK) -> messages/s; then every incident changes once ->
   messages/s. Baseline, same run: raw paho QoS 1 publishes of the same payloads (what the
   broker link allows without our diff, JSON and delivery book).
2. TAK: the first tick to the relay (marker + area per incident) -> events/s; baseline:
   building the same events with lxml and writing them on a plain socket (no DB, no diff).
3. delay: the publisher runs its loop (poll every 0.25 s); one incident at a time changes
   status; time from the committed change to the ``events`` message at a subscriber
   (median, p95).

Usage: python benchmarks/share.py [--quick] [--incidents 500]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--incidents", type=int, default=500)
    ap.add_argument("--changes", type=int, default=60, help="Changes timed for the delay figure.")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.incidents, args.changes = 100, 15

    tmp = Path(tempfile.mkdtemp(prefix="share-bench-"))
    os.environ["DISASTER_OPS_DATA_DIR"] = str(tmp / "var")
    import paho.mqtt.client as mqtt

    from disaster_ops.config import get_settings
    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.agencies import create_agency
    from disaster_ops.services.incidents import ingest, set_status
    from disaster_ops.services.roles import Principal, Role
    from disaster_ops.share.config import MqttSinkConfig, ShareConfig, TakSinkConfig
    from disaster_ops.share.mqtt_sink import MqttSink
    from disaster_ops.share.publisher import Publisher
    from disaster_ops.share.tak_sink import TakSink
    from disaster_ops.storage.db import make_engine
    from disaster_ops.storage.migrate import upgrade
    from tests.disaster_ops.share.peers import (
        free_port,
        make_pki,
        mosquitto_paths,
        start_mosquitto,
        stop,
    )
    from tests.disaster_ops.share.tak_relay import CotRelay

    if mosquitto_paths() is None:
        sys.exit("mosquitto is not installed (apt-get install mosquitto)")
    get_settings.cache_clear()
    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    pki = make_pki(tmp)
    broker = start_mosquitto(tmp / "mosquitto", pki)
    relay = CotRelay(tcp_port=free_port(), tls_port=free_port(), ca=pki.ca, cert=pki.server_cert,
                     key=pki.server_key).start()
    os.environ["BENCH_MQTT_PW"] = broker.password
    admin = Principal("bench", Role.ADMIN)
    manager = Principal("bench-mgr", Role.MANAGER)
    create_agency("province", principal=admin, engine=engine)
    try:
        # 500 open incidents spread over ~20 km (each its own incident)
        t0 = time.perf_counter()
        now = datetime.now(UTC)
        dets = [GroundDetection(source_kind="cctv", source_id=f"cam-{k}", observed_at=now,
                                kind=("fire", "smoke", "flood")[k % 3], confidence=0.8, bbox_px=(0, 0, 9, 9),
                                ground_lat=37.2 + (k // 25) * 0.01, ground_lon=127.0 + (k % 25) * 0.01)
                for k in range(args.incidents)]
        ids = [r.incident_id for r in ingest(dets, engine=engine, principal=Principal.system("bench"))]
        print(f"seeded {len(set(ids))} incidents in {time.perf_counter() - t0:.1f} s")

        mcfg = MqttSinkConfig(name="broker", host="127.0.0.1", port=broker.port, username=broker.username,
                              password_env="BENCH_MQTT_PW", tls=True, ca_file=pki.ca, agencies=["province"])
        # baseline: raw paho QoS 1 publishes of incident-sized payloads
        raw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-raw")
        raw.username_pw_set(broker.username, broker.password)
        raw.tls_set(ca_certs=str(pki.ca), cert_reqs=ssl.CERT_REQUIRED)
        raw.max_inflight_messages_set(200)
        raw.connect("127.0.0.1", broker.port)
        raw.loop_start()
        time.sleep(0.3)
        payload = json.dumps({"type": "new", "before": None, "after": {"id": 1, "area": [[0.0] * 2] * 40}})
        t0 = time.perf_counter()
        infos = [raw.publish(f"bench/raw/{k}", payload, qos=1) for k in range(2 * args.incidents)]
        for i in infos:
            i.wait_for_publish(30)
        raw_rate = len(infos) / (time.perf_counter() - t0)
        raw.disconnect()
        raw.loop_stop()

        sink = MqttSink(mcfg)
        sink.connect()
        pub = Publisher(ShareConfig(audit_window_s=60), engine=engine, mqtt_sinks=[sink])
        t0 = time.perf_counter()
        rep = pub.tick()
        first_s = time.perf_counter() - t0
        first_rate = rep.messages / first_s
        for i in ids:
            set_status(i, "confirmed", principal=manager, engine=engine)
        t0 = time.perf_counter()
        rep2 = pub.tick()
        upd_rate = rep2.messages / (time.perf_counter() - t0)
        print(f"broker: first tick {rep.messages} msgs in {first_s:.2f} s = {first_rate:.0f} msg/s "
              f"({rep.changes} incident changes); all-change tick {upd_rate:.0f} msg/s; "
              f"raw paho baseline {raw_rate:.0f} msg/s; ratio {first_rate / raw_rate:.2f}")

        # TAK
        tcfg = TakSinkConfig(name="tak", url=f"tcp://127.0.0.1:{relay.tcp_port}", stale_s=300, resend_s=120)
        tak = TakSink(tcfg)
        tak.connect()
        tpub = Publisher(ShareConfig(), engine=engine, tak_sinks=[tak])
        t0 = time.perf_counter()
        trep = tpub.tick()
        tak_s = time.perf_counter() - t0
        tak_rate = trep.messages / tak_s
        from sqlmodel import Session

        from disaster_ops.exports.cot import incident_events
        from disaster_ops.share.views import load_incidents

        with Session(engine) as s:
            views = load_incidents(s)
        with socket.create_connection(("127.0.0.1", relay.tcp_port)) as sock:
            t0 = time.perf_counter()  # baseline: build the same events (lxml) and write them, no DB/diff
            blob = b"".join(e + b"\n" for i in views for e in incident_events(i, now=datetime.now(UTC)))
            sock.sendall(blob)
            raw_tak_s = time.perf_counter() - t0
        print(f"tak: first tick {trep.messages} events in {tak_s:.2f} s = {tak_rate:.0f} events/s; "
              f"baseline build+write of the same events {trep.messages / raw_tak_s:.0f} events/s; "
              f"ratio {tak_rate * raw_tak_s / trep.messages:.2f}")
        tak.close()

        # delay: change -> events message at a subscriber, publisher loop running
        got: queue.Queue = queue.Queue()
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-sub")
        sub.username_pw_set(broker.username, broker.password)
        sub.tls_set(ca_certs=str(pki.ca), cert_reqs=ssl.CERT_REQUIRED)
        ready = threading.Event()
        sub.on_connect = lambda c, *_: c.subscribe("disaster-ops/province/events", qos=1)
        sub.on_subscribe = lambda *_: ready.set()
        sub.on_message = lambda _c, _u, m: got.put((time.perf_counter(), json.loads(m.payload)))
        sub.connect("127.0.0.1", broker.port)
        sub.loop_start()
        ready.wait(10)
        pub.cfg = ShareConfig(poll_s=0.25, audit_window_s=60)
        stop_ev = threading.Event()
        th = threading.Thread(target=pub.run, args=(stop_ev,), daemon=True)
        th.start()
        delays = []
        for i in ids[: args.changes]:
            t_change = time.perf_counter()
            set_status(i, "responding", principal=manager, engine=engine)
            while True:
                t_recv, ev = got.get(timeout=30)
                if ev["after"]["id"] == i and ev["after"]["status"] == "responding":
                    delays.append(t_recv - t_change)
                    break
            time.sleep(0.05)
        stop_ev.set()
        th.join(10)
        sub.disconnect()
        sub.loop_stop()
        sink.close()
        delays.sort()
        p95 = delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))]
        print(f"delay change->received over {len(delays)} changes (poll 0.25 s): "
              f"median {statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    finally:
        relay.stop()
        stop(broker.proc)


if __name__ == "__main__":
    main()
