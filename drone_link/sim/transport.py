"""The simulated vehicle's UDP side: MAVLink 2 encode/decode, signing, loss and latency.

The vehicle sends to the GCS address (``udpout`` semantics, like ArduPilot SITL with
MAVProxy ``--out`` or a telemetry bridge) from an ephemeral local port and reads replies
on that same socket. Loss and latency apply to every datagram in both directions.
"""

from __future__ import annotations

import heapq
import logging
import random
import select
import socket
from dataclasses import dataclass

from drone_link.link._mav import encoder, signing_timestamp_now

logger = logging.getLogger(__name__)


@dataclass
class TransportStats:
    sent: int = 0
    received: int = 0
    dropped_out: int = 0
    dropped_in: int = 0
    rejected_signature: int = 0


class SimTransport:
    def __init__(self, *, host: str, port: int, sysid: int, compid: int = 1, loss: float = 0.0,
                 latency_s: float = 0.0, signing_key: bytes | None = None,
                 seed: int | None = None) -> None:
        self.dest = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1" if host in ("127.0.0.1", "localhost") else "0.0.0.0", 0))
        self.sock.setblocking(False)
        self.mav = encoder(system_id=sysid, component_id=compid)
        if signing_key is not None:
            self.mav.signing.secret_key = signing_key
            self.mav.signing.sign_outgoing = True
            self.mav.signing.timestamp = signing_timestamp_now()
            self.mav.signing.allow_unsigned_callback = None
        self.loss = loss
        self.latency_s = latency_s
        self._rng = random.Random(seed)
        self._out: list[tuple[float, int, bytes]] = []
        self._in: list[tuple[float, int, bytes]] = []
        self._n = 0
        self.stats = TransportStats()

    @property
    def local_port(self) -> int:
        return self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def send(self, msg, now: float) -> None:
        """Encode (and sign) now; deliver after the latency unless the datagram is lost."""
        buf = msg.pack(self.mav)
        self.mav.seq = (self.mav.seq + 1) % 256
        if self.loss and self._rng.random() < self.loss:
            self.stats.dropped_out += 1
            return
        if self.latency_s:
            self._n += 1
            heapq.heappush(self._out, (now + self.latency_s, self._n, buf))
        else:
            self._sendto(buf)

    def _sendto(self, buf: bytes) -> None:
        try:
            self.sock.sendto(buf, self.dest)
            self.stats.sent += 1
        except OSError as exc:  # GCS not listening yet (ECONNREFUSED): keep going
            logger.debug("send failed: %s", exc)

    def poll(self, now: float, timeout_s: float) -> list:
        """Deliver due outgoing datagrams, wait up to ``timeout_s`` for input, return messages."""
        while self._out and self._out[0][0] <= now:
            self._sendto(heapq.heappop(self._out)[2])
        wait = timeout_s
        if self._out:
            wait = min(wait, max(0.0, self._out[0][0] - now))
        if self._in:
            wait = min(wait, max(0.0, self._in[0][0] - now))
        try:
            ready, _, _ = select.select([self.sock], [], [], wait)
        except (OSError, ValueError):
            return []
        if ready:
            while True:
                try:
                    data, _addr = self.sock.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                if self.loss and self._rng.random() < self.loss:
                    self.stats.dropped_in += 1
                    continue
                self._n += 1
                heapq.heappush(self._in, (now + self.latency_s, self._n, data))
        msgs = []
        while self._in and self._in[0][0] <= now + 1e-9:
            data = heapq.heappop(self._in)[2]
            for m in self.mav.parse_buffer(data) or []:
                if m.get_type() == "BAD_DATA":
                    if "signature" in str(getattr(m, "reason", "")).lower():
                        self.stats.rejected_signature += 1
                    continue
                self.stats.received += 1
                msgs.append(m)
        return msgs
