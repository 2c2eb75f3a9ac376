"""``disaster-ops share run|gis``: push the picture live to agencies (MQTT, TAK, CAP
directory) and serve the read-only GeoJSON feed."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from disaster_ops.cli._common import app, fail

share_app = typer.Typer(help="Share the picture live with other agencies.", no_args_is_help=True)
app.add_typer(share_app, name="share")


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@share_app.command("run")
def run(
    config: Path = typer.Option(..., "--config", "-c", help="Sinks TOML (see disaster_ops/share/config.py)."),
    once: bool = typer.Option(False, "--once", help="One tick, then exit."),
) -> None:
    """Watch the database and push incident changes to every configured sink until stopped.

    Example: disaster-ops share run --config sinks.toml"""
    from disaster_ops.errors import DisasterOpsError
    from disaster_ops.share.config import load_share_config
    from disaster_ops.share.mqtt_sink import MqttSink
    from disaster_ops.share.publisher import Publisher
    from disaster_ops.share.tak_sink import TakSink
    from disaster_ops.storage.db import get_engine
    from disaster_ops.storage.migrate import ensure_schema

    sinks: list = []
    try:
        cfg = load_share_config(config)
        if not (cfg.mqtt or cfg.tak or cfg.cap_dir):
            fail(f"{config}: no sink configured ([[mqtt]], [[tak]] or [[cap_dir]])")
        ensure_schema()
        mqtt_sinks = [MqttSink(m) for m in cfg.mqtt]
        tak_sinks = [TakSink(t) for t in cfg.tak]
        sinks = [*mqtt_sinks, *tak_sinks]
        for s in sinks:
            s.connect()
    except DisasterOpsError as exc:
        for s in sinks:
            s.close()
        fail(str(exc))
    pub = Publisher(cfg, engine=get_engine(), mqtt_sinks=mqtt_sinks, tak_sinks=tak_sinks)
    stop = _stop_on_signals()
    if once:
        stop.set()
        pub.tick()
        pub.audit.flush()
    else:
        pub.run(stop)
    for s in sinks:
        s.close()


@share_app.command("gis")
def gis(
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="TCP port of the GIS feed. Example: --port 8765"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (agencies reach it through your proxy)."),
) -> None:
    """Serve incidents, cameras and coverage gaps as GeoJSON (agency token required).

    Example: disaster-ops share gis --port 8765"""
    from disaster_ops.share.gis_server import GisFeed, serve
    from disaster_ops.storage.db import get_engine
    from disaster_ops.storage.migrate import ensure_schema

    ensure_schema()
    feed = GisFeed(get_engine())
    try:
        srv = serve(feed, host, port)
    except OSError as exc:
        fail(f"{host}:{port}: cannot listen: {exc.strerror or exc}")
    stop = _stop_on_signals()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    typer.echo(f"GIS feed on http://{host}:{port}/incidents.geojson", err=True)
    stop.wait()
    srv.shutdown()
    feed.close()
