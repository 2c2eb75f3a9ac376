"""``disaster-ops demo --headless``: the demo without the dashboard, stopped by itself, with a report.

Children: the simulated drone with its synthetic camera (fires planted where the gap
mission will fly), its drone worker, the CCTV replay watcher, and the aerial worker on
the camera's stream (its frames timed by the capture stamps the camera sends; every
confirmed frame reported, so the accuracy figure rests on every placement, not a few). The supervisor itself plays the operator: it enables auto-dispatch
for the simulated drone (a manager's setting, audited as the local demo admin) and ticks
the :class:`~disaster_ops.services.autoloop.AutoLoop` (audited as ``system``). At the end
it prints one JSON object (``--json``) or a short summary.
"""

from __future__ import annotations

import json
import sys
import time

import typer

from disaster_ops.cli._common import local_admin, print_json
from disaster_ops.config import get_settings
from disaster_ops.services import demo as demo_svc

# Every confirmed frame of a planted fire is reported (the product's default, 5 s, limits how
# often one hazard is written again): the drone is over the fires for a few seconds of the
# survey, and a median of 4-7 placements moved by metres from run to run.
DEMO_REPORT_INTERVAL_S = 0.0


def run_headless(*, duration_s: float, json_out: bool, drone_port: int, camera_port: int,
                 camera_telemetry_port: int, supervise, child) -> int:
    from disaster_ops.errors import InputError
    from disaster_ops.services.aerial_view import set_auto_dispatch
    from disaster_ops.services.autoloop import AutoLoop
    from disaster_ops.services.demo_report import demo_report

    data_dir = get_settings().data_dir
    stats_file = data_dir / "demo_aerial_stats.json"
    stats_file.unlink(missing_ok=True)
    planted = demo_svc.demo_aerial_hazards()
    lat, lon = demo_svc.DEMO_HOME
    py = [sys.executable, "-m", "disaster_ops"]
    hazard_args = [a for h in planted for a in ("--aerial-hazard", f"{h.kind},{h.lat},{h.lon},{h.size_m}")]
    name = demo_svc.DEMO_DRONE
    children = [
        child("simulated drone", [*py, "sim-drone", "--port", str(drone_port), "--speedup", "2", "--home",
                                  f"{lat},{lon}", "--gcs-failsafe-s", "0", "--camera-port", str(camera_port),
                                  "--camera-telemetry-port", str(camera_telemetry_port), *hazard_args]),
        child("drone worker", [*py, "drone-worker", "--name", name, "--connect", f"udpin:127.0.0.1:{drone_port}"]),
        child("aerial worker", [*py, "aerial", "--drone", name, "--video",
                                f"http://127.0.0.1:{camera_port}/video.mjpg", "--connect",
                                f"udpin:127.0.0.1:{camera_telemetry_port}", "--stats-out", str(stats_file),
                                "--report-interval-s", str(DEMO_REPORT_INTERVAL_S)]),
    ]
    if demo_svc.has_replay_cameras():
        children.append(child("CCTV replay + detection", [*py, "watch", "--replay", "--fps", "2"]))
    loop = AutoLoop(home_latlon=demo_svc.DEMO_HOME)
    state = {"auto": False}

    def tick() -> None:
        if not state["auto"]:
            try:
                set_auto_dispatch(name, True, principal=local_admin("demo"))
                state["auto"] = True
            except InputError:
                return  # the drone worker has not registered the drone yet
        loop.tick()

    t0 = time.monotonic()
    rc = supervise(children, stop_after_s=duration_s, tick=tick, log_dir=data_dir / "logs", quiet=json_out)
    aerial = json.loads(stats_file.read_text()) if stats_file.exists() else None
    report = demo_report(planted=planted, aerial=aerial, duration_s=time.monotonic() - t0).to_dict()
    if json_out:
        print_json(report)
    else:
        for k, v in report.items():
            typer.echo(f"{k}: {v}")
    return rc
