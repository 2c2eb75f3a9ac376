"""``disaster-ops workers``: camera workers on a Ray cluster (``node`` starts one node with
pinned ports, ``status`` reports each worker's cameras and lag) and the cluster side of
``disaster-ops watch --workers/--cluster``."""

from __future__ import annotations

import dataclasses
import shutil
import signal
import tempfile

import typer

from disaster_ops.cli._common import app, fail, print_json
from disaster_ops.cli.exit_codes import ExitCode

workers_app = typer.Typer(help="Camera workers on a cluster: start a node, report their health.",
                          no_args_is_help=True)
app.add_typer(workers_app, name="workers")


def _need_ray():
    try:
        import ray  # noqa: F401
    except ImportError:
        fail("Ray is not installed: pip install 'disaster-ops[cluster]'")


@workers_app.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="One JSON document."),
    lost_after_s: float = typer.Option(20.0, "--lost-after-s", min=1.0,
                                       help="A worker silent for longer than this is reported lost, seconds. "
                                            "Example: --lost-after-s 30"),
) -> None:
    """Each worker: state (running / stopped / lost), heartbeat age, cameras, lag. Exit 1 if one is lost.

    Example: disaster-ops workers status --json"""
    from disaster_ops.cluster.leases import workers_status
    from disaster_ops.storage.db import get_engine
    from disaster_ops.storage.migrate import ensure_schema

    ensure_schema()
    rows = workers_status(get_engine(), ttl_s=lost_after_s)
    if as_json:
        print_json([dataclasses.asdict(r) for r in rows])
    else:
        if not rows:
            typer.echo("no camera worker has reported")
        for r in rows:
            cams = ", ".join(r.cameras[:5]) + (f" (+{len(r.cameras) - 5})" if len(r.cameras) > 5 else "")
            typer.echo(f"{r.worker_id:<16} {r.state:<8} node={r.node} heartbeat {r.heartbeat_age_s:.0f} s ago, "
                       f"{len(r.cameras)} cameras, lag {r.lag_s:.2f} s, tick {r.tick_s:.2f} s, "
                       f"{r.frames} frames, {r.reports} reports  {cams}")
    if any(r.state == "lost" for r in rows):
        raise typer.Exit(ExitCode.FAILED)


@workers_app.command("node")
def node(
    head: bool = typer.Option(False, "--head", help="Start the head node (GCS); else join --address."),
    address: str | None = typer.Option(None, "--address", help="HOST:PORT of the head, for a worker node."),
    port_base: int = typer.Option(6379, "--port-base", min=1024, max=65000, help="First of this node's TCP ports (the rest follow it). Example: --port-base 7000"),
    node_ip: str = typer.Option("127.0.0.1", "--node-ip", help="Address other nodes reach this one at."),
    slots: int = typer.Option(1, "--slots", min=0, max=256, help="Camera workers this node may host, a count. Example: --slots 4"),
    num_cpus: float = typer.Option(1, "--num-cpus", min=0,
                                   help="CPUs Ray may schedule on this node, a count (fractions allowed). "
                                        "Example: --num-cpus 2"),
    object_store_mb: int = typer.Option(100, "--object-store-mb", min=80,
                                        help="Ray object store size, megabytes (10^6 bytes). "
                                             "Example: --object-store-mb 200"),
    print_only: bool = typer.Option(False, "--print", help="Print the ray start command instead of running it."),
) -> None:
    """Start one Ray node with every port pinned, dashboard and usage stats off (blocks).

    Example: disaster-ops workers node --head --port-base 6379 --slots 4"""
    from disaster_ops.cluster.nodes import LocalNode, NodeSpec, ray_start_command

    if head == (address is not None):
        fail("give --head or --address HOST:PORT")
    spec = NodeSpec(port_base, head_address=address, node_ip=node_ip, num_cpus=num_cpus, slots=slots,
                    object_store_bytes=object_store_mb * 1_000_000)
    if print_only:
        typer.echo(" ".join(ray_start_command(spec)))
        return
    _need_ray()
    n = LocalNode(spec).start()
    typer.echo(f"ray node up ({'head ' + spec.gcs_address if head else 'joined ' + address}); Ctrl-C stops",
               err=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    n.stop()


def run_cluster(camera_keys: list[str], *, workers: int | None, cluster: str | None, port_base: int, fps: float,
                report_interval_s: float, replay: bool, duration_s: float | None,
                model_runs_per_s: float | None = None) -> None:
    """``watch --workers N`` (local node with N slots) or ``watch --cluster HOST:PORT``."""
    _need_ray()
    import ray

    from disaster_ops.cluster.coordinator import Coordinator, CoordinatorConfig
    from disaster_ops.cluster.nodes import LocalNode, NodeSpec
    from disaster_ops.cluster.shard import ShardConfig
    from disaster_ops.config import get_settings
    from disaster_ops.storage.db import get_engine

    s = get_settings()
    local = None
    if workers is not None:
        tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
        local = LocalNode(NodeSpec(port_base, slots=workers, num_cpus=workers, temp_dir=tmp)).start()
        cluster = f"127.0.0.1:{port_base}"
    try:
        ray.init(address=cluster, log_to_driver=False, logging_level="WARNING")
    except (ConnectionError, RuntimeError, ValueError) as exc:  # one line, not a trace
        if local:
            local.stop()
        fail(f"cannot join the Ray cluster at {cluster}: {exc}")
    shard = ShardConfig(database_url=str(s.database_url), data_dir=str(s.data_dir.resolve()), sample_fps=fps,
                        report_interval_s=report_interval_s, replay=replay, model_runs_per_s=model_runs_per_s)
    coord = Coordinator(camera_keys, shard, get_engine(), CoordinatorConfig(max_workers=workers))

    def _stop(_sig, _frm):
        coord.stop_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    typer.echo(f"watching {len(camera_keys)} camera(s) on {'local workers' if local else cluster}; Ctrl-C stops",
               err=True)
    try:
        coord.run(duration_s=duration_s)
    finally:
        moves = sum(e.what in ("camera_assigned", "camera_moved") for e in coord.events)
        lost = sum(e.what == "worker_lost" for e in coord.events)
        ray.shutdown()
        if local:
            local.stop()
            shutil.rmtree(local.spec.temp_dir or "", ignore_errors=True)
        typer.echo(f"stopped: {moves} camera assignments, {lost} workers lost", err=True)
