"""MQTT sink, in the manner of Frigate's ``frigate/events`` topic.

Topics (``P`` = topic prefix, ``A`` = agency name):

- ``P/A/events``: one JSON message per incident change, ``{"type": "new"|"update"|"end",
  "before": {...}|null, "after": {...}}``, QoS 1, not retained (a stream of changes);
- ``P/A/incidents/ID/state``: the incident's last state, retained (a new subscriber gets
  the picture at once), also for ended incidents (``"open": false``);
- ``P/A/incidents/ID/snapshot``: the newest JPEG with faces and heads blurred
  (``services/evidence``; never the raw file), retained, only for agencies whose rule
  includes media;
- ``P/A/cameras/KEY/health`` and ``P/A/drones/NAME/state``: retained JSON.

Every publish is QoS 1 (configurable); ``push`` returns once the broker has acknowledged
all of them, so the publisher records a delivery only when the broker holds it.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading

import paho.mqtt.client as mqtt

from disaster_ops.errors import DisasterOpsError
from disaster_ops.share.config import MqttSinkConfig
from disaster_ops.share.delivery import Change, ChangeType

logger = logging.getLogger(__name__)

MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024


class SinkError(DisasterOpsError):
    """A sink could not deliver (broker or server down, refused credentials)."""


def _topic_part(text: str) -> str:
    return "".join("_" if ch in "/+#" or ord(ch) < 32 else ch for ch in text)


class MqttSink:
    def __init__(self, cfg: MqttSinkConfig, *, client_id: str | None = None):
        self.cfg = cfg
        self.name = cfg.name
        self._connected = threading.Event()
        self._refused: str | None = None
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"disaster-ops-{cfg.name}",
                        protocol=mqtt.MQTTv311, clean_session=False)
        c.max_inflight_messages_set(200)
        c.max_queued_messages_set(0)
        if cfg.username:
            c.username_pw_set(cfg.username, cfg.password())
        if cfg.tls:
            c.tls_set(ca_certs=str(cfg.ca_file) if cfg.ca_file else None,
                      certfile=str(cfg.cert_file) if cfg.cert_file else None,
                      keyfile=str(cfg.key_file) if cfg.key_file else None,
                      cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.reconnect_delay_set(1, 30)
        self.client = c

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._refused = str(reason_code)
            logger.error("mqtt %s: broker refused the connection: %s", self.name, reason_code)
        else:
            self._refused = None
            self._connected.set()
            logger.info("mqtt %s: connected to %s:%d", self.name, self.cfg.host, self.cfg.port)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self._connected.clear()
        logger.warning("mqtt %s: disconnected (%s)", self.name, reason_code)

    def connect(self, timeout_s: float = 10.0) -> None:
        try:
            self.client.connect(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        except (OSError, ssl.SSLError) as exc:
            raise SinkError(f"mqtt {self.name}: cannot connect to {self.cfg.host}:{self.cfg.port}: {exc}") from exc
        self.client.loop_start()
        if not self._connected.wait(timeout_s):
            self.close()
            why = self._refused or "no CONNACK"
            raise SinkError(f"mqtt {self.name}: {self.cfg.host}:{self.cfg.port}: {why}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _t(self, agency: str, *parts: str) -> str:
        return "/".join([self.cfg.topic_prefix, _topic_part(agency), *(_topic_part(p) for p in parts)])

    def push(self, agency: str, changes: list[Change], *, include_media: bool = False) -> int:
        """Publish the changes of one agency; returns the number of messages acknowledged."""
        infos = []
        q = self.cfg.qos
        for c in changes:
            kind, ident = c.key.split(":", 1)
            body = json.dumps(c.after, ensure_ascii=False)
            if kind == "incident":
                ev = {"type": c.type.value, "before": c.before, "after": c.after}
                infos.append(self.client.publish(self._t(agency, "events"), json.dumps(ev, ensure_ascii=False), qos=q))
                infos.append(self.client.publish(self._t(agency, "incidents", ident, "state"), body, qos=q, retain=True))
                snap = getattr(c.obj, "snapshot_path", None)
                if include_media and snap and c.type is not ChangeType.END:
                    data = _read_snapshot(snap)
                    if data is not None:
                        infos.append(self.client.publish(self._t(agency, "incidents", ident, "snapshot"), data,
                                                          qos=q, retain=True))
            elif kind == "camera":
                infos.append(self.client.publish(self._t(agency, "cameras", ident, "health"), body, qos=q, retain=True))
            elif kind == "drone":
                infos.append(self.client.publish(self._t(agency, "drones", ident, "state"), body, qos=q, retain=True))
        for info in infos:
            try:
                info.wait_for_publish(self.cfg.ack_timeout_s)
            except (RuntimeError, ValueError) as exc:
                raise SinkError(f"mqtt {self.name}: publish failed: {exc}") from exc
            if not info.is_published():
                raise SinkError(f"mqtt {self.name}: broker did not acknowledge within {self.cfg.ack_timeout_s} s")
        return len(infos)


def _read_snapshot(path: str) -> bytes | None:
    """The blurred copy of a stored snapshot (agencies are outside the centre), or None."""
    from disaster_ops.services.evidence import snapshot_bytes

    data = snapshot_bytes(path, principal=None)
    if data is not None and len(data) > MAX_SNAPSHOT_BYTES:
        logger.warning("snapshot %s is over %d bytes; not sent", path, MAX_SNAPSHOT_BYTES)
        return None
    return data
