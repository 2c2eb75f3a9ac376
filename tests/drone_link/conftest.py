"""Fixtures for link/sim tests: a GCS link and simulated vehicles on real UDP sockets.

The GCS listens on an ephemeral port of 127.0.0.1 (``udpin:127.0.0.1:0``); each vehicle
sends to it, exactly as ArduPilot SITL + MAVProxy ``--out`` or a real telemetry bridge do.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from drone_link.link import DroneLink, LinkOptions
from drone_link.mission import Cmd, Frame, Mission, MissionItem, MissionType
from drone_link.sim import SimConfig, SimVehicle

HOME = (37.5665, 126.9780)


class FakeClock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> float:
        self.t += dt
        return self.t


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def square_mission(n_waypoints: int = 4, *, alt_m: float = 20.0, step_deg: float = 0.0004,
                   frame: int = Frame.GLOBAL_RELATIVE_ALT, rtl: bool = True) -> Mission:
    """Takeoff, a zig-zag of waypoints north-east of home, RTL (plus a speed change)."""
    lat0, lon0 = HOME
    items = [MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, 0.0, 0.0, alt_m),
             MissionItem(Cmd.DO_CHANGE_SPEED, Frame.MISSION, param1=1, param2=12.0, param3=-1)]
    for i in range(n_waypoints):
        items.append(MissionItem(Cmd.NAV_WAYPOINT, frame, lat0 + step_deg * (i + 1),
                                 lon0 + (step_deg if i % 2 else 0.0), alt_m))
    if rtl:
        items.append(MissionItem(Cmd.NAV_RETURN_TO_LAUNCH, Frame.MISSION))
    return Mission(items=items, home_lat_deg=lat0, home_lon_deg=lon0, home_alt_amsl_m=38.0)


def fence_items() -> list[MissionItem]:
    lat0, lon0 = HOME
    poly = [(-0.01, -0.01), (-0.01, 0.01), (0.01, 0.01), (0.01, -0.01)]
    items = [MissionItem(Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, Frame.GLOBAL, lat0 + a, lon0 + b,
                         0.0, param1=4, mission_type=MissionType.FENCE) for a, b in poly]
    items.append(MissionItem(Cmd.NAV_FENCE_CIRCLE_EXCLUSION, Frame.GLOBAL, lat0 + 0.002,
                             lon0 + 0.002, 0.0, param1=50.0, mission_type=MissionType.FENCE))
    return items


def rally_items() -> list[MissionItem]:
    lat0, lon0 = HOME
    return [MissionItem(Cmd.NAV_RALLY_POINT, Frame.GLOBAL_RELATIVE_ALT, lat0 + 0.001 * k,
                        lon0 - 0.001, 30.0, mission_type=MissionType.RALLY) for k in (1, 2)]


class Rig:
    """One GCS link plus the vehicles started against it; closes everything at the end."""

    def __init__(self) -> None:
        self.links: list[DroneLink] = []
        self.sims: list[SimVehicle] = []

    def link(self, *, signing_key: bytes | None = None, options: LinkOptions | None = None,
             target_system: int | None = None) -> DroneLink:
        link = DroneLink.connect("udpin:127.0.0.1:0", signing_key=signing_key, options=options,
                                 target_system=target_system)
        self.links.append(link)
        return link

    def sim(self, link: DroneLink, **overrides) -> SimVehicle:
        cfg = replace(SimConfig(port=link.local_port, home_lat_deg=HOME[0], home_lon_deg=HOME[1],
                                speedup=20.0, boot_s=2.0, seed=7), **overrides)
        sim = SimVehicle(cfg).start()
        self.sims.append(sim)
        return sim

    def close(self) -> None:
        for s in self.sims:
            s.stop()
        for link in self.links:
            link.close()


@pytest.fixture
def rig():
    r = Rig()
    yield r
    r.close()


SITL_HOME = (37.5665, 126.9780, 38.0, 0.0)


@pytest.fixture
def sitl(tmp_path):
    """A fresh ArduCopter SITL (real autopilot); skips where ../shared/sitl is absent."""
    from tests.drone_link.sitl import Sitl

    s = Sitl(tmp_path / "sitl-run", home=SITL_HOME, speedup=10)
    yield s
    s.stop()
