"""TAK sink: a live CoT connection to a TAK server over TCP, or TLS with a client
certificate, opened with PyTAK (the maintained TAK client library).

The connection lives on an asyncio loop in its own thread; a reader task drains what the
server relays back (other clients' events) so the socket never stalls. ``send`` writes a
batch of events and waits for the write buffer to drain; a broken connection is reopened
on the next send.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from configparser import ConfigParser

with warnings.catch_warnings():  # PyTAK warns that its optional aiohttp (for enrollment) is missing
    warnings.simplefilter("ignore")
    import pytak

from disaster_ops.share.config import TakSinkConfig
from disaster_ops.share.mqtt_sink import SinkError

logger = logging.getLogger(__name__)


def pytak_config(cfg: TakSinkConfig) -> ConfigParser:
    cp = ConfigParser(interpolation=None)
    cp["tak"] = {"COT_URL": cfg.url}
    if cfg.url.startswith("tls://"):
        cp["tak"]["PYTAK_TLS_CLIENT_CERT"] = str(cfg.cert_file)
        cp["tak"]["PYTAK_TLS_CLIENT_KEY"] = str(cfg.key_file)
        if cfg.ca_file:
            cp["tak"]["PYTAK_TLS_CLIENT_CAFILE"] = str(cfg.ca_file)
    return cp


class TakSink:
    def __init__(self, cfg: TakSinkConfig):
        self.cfg = cfg
        self.name = cfg.name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"tak-{cfg.name}", daemon=True)
        self._thread.start()
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task | None = None

    def _run(self, coro, timeout_s: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    async def _open(self) -> None:
        reader, writer = await pytak.protocol_factory(pytak_config(self.cfg)["tak"])
        self._writer = writer
        self._reader_task = asyncio.ensure_future(self._drain(reader))
        logger.info("tak %s: connected to %s", self.name, self.cfg.url)

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(65536):
                pass
        except (OSError, asyncio.CancelledError):
            pass
        logger.warning("tak %s: server closed the connection", self.name)
        self._writer = None

    def connect(self) -> None:
        try:
            self._run(self._open())
        except Exception as exc:  # ssl, OSError, pytak's SyntaxError for bad TLS settings
            raise SinkError(f"tak {self.name}: cannot connect to {self.cfg.url}: {exc}") from exc

    async def _send(self, events: list[bytes]) -> None:
        if self._writer is None or self._writer.is_closing():
            await self._open()
        self._writer.write(b"".join(e if e.endswith(b"\n") else e + b"\n" for e in events))
        await self._writer.drain()

    def send(self, events: list[bytes]) -> int:
        if not events:
            return 0
        try:
            self._run(self._send(events))
        except Exception as exc:
            self._writer = None
            raise SinkError(f"tak {self.name}: send failed: {exc}") from exc
        return len(events)

    def close(self) -> None:
        async def _close():
            if self._reader_task:
                self._reader_task.cancel()
            if self._writer is not None:
                self._writer.close()

        try:
            self._run(_close(), 5.0)
        except Exception as exc:  # noqa: BLE001 - closing a broken connection
            logger.debug("tak %s: close: %s", self.name, exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
