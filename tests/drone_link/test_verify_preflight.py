"""Ground-station verify rules, pre-flight checks, the re-request storm cut-off, and the
MAVLink packers under property-based tests (Hypothesis, fixed seed)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from drone_link.errors import MissionValidationError
from drone_link.link._mav import mavlink2
from drone_link.link.legacy_fence import LegacyFenceUnsupported, legacy_fence_plan
from drone_link.link.preflight import FLOAT32_MAX, MAV_CMDS, MAV_FRAMES, check_item, check_mission
from drone_link.link.transfer import MissionUpload, Result, item_to_msg, msg_to_item
from drone_link.link.verify import compare_item, compare_lists, float32
from drone_link.mission import Cmd, Frame, Mission, MissionItem, MissionType
from drone_link.sim.mission_server import normalise_item

from .test_link_transfer import VEH, _from_vehicle, ack, req

NAN = float("nan")
WP = MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT, 37.5665, 126.978, 80.0, param4=NAN)


@pytest.mark.parametrize("family,got,why", [
    ("ardupilot", normalise_item(WP, "ardupilot"), "NaN yaw stored as 0"),
    ("px4", normalise_item(WP, "px4"), "PX4 keeps NaN"),
    ("ardupilot", MissionItem(16, Frame.GLOBAL_RELATIVE_ALT_INT, 37.5665, 126.978, 80.0), "int frame twin"),
    ("ardupilot", MissionItem(16, 3, 37.56650004, 126.97800004, 80.004), "1e-7 deg and cm rounding"),
    ("ardupilot", MissionItem(16, 3, 37.5665, 126.978, 80.0, param2=0.0, param3=0.0), "radii dropped"),
])
def test_what_an_autopilot_may_normalise_is_accepted(family, got, why):
    assert compare_item(WP, got, index=3, family=family) == [], why


@pytest.mark.parametrize("family,got,field", [
    ("ardupilot", MissionItem(16, 3, 37.5666, 126.978, 80.0), "lat_deg"),
    ("ardupilot", MissionItem(16, 3, 37.5665, 126.978, 81.0), "alt_m"),
    ("ardupilot", MissionItem(16, 0, 37.5665, 126.978, 80.0), "frame"),  # AMSL vs relative
    ("ardupilot", MissionItem(16, 3, 37.5665, 126.978, 80.0, param1=5.0), "param1"),  # hold time kept
    ("px4", MissionItem(16, 3, 37.5665, 126.978, 80.0, param4=90.0), "param4"),
    ("ardupilot", MissionItem(22, 3, 37.5665, 126.978, 80.0), "command"),
])
def test_real_differences_name_item_and_field(family, got, field):
    diffs = compare_item(WP, got, index=3, family=family)
    assert [d.field for d in diffs][:1] == [field]
    assert f"item 3 field {field}" in str(diffs[0])


def test_per_command_rules_do_items_frame_and_px4_yaw_wrap():
    speed = MissionItem(Cmd.DO_CHANGE_SPEED, Frame.MISSION, param1=1, param2=12.3, param3=-1)
    stored = normalise_item(speed, "ardupilot")  # frame 0 as ArduCopter 3.6 answers
    assert stored.frame == 0 and compare_item(speed, stored, index=1) == []
    assert compare_item(speed, MissionItem(178, 2, param1=1, param2=12.0, param3=-1), index=1)[0].field == "param2"
    wp = MissionItem(16, 3, 37.5, 127.0, 50.0, param4=-90.0)
    assert compare_item(wp, normalise_item(wp, "px4"), index=0, family="px4") == []  # -90 -> 270
    assert compare_lists([wp], [], mission_type=MissionType.MISSION)[0].field == "count"


@pytest.mark.parametrize("item,field", [
    (MissionItem(70000, 3, 37.5, 127.0, 10.0), "command"),
    (MissionItem(16, 99, 37.5, 127.0, 10.0), "frame"),
    (MissionItem(16, 3, 37.5, 127.0, 10.0, param1=1e39), "param1"),
    (MissionItem(16, 3, 37.5, 127.0, 10.0, param2=math.inf), "param2"),
    (MissionItem(16, 3, 37.5, 127.0, math.nan), "alt_m"),
    (MissionItem(16, 3, 91.0, 127.0, 10.0), "lat_deg"),
    (MissionItem(16, 3, 37.5, -181.0, 10.0), "lon_deg"),
    (MissionItem(16, 3, 37.5, 1e30, 10.0), "lon_deg"),
])
def test_preflight_refuses_what_cannot_be_packed_or_flown(item, field):
    with pytest.raises(MissionValidationError) as exc:
        check_mission(Mission(items=[MissionItem(22, 3, 0, 0, 10.0), item]))
    assert exc.value.field == field and exc.value.index == 1 and exc.value.list_name == "mission"


def test_preflight_checks_list_membership_and_home():
    with pytest.raises(MissionValidationError, match="fence item 0 field command"):
        check_item(MissionItem(16, 0, 37.5, 127.0, mission_type=MissionType.FENCE), index=0,
                   mission_type=MissionType.FENCE)
    with pytest.raises(MissionValidationError, match="home_alt_amsl_m"):
        check_mission(Mission(items=[WP], home_lat_deg=37.0, home_lon_deg=127.0, home_alt_amsl_m=math.inf))


def test_rerequest_storm_is_cut_off_with_a_named_error(fake_clock):
    sent: list = []
    tx = MissionUpload([WP, WP], send=sent.append, clock=fake_clock, target_system=VEH,
                       timeout_s=0.5, retries=3, max_rerequests=20)
    tx.start()
    for _ in range(500):
        if tx.done:
            break
        tx.handle(req(0, legacy=True))
    assert tx.result is Result.REQUEST_STORM and "re-request storm: item 0" in tx.detail
    assert len(sent) <= 24  # COUNT, item 0, 21 repeats, the cancelling ACK: not 500
    assert sent[-1].get_type() == "MISSION_ACK" and sent[-1].type == 15  # OPERATION_CANCELLED


def test_ardupilot_invalid_sequence_ack_for_a_duplicate_is_ignored(fake_clock):
    sent: list = []
    tx = MissionUpload([WP, WP], send=sent.append, clock=fake_clock, target_system=VEH)
    tx.start()
    tx.handle(req(0, legacy=True))
    tx.handle(ack(13))  # the vehicle had item 0 already
    assert not tx.done
    tx.handle(req(1, legacy=True))
    tx.handle(ack(0))
    assert tx.result is Result.SUCCESS and tx.invalid_sequence_acks == 1


def test_legacy_fence_mapping_refuses_what_the_fence_point_protocol_lacks():
    poly = [MissionItem(5001, 0, 37.5 + a, 127.0 + b, param1=3, mission_type=MissionType.FENCE)
            for a, b in ((0, 0), (0.001, 0), (0, 0.001))]
    f = legacy_fence_plan(poly)
    assert len(f.points()) == 5 and f.points()[1] == f.points()[-1]
    with pytest.raises(LegacyFenceUnsupported, match="fence item 3: .*exclusion"):
        legacy_fence_plan(poly + [MissionItem(5004, 0, 37.5, 127.0, param1=20, mission_type=MissionType.FENCE)])
    with pytest.raises(LegacyFenceUnsupported, match="second inclusion polygon"):
        legacy_fence_plan(poly + poly)


# -- property-based: the packers never crash on what preflight accepts, and round-trip --
_lat = st.floats(-90, 90, allow_nan=False)
_lon = st.floats(-180, 180, allow_nan=False)
_f32 = st.one_of(st.just(NAN), st.floats(-FLOAT32_MAX, FLOAT32_MAX, allow_nan=False, width=32))
_items = st.builds(
    MissionItem, command=st.sampled_from(sorted(MAV_CMDS)), frame=st.sampled_from(sorted(MAV_FRAMES)),
    lat_deg=_lat, lon_deg=_lon, alt_m=st.floats(-1e6, 1e6, allow_nan=False, width=32),
    param1=_f32, param2=_f32, param3=_f32, param4=_f32, autocontinue=st.booleans())
_any = st.one_of(st.integers(-2**40, 2**40), st.floats(allow_nan=True, allow_infinity=True))


@seed(20261128)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=_items, seq=st.integers(0, 65535), legacy=st.booleans())
def test_packer_round_trips_every_valid_item(item, seq, legacy):
    check_item(item, index=0, mission_type=MissionType.MISSION)
    msg = item_to_msg(item, seq=seq, target_system=1, target_component=1, mission_type=0, legacy=legacy)
    mav = mavlink2.MAVLink(None, srcSystem=1, srcComponent=1)
    (back,) = mav.parse_buffer(msg.pack(mav))
    got = msg_to_item(back)
    assert got.command == item.command and got.frame == item.frame and back.seq == seq
    for a, b in zip(item.params, got.params):
        assert (math.isnan(a) and math.isnan(b)) or b == float32(a)
    assert abs(got.lat_deg - item.lat_deg) <= (2e-5 if legacy else 1e-7)


@seed(20261128)
@settings(max_examples=300, deadline=None)
@given(command=_any, frame=_any, lat=_any, lon=_any, alt=_any, p1=_any)
def test_preflight_either_refuses_cleanly_or_the_packer_accepts(command, frame, lat, lon, alt, p1):
    item = MissionItem(command=command, frame=frame, lat_deg=lat, lon_deg=lon, alt_m=alt, param1=p1)
    try:
        check_item(item, index=0, mission_type=MissionType.MISSION)
    except MissionValidationError as exc:
        assert exc.field in {"command", "frame", "lat_deg", "lon_deg", "alt_m", "param1"}
        return
    msg = item_to_msg(item, seq=0, target_system=1, target_component=1, mission_type=0)
    msg.pack(mavlink2.MAVLink(None, srcSystem=1, srcComponent=1))  # no struct.error / OverflowError


def test_from_vehicle_helper_is_shared():  # keeps the import used and the helper honest
    assert _from_vehicle(mavlink2.MAVLink_mission_ack_message(255, 190, 0, 0)).get_srcSystem() == VEH
