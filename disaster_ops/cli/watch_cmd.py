"""``disaster-ops watch``: run the detectors on camera streams and feed incidents."""

from __future__ import annotations

import json
import signal

import typer

from disaster_ops.cli._common import app, fail
from disaster_ops.storage.migrate import ensure_schema


@app.command("watch")
def watch(
    camera: list[str] = typer.Option(None, "--camera", "-c", help="Camera source_key (repeatable); default: all with a stream_url."),
    replay: bool = typer.Option(False, "--replay", help="Loop file streams at their own frame rate (demo, tests)."),
    fps: float = typer.Option(1.0, "--fps", min=0.05, max=30, help="Detection samples per second per camera."),
    report_interval_s: float = typer.Option(15.0, "--report-interval-s", min=0.0, help="Re-report an ongoing hazard at most this often."),
    duration_s: float | None = typer.Option(None, "--duration-s", min=0.1, help="Stop after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per reported detection."),
    workers: int | None = typer.Option(None, "--workers", min=1, max=256,
                                       help="Shard the cameras over N camera workers on a local Ray node, a count. Example: --workers 4"),
    cluster: str | None = typer.Option(None, "--cluster", help="Run camera workers on an existing Ray cluster "
                                       "(HOST:PORT of its head); one worker per free watch_slot."),
    ray_port_base: int = typer.Option(6379, "--ray-port-base", min=1024, max=65000,
                                      help="--workers: first port of the local Ray node (see docs/deployment.md)."),
    model_runs_per_s: float | None = typer.Option(
        None, "--model-runs-per-s", min=0.1, max=10_000,
        help="Cap the detector at this many frames per second per watcher/worker; frames due beyond it queue "
             "(motion first) instead of bursting. Default: no cap. Example: --model-runs-per-s 8"),
) -> None:
    """Watch CCTV streams: motion-gated detection, N-of-M confirmation, incidents on the map.

    Example: disaster-ops watch --camera busan-jung-0001 --fps 2"""
    from disaster_ops.detect.errors import DetectError
    from disaster_ops.services.watch import Watcher, cameras_to_watch

    ensure_schema()
    try:
        cams = cameras_to_watch(camera or None)
        if not cams:
            fail("no camera has a stream_url: import a registry with stream_url, or pass --camera")
    except KeyError as exc:
        fail(str(exc).strip("'\""))
    if workers is not None and cluster is not None:
        fail("give --workers (local) or --cluster (existing cluster), not both")
    if workers is not None or cluster is not None:
        from disaster_ops.cli.workers_cmd import run_cluster

        run_cluster([c.source_key for c in cams], workers=workers, cluster=cluster, port_base=ray_port_base,
                    fps=fps, report_interval_s=report_interval_s, replay=replay, duration_s=duration_s,
                    model_runs_per_s=model_runs_per_s)
        return
    try:
        watcher = Watcher(cams, sample_fps=fps, report_interval_s=report_interval_s, replay=replay,
                          model_runs_per_s=model_runs_per_s)
    except (KeyError, DetectError) as exc:
        fail(str(exc).strip("'\""))

    def _stop(_sig, _frm):
        watcher.stop_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    def _print(r) -> None:
        if as_json:
            typer.echo(json.dumps({"detection_id": r.detection_id, "incident_id": r.incident_id,
                                   "new_incident": r.created}))

    typer.echo(f"watching {len(cams)} camera(s) at {fps:g} sample/s; Ctrl-C stops", err=True)
    stats = watcher.run(duration_s=duration_s, on_report=_print)
    typer.echo(f"stopped: {stats.ticks} ticks, {stats.frames} frames, {stats.reports} reports, "
               f"{stats.incidents_created} new incidents, {stats.errors} errors", err=True)
