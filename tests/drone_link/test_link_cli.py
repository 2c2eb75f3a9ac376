"""``disaster-ops sim-drone`` and ``disaster-ops fly`` as separate processes over UDP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from sqlmodel import Session, select

from drone_link.files import write_plan

from ..conftest import run_cli
from .conftest import fence_items, square_mission


def _free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_fly_uploads_verifies_flies_and_records(tmp_path, data_dir, engine):
    from disaster_ops.storage.models import Drone, DroneState
    from disaster_ops.storage.models import Mission as MissionRow

    plan = tmp_path / "m.plan"
    mission = square_mission(3)
    mission.fence = fence_items()[:4]
    write_plan(mission, plan)
    port = _free_udp_port()
    sim = subprocess.Popen([sys.executable, "-m", "disaster_ops", "sim-drone", "--port", str(port),
                            "--sysid", "3", "--speedup", "30", "--duration-s", "60"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        res = run_cli("fly", "--connect", f"udpin:127.0.0.1:{port}", "--mission", str(plan),
                      "--start", "--json", "--heartbeat-timeout-s", "20", "--follow-timeout-s", "60",
                      timeout_s=120)
    finally:
        sim.terminate()
        sim.wait(10)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["status"] == "completed" and out["verified"] and out["system_id"] == 3
    assert out["reached"] == list(range(len(mission.items)))
    with Session(engine) as s:
        drone = s.exec(select(Drone)).one()
        row = s.exec(select(MissionRow)).one()
        state = s.get(DroneState, drone.id)
    assert drone.name == "drone-3" and drone.system_id == 3
    assert str(getattr(row.status, "value", row.status)) == "completed"
    assert state is not None and state.armed is False and state.link_ok


def test_fly_without_vehicle_fails_with_one_line(tmp_path, data_dir):
    plan = tmp_path / "m.plan"
    write_plan(square_mission(2), plan)
    res = run_cli("fly", "--connect", f"udpin:127.0.0.1:{_free_udp_port()}", "--mission", str(plan),
                  "--heartbeat-timeout-s", "0.5", "--no-record")
    assert res.returncode == 3  # link error (exit codes in docs/drones.md)
    assert res.stderr.strip().splitlines()[-1].startswith("error: no heartbeat")


def test_fly_bad_inputs_exit_2(tmp_path, data_dir):
    plan = tmp_path / "m.plan"
    write_plan(square_mission(2), plan)
    cases = [
        (["--connect", "bogus", "--mission", str(plan)], "--connect"),
        (["--connect", "udpin:127.0.0.1:0", "--mission", str(tmp_path / "none.plan")], "not found"),
        (["--connect", "udpin:127.0.0.1:0", "--mission", str(plan), "--signing-key", "abc"],
         "--signing-key"),
    ]
    for args, needle in cases:
        res = run_cli("fly", *args, "--no-record")
        assert res.returncode == 2, res.stderr
        assert needle in res.stderr
    bad = tmp_path / "bad.plan"
    bad.write_text("{not json")
    res = run_cli("fly", "--connect", "udpin:127.0.0.1:0", "--mission", str(bad), "--no-record")
    assert res.returncode == 2 and "bad.plan" in res.stderr


def test_fly_ctrl_c_sends_rtl(tmp_path, data_dir):
    import os
    import select
    import signal
    import time

    plan = tmp_path / "m.plan"
    write_plan(square_mission(6, step_deg=0.003), plan)
    port = _free_udp_port()
    sim = subprocess.Popen([sys.executable, "-m", "disaster_ops", "sim-drone", "--port", str(port),
                            "--speedup", "10", "--duration-s", "90", "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    fly = subprocess.Popen([sys.executable, "-m", "disaster_ops", "fly", "--connect",
                            f"udpin:127.0.0.1:{port}", "--mission", str(plan), "--start",
                            "--no-record", "--heartbeat-timeout-s", "20"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        seen, end = [], time.monotonic() + 60
        while time.monotonic() < end and not any(line.startswith("AUTO armed") for line in seen):
            ready, _, _ = select.select([fly.stderr], [], [], 1.0)
            if ready:
                line = fly.stderr.readline()
                if not line:
                    break
                seen.append(line)
        assert any(line.startswith("AUTO armed") for line in seen), seen
        fly.send_signal(signal.SIGINT)
        _, err = fly.communicate(timeout=30)
        assert fly.returncode == 130, err
        assert "returning to launch" in err
        sim.send_signal(signal.SIGINT)
        out, _ = sim.communicate(timeout=15)
        state = json.loads(out.strip().splitlines()[-1])
        assert state["mode"] == "RTL"
    finally:
        for proc in (fly, sim):
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


def _storm_vehicle(port: int, stop, seen: list) -> None:
    """A vehicle that answers MISSION_COUNT by re-requesting item 0 forever (and ACKs clears)."""
    from drone_link.link._mav import mavlink2, mavutil

    conn = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=1, source_component=1)
    mav = conn.mav
    last_hb = 0.0
    import time

    while not stop.is_set():
        now = time.monotonic()
        if now - last_hb > 0.2:
            last_hb = now
            mav.send(mavlink2.MAVLink_heartbeat_message(2, 3, 0, 0, 3, 3))
        msg = conn.recv_match(blocking=True, timeout=0.02)
        if msg is None:
            continue
        kind = msg.get_type()
        seen.append(kind)
        if kind in ("MISSION_COUNT", "MISSION_ITEM_INT", "MISSION_ITEM") and msg.mission_type == 0:
            mav.send(mavlink2.MAVLink_mission_request_message(255, 190, 0, 0))
        elif kind == "MISSION_CLEAR_ALL":
            mav.send(mavlink2.MAVLink_mission_ack_message(255, 190, 0, msg.mission_type))
        elif kind == "COMMAND_LONG":
            mav.send(mavlink2.MAVLink_command_ack_message(msg.command, 3, 0, 0, 255, 190))
    conn.close()


def test_fly_cuts_off_a_rerequest_storm_clears_the_vehicle_and_fails_the_row(tmp_path, data_dir, engine):
    import threading

    from disaster_ops.storage.models import Mission as MissionRow

    plan = tmp_path / "m.plan"
    write_plan(square_mission(3), plan)
    port = _free_udp_port()
    stop, seen = threading.Event(), []
    th = threading.Thread(target=_storm_vehicle, args=(port, stop, seen), daemon=True)
    fly = subprocess.Popen([sys.executable, "-m", "disaster_ops", "fly", "--connect", f"udpin:127.0.0.1:{port}",
                            "--mission", str(plan)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    th.start()
    try:
        _, err = fly.communicate(timeout=90)
    finally:
        stop.set()
        th.join(timeout=5)
        if fly.poll() is None:
            fly.kill()
    assert fly.returncode == 3, err[-2000:]
    assert "re-request storm: item 0" in err.strip().splitlines()[-1]
    assert seen.count("MISSION_ITEM_INT") < 100  # cut off, not answered forever
    assert "MISSION_CLEAR_ALL" in seen  # the half-written mission is cleared
    with Session(engine) as s:
        rows = list(s.exec(select(MissionRow)))
    assert [str(getattr(r.status, "value", r.status)) for r in rows] == ["failed"]
