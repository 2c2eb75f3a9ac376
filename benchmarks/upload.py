"""Mission upload time to the simulated vehicle over real UDP on 127.0.0.1.

Prints, for a 700-item mission: seconds and items/s at 0 % and 20 % datagram loss (each
direction), the ratio against the 0 % run, and a same-run baseline: naive stop-and-wait
(GCS-driven recovery only, fixed 1 s retransmit, vehicle never re-requests), measured on
fewer items and compared per item. Run: ``nice -n 10 .venv/bin/python benchmarks/upload.py``.
"""

from __future__ import annotations

import argparse
import logging
import time

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=700)
    ap.add_argument("--baseline-items", type=int, default=60)
    ap.add_argument("--default-items", type=int, default=200)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
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


if __name__ == "__main__":
    main()
