"""The link against the simulated vehicle over real UDP sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest

from drone_link.errors import CommandRejected, HeartbeatTimeout, MissionTransferError
from drone_link.link import DroneLink, FrameStyle, LinkOptions, Result, Step
from drone_link.link._mav import mavlink2
from drone_link.link.commands import CommandResult
from drone_link.mission import Frame, Mission, MissionType

from .conftest import fence_items, rally_items, square_mission

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
FAST_RETRY = LinkOptions(item_timeout_s=0.15, item_retries=20, command_timeout_s=0.3)


def test_mission_fence_rally_read_back_equal(rig):
    link = rig.link()
    sim = rig.sim(link)
    link.wait_heartbeat(timeout_s=5)
    mission = square_mission(6)
    mission.fence, mission.rally = fence_items(), rally_items()
    seen = []
    reports = link.upload_mission(mission, progress=lambda d, n: seen.append((d, n)))
    assert [r.mission_type for r in reports] == list(MissionType)
    total = len(mission.items) + len(mission.fence) + len(mission.rally)
    assert seen[-1] == (total, total) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    back = link.download_mission()
    for mtype in MissionType:
        sent, got = mission.items_of(mtype), back.items_of(mtype)
        assert len(sent) == len(got)
        assert all(a.same_as(b) for a, b in zip(sent, got)), mtype
    # ArduPilot convention: item 0 on the vehicle is home, not a plan item
    assert len(sim.missions.lists[MissionType.MISSION]) == len(mission.items) + 1
    assert back.home_lat_deg == pytest.approx(37.5665)


def test_clear_fence_and_empty_lists(rig):
    link = rig.link()
    rig.sim(link)
    link.wait_heartbeat(timeout_s=5)
    link.upload(fence_items(), mission_type=MissionType.FENCE)
    assert len(link.download(MissionType.FENCE)) == 5
    link.clear(MissionType.FENCE)
    assert link.download(MissionType.FENCE) == []


def test_upload_completes_with_20_percent_loss(rig):
    link = rig.link(options=FAST_RETRY)
    sim = rig.sim(link, loss=0.2, request_timeout_s=0.1)
    link.wait_heartbeat(timeout_s=5)
    mission = square_mission(20)
    mission.fence = fence_items()
    link.upload_mission(mission)  # verify=True: downloaded and compared under loss too
    stats = sim.transport.stats
    assert stats.dropped_in > 0 and stats.dropped_out > 0
    assert sim.missions.stats.rerequests > 0


def test_no_vehicle_gives_heartbeat_timeout():
    with DroneLink.connect("udpin:127.0.0.1:0") as link:
        t0 = time.monotonic()
        with pytest.raises(HeartbeatTimeout, match="no heartbeat"):
            link.wait_heartbeat(timeout_s=0.5)
        assert time.monotonic() - t0 < 3


def test_vehicle_that_never_answers_mission_protocol_times_out():
    """A vehicle that heartbeats but ignores everything else: clear TIMEOUT at SEND_COUNT."""
    opts = LinkOptions(item_timeout_s=0.1, item_retries=3, command_timeout_s=0.2)
    with DroneLink.connect("udpin:127.0.0.1:0", options=opts) as link:
        mute = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mav = mavlink2.MAVLink(None, srcSystem=9, srcComponent=1)
        try:
            mute.sendto(mavlink2.MAVLink_heartbeat_message(2, 3, 1, 0, 3, 3).pack(mav),
                        ("127.0.0.1", link.local_port))
            link.wait_heartbeat(timeout_s=2)
            with pytest.raises(MissionTransferError) as err:
                link.upload(square_mission(2).items)
            assert err.value.result is Result.TIMEOUT and err.value.step is Step.SEND_COUNT
            assert "timeout" in str(err.value)
            with pytest.raises(CommandRejected) as cerr:
                link.command(400, 1.0, what="arm")
            assert cerr.value.result is CommandResult.TIMEOUT
        finally:
            mute.close()


def test_signed_link_works_with_the_same_key(rig):
    link = rig.link(signing_key=KEY_A)
    sim = rig.sim(link, signing_key=KEY_A)
    link.wait_heartbeat(timeout_s=5)
    link.upload_mission(square_mission(3))
    assert link.rejected_count == 0 and sim.transport.stats.rejected_signature == 0
    assert link.conn.mav.signing.goodsig_count > 0


def test_wrong_signature_is_rejected_both_ways(rig):
    link = rig.link(signing_key=KEY_B)
    sim = rig.sim(link, signing_key=KEY_A)
    with pytest.raises(HeartbeatTimeout, match="bad signature"):
        link.wait_heartbeat(timeout_s=1.5)
    assert link.rejected_count > 0
    assert sim.transport.stats.rejected_signature > 0  # our heartbeats, signed with KEY_B
    assert sim.transport.stats.received == 0


def test_unsigned_gcs_is_ignored_by_a_signing_vehicle(rig):
    link = rig.link(options=LinkOptions(item_timeout_s=0.1, item_retries=3))
    sim = rig.sim(link, signing_key=KEY_A)
    link.wait_heartbeat(timeout_s=5)  # an unsigned GCS still reads signed telemetry
    with pytest.raises(MissionTransferError) as err:
        link.upload(square_mission(2).items)
    assert err.value.result is Result.TIMEOUT
    assert sim.transport.stats.rejected_signature > 0


def test_signing_gcs_rejects_unsigned_vehicle(rig):
    link = rig.link(signing_key=KEY_A)
    rig.sim(link)
    with pytest.raises(HeartbeatTimeout):
        link.wait_heartbeat(timeout_s=1.0)
    assert link.rejected_count > 0


def test_legacy_vehicle_mission_request_and_int_frame_fallback(rig):
    link = rig.link()
    sim = rig.sim(link, legacy=True)
    link.wait_heartbeat(timeout_s=5)
    mission = square_mission(4, frame=Frame.GLOBAL_RELATIVE_ALT_INT)
    report = link.upload_mission(mission)[0]
    assert report.legacy_requests > 0  # vehicle asked with MISSION_REQUEST
    assert report.frames is FrameStyle.FLOAT_FAMILY  # after UNSUPPORTED_FRAME, retried
    assert sim.missions.stats.uploads_failed == 1
    stored = sim.missions.lists[MissionType.MISSION][1:]
    # Positioned items keep the float twin; DO_ items come back frame 0 as on ArduCopter 3.6.
    assert {int(i.frame) for i in stored} <= {Frame.GLOBAL_RELATIVE_ALT, Frame.GLOBAL}


def test_legacy_float_mission_item_messages(rig):
    link = rig.link()
    rig.sim(link, legacy=True)
    link.wait_heartbeat(timeout_s=5)
    mission = square_mission(3)
    link.upload_mission(mission, legacy_items=True)  # MISSION_ITEM / MISSION_REQUEST both ways


def test_two_vehicles_on_one_port_are_told_apart_by_system_id(rig):
    link = rig.link(target_system=2)
    one = rig.sim(link, sysid=1)
    two = rig.sim(link, sysid=2)
    t = link.wait_heartbeat(timeout_s=5)
    assert t.system_id == 2
    link.upload_mission(square_mission(2))
    assert len(two.missions.lists[MissionType.MISSION]) == len(square_mission(2).items) + 1
    assert one.missions.lists[MissionType.MISSION] == []
    assert link.counters.other_system > 0


def test_link_loss_detected_when_heartbeats_stop(rig):
    link = rig.link(options=LinkOptions(link_loss_s=0.5))
    sim = rig.sim(link)
    link.wait_heartbeat(timeout_s=5)
    assert link.link_ok()
    sim.stop()
    link.pump(1.2)
    assert not link.link_ok()


def test_empty_mission_upload_and_no_space(rig):
    link = rig.link()
    rig.sim(link, max_items=5)
    link.wait_heartbeat(timeout_s=5)
    link.upload([], mission_type=MissionType.RALLY)
    with pytest.raises(MissionTransferError) as err:
        link.upload_mission(Mission(items=square_mission(6).items))
    assert err.value.result is Result.NO_SPACE


def test_upload_waits_for_the_vehicle_to_finish_booting(rig):
    # ArduCopter 3.6 SITL loses a mission written during its init (HEARTBEAT not yet STANDBY);
    # the simulator does the same and the link waits like a ground station should.
    link = rig.link()
    sim = rig.sim(link, init_s=1.0)
    link.wait_heartbeat(timeout_s=5)
    assert link.telemetry.system_status == "BOOT"
    link.upload_mission(square_mission(2))  # verify included
    link.pump(0.5)
    assert len(sim.missions.lists[MissionType.MISSION]) == len(square_mission(2).items) + 1
