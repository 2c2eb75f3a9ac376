"""Pose telemetry from the real autopilot: ArduCopter SITL recorded to a ``.tlog`` and read back.

SITL (ArduCopter 3.6, ``../shared/sitl``) runs with ``--gimbal``; what it sends is recorded
by pymavlink exactly as a ground station records a ``.tlog``, then loaded by
``read_tlog`` into a pose track.
"""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from drone_link.telemetry.mavlink_feed import read_tlog
from drone_link.telemetry.pose import Channel, MountMode, PoseTrack
from tests.conftest import REPO

SITL = REPO.parent / "shared" / "sitl"
HOME = (35.1020, 129.0330)
INSTANCE = 31  # ports 5760 + 10 * 31


@pytest.fixture
def sitl(tmp_path):
    binary = SITL / "arducopter-3.6"
    if not binary.exists():
        pytest.skip(f"ArduCopter SITL not present: {binary} (CI has it at ../shared/sitl)")
    run = tmp_path / "sitl"
    run.mkdir()
    proc = subprocess.Popen([str(binary), "-w", "--model", "quad", "--speedup", "5", "-I", str(INSTANCE), "--gimbal",
                             f"--home={HOME[0]},{HOME[1]},30,0", "--defaults", str(SITL / "copter.parm")],
                            cwd=run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield f"tcp:127.0.0.1:{5760 + 10 * INSTANCE}"
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _record(url: str, tlog: Path, seconds: float) -> dict[str, int]:
    from pymavlink import mavutil

    deadline = time.monotonic() + 20
    conn = None
    while conn is None:
        try:
            conn = mavutil.mavlink_connection(url, source_system=255, dialect="ardupilotmega", retries=0)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    conn.setup_logfile(str(tlog), mode="wb")
    conn.wait_heartbeat(timeout=20)
    conn.mav.request_data_stream_send(conn.target_system, conn.target_component, 0, 10, 1)
    # Point the (simulated) gimbal 45° down, as a ground station would.
    conn.mav.command_long_send(conn.target_system, conn.target_component, 205, 0, -45, 0, 0, 0, 0, 0, 2)
    counts: dict[str, int] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        m = conn.recv_match(blocking=True, timeout=0.5)
        if m is not None:
            counts[m.get_type()] = counts.get(m.get_type(), 0) + 1
    conn.close()
    return counts


def test_sitl_telemetry_recorded_to_tlog_gives_the_pose_track(sitl, tmp_path):
    tlog = tmp_path / "flight.tlog"
    counts = _record(sitl, tlog, seconds=8.0)
    assert counts.get("GLOBAL_POSITION_INT", 0) > 10 and counts.get("ATTITUDE", 0) > 10, counts
    track = PoseTrack(mount=MountMode.GIMBAL)
    stats = read_tlog(tlog, track)
    assert stats.positions > 10 and stats.attitudes > 10
    t0, t1 = track.first_s(), track.latest_s()
    assert 5.0 < t1 - t0 < 15.0  # the log's own clock (seconds of the recording)
    lat, lon, alt = track.position_at((t0 + t1) / 2)
    assert lat == pytest.approx(HOME[0], abs=1e-4) and lon == pytest.approx(HOME[1], abs=1e-4)
    assert abs(alt) < 1.0  # on the ground at home
    fix = track.pose_at((t0 + t1) / 2)
    assert fix.pose is None  # on the ground, or without gimbal attitude: never a guessed camera pose
    # What ArduCopter 3.6 SITL's --gimbal gives with its default parameters (MNT_TYPE 0): no
    # MOUNT_STATUS. Frames then stay un-georeferenced in gimbal mode rather than assume nadir.
    if counts.get("MOUNT_STATUS", 0) == 0:
        assert stats.gimbal == 0 and track.count(Channel.GIMBAL) == 0
    else:  # a build that reports the mount: its pitch is what we commanded
        assert stats.gimbal_source in ("MOUNT_STATUS", "MOUNT_ORIENTATION", "GIMBAL_DEVICE_ATTITUDE_STATUS")


# Seed 2 makes pymavlink's .tlog indexer itself raise AttributeError (a CI run hit it with
# os.urandom); the others exercise the ordinary "no position" path. Fixed seeds: reproducible.
@pytest.mark.parametrize("seed", [0, 2, 11, 13, 19])
def test_a_file_that_is_not_a_tlog_is_refused_with_its_name(tmp_path, seed):
    bad = tmp_path / "notes.tlog"
    bad.write_bytes(random.Random(seed).randbytes(4096))
    with pytest.raises(ValueError, match="notes.tlog"):
        read_tlog(bad, PoseTrack())
