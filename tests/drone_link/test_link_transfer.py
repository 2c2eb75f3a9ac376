"""Mission transfer state machines driven by hand: handle() + tick() with a fake clock.

The sender is a list that captures outgoing messages; this is the protocol logic under
test, so the vehicle's answers are written out message by message.
"""

from __future__ import annotations

import pytest

from drone_link.link._mav import mavlink2
from drone_link.link.commands import CommandResult, CommandTransaction
from drone_link.link.transfer import (
    FrameStyle,
    MissionClear,
    MissionDownload,
    MissionUpload,
    Result,
    Step,
    item_to_msg,
)
from drone_link.mission import Cmd, Frame, MissionItem, MissionType

VEH = 7


def _from_vehicle(msg, sysid: int = VEH, compid: int = 1):
    """Give a message built here the source ids a vehicle's message would carry."""
    mav = mavlink2.MAVLink(None, srcSystem=sysid, srcComponent=compid)
    (decoded,) = mav.parse_buffer(msg.pack(mav))
    return decoded


def req(seq, *, legacy=False, mtype=0, sysid=VEH, target=255):
    cls = mavlink2.MAVLink_mission_request_message if legacy else mavlink2.MAVLink_mission_request_int_message
    return _from_vehicle(cls(target, 190, seq, mtype), sysid)


def ack(kind=0, *, mtype=0, sysid=VEH):
    return _from_vehicle(mavlink2.MAVLink_mission_ack_message(255, 190, kind, mtype), sysid)


def items(n: int) -> list[MissionItem]:
    return [MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT_INT, 37.5 + i * 1e-4,
                        127.0 + i * 1e-4, 30.0 + i) for i in range(n)]


@pytest.fixture
def sent():
    return []


def upload(sent, clock, n=3, **kw):
    tx = MissionUpload(items(n), send=sent.append, clock=clock, target_system=VEH,
                       timeout_s=0.5, retries=2, **kw)
    tx.start()
    return tx


def test_upload_happy_path_answers_each_request_and_ends_on_ack(sent, fake_clock):
    progress = []
    tx = upload(sent, fake_clock, progress=lambda d, n: progress.append((d, n)))
    assert sent[-1].get_type() == "MISSION_COUNT" and sent[-1].count == 3
    for seq in range(3):
        assert tx.handle(req(seq))
        assert sent[-1].get_type() == "MISSION_ITEM_INT" and sent[-1].seq == seq
    assert tx.step is Step.SEND_ITEMS and not tx.done
    tx.handle(ack(0))
    assert tx.result is Result.SUCCESS and tx.step is Step.DONE
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)


def test_upload_answers_legacy_request_with_item_int_and_legacy_items_with_float(sent, fake_clock):
    tx = upload(sent, fake_clock)
    tx.handle(req(0, legacy=True))
    assert sent[-1].get_type() == "MISSION_ITEM_INT" and tx.legacy_requests_seen == 1
    tx2 = upload(sent, fake_clock, legacy_items=True)
    tx2.handle(req(0))
    assert sent[-1].get_type() == "MISSION_ITEM"
    assert sent[-1].x == pytest.approx(37.5)


def test_upload_repeated_and_out_of_order_requests_are_answered(sent, fake_clock):
    tx = upload(sent, fake_clock, n=4)
    for seq in (0, 0, 2, 1, 1, 3):
        tx.handle(req(seq))
        assert sent[-1].seq == seq
    tx.handle(ack(0))
    assert tx.result is Result.SUCCESS


def test_upload_ignores_other_vehicle_other_target_and_other_list(sent, fake_clock):
    tx = upload(sent, fake_clock)
    n = len(sent)
    assert not tx.handle(req(0, sysid=VEH + 1))
    assert not tx.handle(req(0, target=254))
    assert not tx.handle(req(0, mtype=1))
    assert not tx.handle(ack(0, mtype=2))
    assert len(sent) == n and tx.step is Step.SEND_COUNT


def test_upload_timeout_resends_count_then_gives_up(sent, fake_clock):
    tx = upload(sent, fake_clock)
    tx.tick(fake_clock.advance(0.4))
    assert len(sent) == 1
    tx.tick(fake_clock.advance(0.2))
    tx.tick(fake_clock.advance(0.6))
    assert [m.get_type() for m in sent] == ["MISSION_COUNT"] * 3
    tx.tick(fake_clock.advance(0.6))
    assert tx.result is Result.TIMEOUT and tx.step is Step.SEND_COUNT


def test_upload_retry_counter_resets_on_progress(sent, fake_clock):
    tx = upload(sent, fake_clock, n=3)
    tx.handle(req(0))
    tx.tick(fake_clock.advance(0.6))
    tx.tick(fake_clock.advance(0.6))
    assert tx.retries_done == 2 and sent[-1].seq == 0  # last item resent
    tx.handle(req(1))
    assert tx.retries_done == 0
    tx.tick(fake_clock.advance(0.6))
    assert not tx.done


@pytest.mark.parametrize("ack_type,result", [(2, Result.UNSUPPORTED_FRAME), (4, Result.NO_SPACE),
                                             (14, Result.DENIED), (8, Result.INVALID_PARAM),
                                             (1, Result.ERROR)])
# 13 INVALID_SEQUENCE while items flow is ArduPilot's "already have it": ignored
# (test_verify_preflight.py::test_ardupilot_invalid_sequence_ack_for_a_duplicate_is_ignored).
def test_upload_error_ack_maps_to_result(sent, fake_clock, ack_type, result):
    tx = upload(sent, fake_clock)
    tx.handle(req(0))
    tx.handle(ack(ack_type))
    assert tx.result is result


def test_upload_early_accept_is_a_protocol_error_and_bad_seq_cancels(sent, fake_clock):
    tx = upload(sent, fake_clock)
    tx.handle(req(0))
    tx.handle(ack(0))
    assert tx.result is Result.PROTOCOL_ERROR
    tx2 = upload(sent, fake_clock)
    tx2.handle(req(9))
    assert tx2.result is Result.PROTOCOL_ERROR
    assert sent[-1].get_type() == "MISSION_ACK" and sent[-1].type == 15


def test_frame_style_float_family_maps_int_frames():
    it = items(1)[0]
    m = item_to_msg(it, seq=0, target_system=1, target_component=1, mission_type=0,
                    frames=FrameStyle.FLOAT_FAMILY)
    assert m.frame == Frame.GLOBAL_RELATIVE_ALT and m.x == 375000000


def test_empty_upload_succeeds_on_ack(sent, fake_clock):
    tx = upload(sent, fake_clock, n=0)
    tx.handle(ack(0))
    assert tx.result is Result.SUCCESS


def test_download_requests_each_item_and_acks(sent, fake_clock):
    src = items(2)
    tx = MissionDownload(send=sent.append, clock=fake_clock, target_system=VEH,
                         mission_type=MissionType.MISSION, timeout_s=0.5, retries=1)
    tx.start()
    assert sent[-1].get_type() == "MISSION_REQUEST_LIST"
    tx.tick(fake_clock.advance(0.6))
    assert sent[-1].get_type() == "MISSION_REQUEST_LIST" and len(sent) == 2
    tx.handle(_from_vehicle(mavlink2.MAVLink_mission_count_message(255, 190, 2, 0)))
    assert sent[-1].get_type() == "MISSION_REQUEST_INT" and sent[-1].seq == 0
    tx.handle(_from_vehicle(item_to_msg(src[1], seq=1, target_system=255, target_component=190,
                                        mission_type=0)))
    assert tx.items == []  # out of order: ignored
    for seq in (0, 0, 1):
        tx.handle(_from_vehicle(item_to_msg(src[seq], seq=seq, target_system=255,
                                            target_component=190, mission_type=0)))
    assert tx.result is Result.SUCCESS
    assert sent[-1].get_type() == "MISSION_ACK" and sent[-1].type == 0
    assert all(a.same_as(b) for a, b in zip(src, tx.items))


def test_download_times_out_waiting_for_items(sent, fake_clock):
    tx = MissionDownload(send=sent.append, clock=fake_clock, target_system=VEH, timeout_s=0.5,
                         retries=1)
    tx.start()
    tx.handle(_from_vehicle(mavlink2.MAVLink_mission_count_message(255, 190, 3, 0)))
    tx.tick(fake_clock.advance(0.6))
    tx.tick(fake_clock.advance(0.6))
    assert tx.result is Result.TIMEOUT and tx.step is Step.REQUEST_ITEMS


def test_clear_acknowledged_and_denied(sent, fake_clock):
    tx = MissionClear(send=sent.append, clock=fake_clock, target_system=VEH,
                      mission_type=MissionType.FENCE)
    tx.start()
    assert sent[-1].get_type() == "MISSION_CLEAR_ALL" and sent[-1].mission_type == 1
    assert not tx.handle(ack(0, mtype=0))
    tx.handle(ack(14, mtype=1))
    assert tx.result is Result.DENIED


def _cmd_ack(command, result, sysid=VEH):
    return _from_vehicle(mavlink2.MAVLink_command_ack_message(command, result, 0, 0, 255, 190), sysid)


def test_command_retries_with_confirmation_then_times_out(sent, fake_clock):
    tx = CommandTransaction(400, (1.0,), send=sent.append, clock=fake_clock, target_system=VEH,
                            timeout_s=1.0, retries=2)
    tx.start()
    tx.tick(fake_clock.advance(1.1))
    tx.tick(fake_clock.advance(1.1))
    assert [m.confirmation for m in sent] == [0, 1, 2]
    tx.tick(fake_clock.advance(1.1))
    assert tx.result is CommandResult.TIMEOUT


def test_command_in_progress_then_accepted_and_other_acks_ignored(sent, fake_clock):
    tx = CommandTransaction(22, (0, 0, 0, 0, 0, 0, 10), send=sent.append, clock=fake_clock,
                            target_system=VEH, timeout_s=1.0, retries=0)
    tx.start()
    assert not tx.handle(_cmd_ack(400, 0))
    assert not tx.handle(_cmd_ack(22, 0, sysid=VEH + 1))
    tx.handle(_cmd_ack(22, 5))
    tx.tick(fake_clock.advance(3.0))
    assert not tx.done
    tx.handle(_cmd_ack(22, 0))
    assert tx.result is CommandResult.ACCEPTED


def test_command_rejected_result(sent, fake_clock):
    tx = CommandTransaction(400, (1.0,), send=sent.append, clock=fake_clock, target_system=VEH)
    tx.start()
    tx.handle(_cmd_ack(400, 4))
    assert tx.done and tx.result is CommandResult.FAILED
