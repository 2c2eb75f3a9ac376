"""A CoT relay for tests: what a TAK Server's streaming inputs do with CoT, on TCP and on
TLS with client-certificate verification (CERT_REQUIRED against the test CA): every
event one client sends is relayed to every other connected client.

Used because FreeTAKServer 2.2.1 from PyPI does not start here (see
docs/sharing.md, "TAK server in tests"). It is deliberately dumb: it parses nothing but
the ``</event>`` boundaries, so our events are read back by a real TAK client library
(PyTAK), not by our own parser.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from pathlib import Path


class CotRelay:
    def __init__(self, *, tcp_port: int, tls_port: int, ca: Path, cert: Path, key: Path):
        self.tcp_port, self.tls_port = tcp_port, tls_port
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca))
        self.ctx.load_cert_chain(str(cert), str(key))
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.clients: set[asyncio.StreamWriter] = set()
        self.relayed = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> CotRelay:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("relay did not start")
        return self

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def boot():
            self._servers = [
                await asyncio.start_server(self._client, "127.0.0.1", self.tcp_port),
                await asyncio.start_server(self._client, "127.0.0.1", self.tls_port, ssl=self.ctx),
            ]
            self._ready.set()

        self._loop.run_until_complete(boot())
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients.add(writer)
        buf = b""
        try:
            while chunk := await reader.read(65536):
                buf += chunk
                *events, buf = buf.split(b"</event>")
                for ev in events:
                    out = ev.strip() + b"</event>\n"
                    self.relayed += 1
                    for other in list(self.clients):
                        if other is not writer and not other.is_closing():
                            other.write(out)
        except (ssl.SSLError, ConnectionError):
            pass
        finally:
            self.clients.discard(writer)
            writer.close()

    def stop(self) -> None:
        async def down():
            for s in self._servers:
                s.close()
            for w in list(self.clients):
                w.close()

        asyncio.run_coroutine_threadsafe(down(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
