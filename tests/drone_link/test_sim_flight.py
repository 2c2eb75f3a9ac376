"""Flying the simulated vehicle through the link: waypoints in order, failsafes, commands."""

from __future__ import annotations

import time

import pytest

from drone_link.errors import CommandRejected, SimConfigError
from drone_link.link import LinkOptions
from drone_link.link.commands import CommandResult
from drone_link.sim import SimConfig

from .conftest import square_mission


def _follow(link, *, until, timeout_s: float = 20.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        link.pump(0.1)
        if until(link.telemetry):
            return link.telemetry
    raise AssertionError(f"condition not reached in {timeout_s} s; telemetry {link.telemetry}")


def test_flown_mission_reaches_every_item_in_order_and_lands(rig):
    link = rig.link()
    sim = rig.sim(link, speedup=40.0)
    link.wait_heartbeat(timeout_s=5)
    mission = square_mission(4)
    link.upload_mission(mission)
    link.start_mission()
    assert link.telemetry.mode == "AUTO" and link.telemetry.armed
    _follow(link, until=lambda t: not t.armed, timeout_s=30)
    link.pump(0.3)
    progress = link.progress()
    assert progress.reached == tuple(range(len(mission.items)))
    assert progress.finished
    assert sim.events.reached == list(range(1, len(mission.items) + 1))
    snap = sim.snapshot()
    assert abs(snap["e_m"]) < 3 and abs(snap["n_m"]) < 3 and snap["alt_rel_m"] == 0.0
    assert snap["battery_pct"] < 100.0
    assert sim.speed_m_s == 12.0  # DO_CHANGE_SPEED applied


def test_mission_start_on_the_ground(rig):
    link = rig.link()
    sim = rig.sim(link, speedup=40.0)
    link.wait_heartbeat(timeout_s=5)
    link.upload_mission(square_mission(1))
    link.start_mission(use_mission_start=True)
    _follow(link, until=lambda t: 0 in link.progress().reached, timeout_s=10)
    assert sim.mode.name == "AUTO" and sim.events.reached[0] == 1
    assert link.telemetry.alt_rel_m == pytest.approx(20, abs=1.0)


def test_low_battery_triggers_rtl(rig):
    link = rig.link()
    sim = rig.sim(link, speedup=40.0, battery_pct=30.0, low_battery_pct=25.0,
                  critical_battery_pct=5.0, battery_minutes=6.0)
    link.wait_heartbeat(timeout_s=5)
    link.upload_mission(square_mission(8, step_deg=0.002))
    link.start_mission()
    _follow(link, until=lambda t: t.mode == "RTL", timeout_s=15)
    assert "battery_low" in sim.events.failsafes
    link.pump(0.6)  # battery telemetry comes at 2 Hz
    assert link.telemetry.battery_pct <= 25
    assert any("Battery failsafe" in s.text for s in link.telemetry.status_texts)
    _follow(link, until=lambda t: not t.armed, timeout_s=20)
    assert abs(sim.kin.e_m) < 3 and abs(sim.kin.n_m) < 3


def test_lost_gcs_triggers_rtl(rig):
    link = rig.link()
    sim = rig.sim(link, speedup=20.0, gcs_failsafe_s=0.6)
    link.wait_heartbeat(timeout_s=5)
    link.upload_mission(square_mission(6, step_deg=0.002))
    link.start_mission()
    time.sleep(1.2)  # the GCS goes silent: no heartbeats sent
    t = _follow(link, until=lambda t: t.mode == "RTL", timeout_s=5)
    # What the GCS saw: the failsafe's STATUSTEXT (the CRITICAL heartbeat state may already be
    # cleared by the time a loaded machine reads its backlog: the vehicle lands fast at 20x).
    assert "gcs_lost" in sim.events.failsafes
    assert any("GCS Failsafe" in s.text for s in t.status_texts), t.status_texts


def test_arming_refused_until_ekf_ready_then_commands(rig):
    link = rig.link(options=LinkOptions(command_timeout_s=0.3))
    sim = rig.sim(link, speedup=1.0, boot_s=30.0)
    link.wait_heartbeat(timeout_s=5)
    link.set_mode("GUIDED")
    with pytest.raises(CommandRejected) as err:
        link.arm()
    assert err.value.result is CommandResult.FAILED and "PreArm" in err.value.text
    with pytest.raises(CommandRejected, match="mode AUTO"):
        link.set_mode("AUTO")  # no mission on the vehicle
    with pytest.raises(CommandRejected) as err:
        link.takeoff(10)
    assert err.value.result is CommandResult.FAILED
    assert not link.telemetry.ready_to_arm and not sim.armed


def test_pause_resume_rtl_land(rig):
    link = rig.link()
    sim = rig.sim(link, speedup=20.0)
    link.wait_heartbeat(timeout_s=5)
    link.upload_mission(square_mission(3, step_deg=0.003))
    link.start_mission()
    _follow(link, until=lambda t: (t.ground_speed_m_s or 0) > 3, timeout_s=10)
    link.pause()
    assert link.telemetry.mode == "BRAKE"
    _follow(link, until=lambda t: t.ground_speed_m_s is not None and t.ground_speed_m_s < 0.5,
            timeout_s=10)
    link.resume()
    assert link.telemetry.mode == "AUTO"
    link.rtl()
    assert sim.mode.name == "RTL"
    link.land()
    _follow(link, until=lambda t: not t.armed, timeout_s=20)
    assert sim.events.modes[-2:] == ["RTL", "LAND"]


def test_attitude_and_position_telemetry_while_flying(rig):
    link = rig.link()
    rig.sim(link, speedup=20.0)
    link.wait_heartbeat(timeout_s=5)
    link.upload_mission(square_mission(2, step_deg=0.003))
    link.start_mission()
    t = _follow(link, until=lambda t: (t.ground_speed_m_s or 0) > 8, timeout_s=10)
    assert t.pitch_deg is not None and t.pitch_deg < -5  # nose down when moving forward
    assert t.lat_deg > 37.5665 and t.alt_rel_m == pytest.approx(20, abs=1.5)


@pytest.mark.parametrize("field,value", [("loss", 1.0), ("sysid", 255), ("speedup", 0.0),
                                         ("port", 0), ("signing_key", b"short"),
                                         ("home_lat_deg", 91.0)])
def test_bad_sim_config_names_the_field(field, value):
    with pytest.raises(SimConfigError) as err:
        SimConfig(**{field: value})
    assert err.value.field in (field, "home")


def test_pause_with_do_pause_continue_keeps_auto(rig):
    link = rig.link()
    sim = rig.sim(link, speedup=20.0)
    link.wait_heartbeat(timeout_s=5)
    link.upload_mission(square_mission(2, step_deg=0.003))
    link.start_mission()
    _follow(link, until=lambda t: (t.ground_speed_m_s or 0) > 3, timeout_s=10)
    link.pause(use_command=True)
    t = _follow(link, until=lambda t: t.ground_speed_m_s is not None and t.ground_speed_m_s < 0.3,
                timeout_s=10)
    assert t.mode == "AUTO"
    seq = sim.current_seq
    link.pump(0.5)
    assert sim.current_seq == seq  # holding, not advancing
    link.resume()
    _follow(link, until=lambda t: (t.ground_speed_m_s or 0) > 3, timeout_s=10)


def test_px4_flavour_modes_and_mission_without_home_item(rig):
    link = rig.link()
    sim = rig.sim(link, speedup=40.0, autopilot="px4")
    t = link.wait_heartbeat(timeout_s=5)
    assert t.autopilot == 12 and t.mode == "POSCTL" and link.family == "px4"
    mission = square_mission(2)
    link.upload_mission(mission)
    assert len(sim.missions.lists[0]) == len(mission.items)  # no home item on PX4
    link.start_mission()  # arm + MISSION_START
    _follow(link, until=lambda t: t.mode == "AUTO.MISSION" and 0 in link.progress().reached,
            timeout_s=10)
    link.pause()
    assert link.telemetry.mode == "AUTO.LOITER"
    link.resume()
    assert link.telemetry.mode == "AUTO.MISSION"
    _follow(link, until=lambda t: not t.armed, timeout_s=30)
    link.pump(0.3)
    assert link.progress().reached == tuple(range(len(mission.items)))
    link.set_mode("AUTO.LOITER")
    assert sim.mode_name == "AUTO.LOITER"


def test_upload_and_flight_with_latency(rig):
    link = rig.link()
    sim = rig.sim(link, latency_s=0.03, speedup=40.0)
    link.wait_heartbeat(timeout_s=5)
    mission = square_mission(3)
    link.upload_mission(mission)  # with verify: every request/item pair waits 60 ms round trip
    link.start_mission()
    _follow(link, until=lambda t: not t.armed, timeout_s=30)
    assert sim.events.reached == list(range(1, len(mission.items) + 1))


def test_leaving_the_inclusion_fence_triggers_rtl(rig):
    from drone_link.mission import Cmd, Frame, MissionItem, MissionType

    from .conftest import HOME

    link = rig.link()
    sim = rig.sim(link, speedup=40.0)
    link.wait_heartbeat(timeout_s=5)
    mission = square_mission(4, step_deg=0.001)  # goes ~450 m north
    d = 0.002  # the fence: about 220 m around home
    lat0, lon0 = HOME
    mission.fence = [MissionItem(Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, Frame.GLOBAL, lat0 + a, lon0 + b,
                                 0.0, param1=4, mission_type=MissionType.FENCE)
                     for a, b in [(-d, -d), (-d, d), (d, d), (d, -d)]]
    link.upload_mission(mission)
    assert sim.fence.enabled
    link.start_mission()
    _follow(link, until=lambda t: t.mode == "RTL", timeout_s=15)
    assert sim.events.failsafes == ["fence"]
    assert 0.0015 < link.telemetry.lat_deg - lat0 < 0.0030  # turned back at the fence line
    link.pump(0.2)
    assert any("Fence breach" in st.text for st in link.telemetry.status_texts)
