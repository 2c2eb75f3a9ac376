"""Mission upload time to the simulated vehicle over real UDP on 127.0.0.1, and to
ArduPilot's ArduCopter SITL (``../shared/sitl``) over TCP, in the same run.

Prints, for a 700-item mission: seconds and items/s at 0 % and 20 % datagram loss (each
direction), the ratio against the 0 % run, and a same-run baseline: naive stop-and-wait
(GCS-driven recovery only, fixed 1 s retransmit, vehicle never re-requests), measured on
fewer items and compared per item. Then upload + verify (download and compare) of
``--sitl-items`` items to the real autopilot and to the built-in simulator at 0 % loss,
median of ``--repeat`` runs each. Run: ``nice -n 10 .venv/bin/python benchmarks/upload.py``.
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from drone_link.link import DroneLink, LinkOptions
from drone_link.mission import Cmd, Frame, MissionItem, MissionType
from drone_link.sim import SimConfig, SimVehicle

HOME = (37.5665, 126.9780)


def mission_items(n: int) -> list[MissionItem]:
    """Home placeholder (ArduPilot item 0) + a lawnmower of n-1 waypoints."""
    items = [MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL, HOME[0], HOME[1], 38.0)]
    for i in range(n - 1):
        row, col = divmod(i, 20)
        items.append(MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT,
                                 HOME[0] + row * 2e-4, HOME[1] + (col if row % 2 == 0 else 19 - col) * 2e-4,
                                 80.0))
    return items


def run(n: int, *, loss: float, link_opts: LinkOptions, vehicle_rerequest_s: float,
        seed: int = 1) -> tuple[float, int]:
    with DroneLink.connect("udpin:127.0.0.1:0", options=link_opts) as link:
        sim = SimVehicle(SimConfig(port=link.local_port, home_lat_deg=HOME[0], home_lon_deg=HOME[1],
                                   loss=loss, seed=seed, boot_s=0.0,
                                   request_timeout_s=vehicle_rerequest_s,
                                   upload_timeout_s=max(8.0, 5 * link_opts.item_timeout_s),
                                   stream_hz=1.0)).start()
        try:
            link.wait_heartbeat(timeout_s=10)
            t0 = time.perf_counter()
            report = link.upload(mission_items(n), mission_type=MissionType.MISSION)
            dt = time.perf_counter() - t0
            assert len(sim.missions.lists[MissionType.MISSION]) == n
            return dt, report.resends
        finally:
            sim.stop()


SITL = Path(__file__).resolve().parents[2] / "shared" / "sitl"


def _free_instance() -> int:
    for instance in range(10, 20):  # this project's SITL range: TCP 5860..5950
        ports = [5760 + 10 * instance + k for k in (0, 2, 3)]
        ok = True
        for port in ports:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
        if ok:
            return instance
    raise SystemExit("no free SITL instance in -I 10..19")


def plan_items(n: int) -> list[MissionItem]:
    """n plan waypoints (the link adds ArduPilot's home item)."""
    return mission_items(n + 1)[1:]


def upload_verify(link: DroneLink, n: int) -> float:
    from drone_link.mission import Mission

    mission = Mission(items=plan_items(n), home_lat_deg=HOME[0], home_lon_deg=HOME[1], home_alt_amsl_m=38.0)
    t0 = time.perf_counter()
    link.upload_mission(mission)  # upload + download + compare
    return time.perf_counter() - t0


def upload_only(link: DroneLink, n: int) -> float:
    items = mission_items(n)
    t0 = time.perf_counter()
    link.upload(items, mission_type=MissionType.MISSION)
    return time.perf_counter() - t0


def run_sitl(n: int, repeat: int) -> tuple[list[float], list[float]]:
    instance = _free_instance()
    with tempfile.TemporaryDirectory(prefix="sitl-bench-") as tmp:
        proc = subprocess.Popen(
            # speedup 1: the autopilot's loop (which paces item requests) runs in real time,
            # as on a vehicle; SITL's faster speed-ups also speed up the mission protocol.
            [str(SITL / "arducopter-3.6"), "-w", "--model", "quad", "--speedup", "1",
             f"--home={HOME[0]},{HOME[1]},38,0", "--defaults", str(SITL / "copter.parm"),
             "-I", str(instance)], cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            with DroneLink.connect(f"tcp:127.0.0.1:{5760 + 10 * instance}") as link:
                link.wait_heartbeat(timeout_s=20)
                # As a pilot would: after boot (GPS, EKF). Right after start 3.6 answered the
                # first upload with MISSION_ACK ERROR while it was still calibrating.
                link.wait_ready_to_arm(timeout_s=120)
                up = [upload_only(link, n) for _ in range(repeat)]
                uv = [upload_verify(link, n) for _ in range(repeat)]
                return up, uv
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def run_sim(n: int, repeat: int, *, pace_s: float = 0.0) -> tuple[list[float], list[float]]:
    with DroneLink.connect("udpin:127.0.0.1:0") as link:
        sim = SimVehicle(SimConfig(port=link.local_port, home_lat_deg=HOME[0], home_lon_deg=HOME[1],
                                   boot_s=0.0, stream_hz=4.0, mission_pace_s=pace_s)).start()
        try:
            link.wait_heartbeat(timeout_s=10)
            link.pump(0.5)
            up = [upload_only(link, n) for _ in range(repeat)]
            uv = [upload_verify(link, n) for _ in range(repeat)]
            return up, uv
        finally:
            sim.stop()


def sitl_section(n: int, repeat: int) -> None:
    if not (SITL / "arducopter-3.6").is_file():
        print(f"SITL: {SITL} absent, skipped")
        return
    rows = [("ArduCopter 3.6 SITL, TCP", *run_sitl(n, repeat)),
            ("built-in simulator, UDP", *run_sim(n, repeat)),
            ("simulator, 20 ms mission pace", *run_sim(n, repeat, pace_s=0.020))]
    print(f"\n0 % loss, {n} waypoints, median of {repeat}:")
    print(f"{'peer':28s} {'upload s':>9s} {'items/s':>8s} {'upload+verify s':>16s} {'items/s':>8s}")
    for name, up, uv in rows:
        u, v = statistics.median(up), statistics.median(uv)
        print(f"{name:28s} {u:9.3f} {n / u:8.0f} {v:16.3f} {n / v:8.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=700)
    ap.add_argument("--baseline-items", type=int, default=60)
    ap.add_argument("--default-items", type=int, default=200)
    ap.add_argument("--sitl-items", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sitl-only", action="store_true", help="Only the SITL vs simulator section.")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.sitl_only:
        sitl_section(args.sitl_items, args.repeat)
        return
    n = args.items
    tuned = LinkOptions(item_timeout_s=0.15, item_retries=30)
    default = LinkOptions()
    naive = LinkOptions(item_timeout_s=1.0, item_retries=60)
    rows = []
    print("running (about 2 minutes)...", flush=True)
    t0, r0 = run(n, loss=0.0, link_opts=default, vehicle_rerequest_s=0.25)
    rows.append(("0 % loss, default link", n, t0, r0))
    t20, r20 = run(n, loss=0.2, link_opts=tuned, vehicle_rerequest_s=0.1)
    rows.append(("20 % loss, link 0.15 s / vehicle 0.1 s re-request", n, t20, r20))
    nd = args.default_items
    td, rd = run(nd, loss=0.2, link_opts=default, vehicle_rerequest_s=0.25)
    rows.append(("20 % loss, defaults (link 0.5 s / vehicle 0.25 s)", nd, td, rd))
    nb = args.baseline_items
    tb, rb = run(nb, loss=0.2, link_opts=naive, vehicle_rerequest_s=1e6)
    rows.append(("baseline: naive stop-and-wait, 1 s retransmit, 20 % loss", nb, tb, rb))
    print(f"{'case':58s} {'items':>5s} {'s':>8s} {'items/s':>8s} {'ms/item':>8s} {'resends':>7s}")
    for name, k, t, r in rows:
        print(f"{name:58s} {k:5d} {t:8.2f} {k / t:8.1f} {1000 * t / k:8.1f} {r:7d}")
    per0 = t0 / n
    print(f"20 % loss vs 0 % (ms/item ratio): tuned {t20 / n / per0:.1f}x, defaults {td / nd / per0:.1f}x")
    print(f"naive baseline vs this link at 20 % loss (ms/item ratio): {tb / nb / (t20 / n):.1f}x slower "
          f"than tuned, {tb / nb / (td / nd):.1f}x slower than defaults")
    print(f"projected 700-item upload at 20 % loss: defaults {700 * td / nd:.0f} s, "
          f"naive {700 * tb / nb:.0f} s")
    sitl_section(args.sitl_items, args.repeat)


if __name__ == "__main__":
    main()
