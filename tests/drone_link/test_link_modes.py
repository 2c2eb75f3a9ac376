"""Mode mappings (ArduPilot Copter / PX4), connection strings and telemetry parsing."""

from __future__ import annotations

import pytest

from drone_link.errors import ConnectionStringError
from drone_link.link._mav import mavlink2, parse_signing_key
from drone_link.link.commands import mode_name, mode_number, set_mode_params
from drone_link.link.connection import Transport, parse_connection
from drone_link.link.telemetry import TelemetryTracker

APM, PX4 = 3, 12


@pytest.mark.parametrize("autopilot,name,number", [
    (APM, "STABILIZE", 0), (APM, "AUTO", 3), (APM, "GUIDED", 4), (APM, "LOITER", 5),
    (APM, "RTL", 6), (APM, "LAND", 9), (APM, "BRAKE", 17), (APM, "SMART_RTL", 21),
    (PX4, "AUTO.MISSION", (4 << 16) | (4 << 24)), (PX4, "AUTO.RTL", (4 << 16) | (5 << 24)),
    (PX4, "AUTO.LOITER", (4 << 16) | (3 << 24)), (PX4, "POSCTL", 3 << 16),
])
def test_mode_round_trip(autopilot, name, number):
    assert mode_number(autopilot, name) == number
    assert mode_name(autopilot, number) == name


def test_set_mode_params_per_autopilot():
    assert set_mode_params(APM, "guided") == (1.0, 4.0, 0.0)
    assert set_mode_params(PX4, "AUTO.MISSION") == (1.0, 4.0, 4.0)


@pytest.mark.parametrize("autopilot,name", [(APM, "MISSION"), (PX4, "GUIDED")])
def test_unknown_mode_is_a_clear_error(autopilot, name):
    with pytest.raises(ValueError, match="unknown"):
        mode_number(autopilot, name)


@pytest.mark.parametrize("text,transport,host,port", [
    ("udp:127.0.0.1:14550", Transport.UDP_IN, "127.0.0.1", 14550),
    ("udpin:0.0.0.0:14550", Transport.UDP_IN, "0.0.0.0", 14550),
    ("udpout:192.168.1.10:14550", Transport.UDP_OUT, "192.168.1.10", 14550),
    ("tcp:127.0.0.1:5760", Transport.TCP, "127.0.0.1", 5760),
])
def test_parse_network_connection(text, transport, host, port):
    spec = parse_connection(text)
    assert (spec.transport, spec.host, spec.port) == (transport, host, port)


@pytest.mark.parametrize("text,device,baud", [("/dev/ttyUSB0", "/dev/ttyUSB0", 57600),
                                              ("/dev/ttyACM0:115200", "/dev/ttyACM0", 115200),
                                              ("serial:/dev/ttyAMA0:921600", "/dev/ttyAMA0", 921600),
                                              ("COM3:57600", "COM3", 57600)])
def test_parse_serial_connection(text, device, baud):
    spec = parse_connection(text)
    assert (spec.transport, spec.device, spec.baud) == (Transport.SERIAL, device, baud)


@pytest.mark.parametrize("text,reason", [("", "empty"), ("http://x", "unknown form"),
                                         ("udp:127.0.0.1", "HOST:PORT"), ("tcp:h:0", "out of range"),
                                         ("udpout:h:70000", "out of range"), ("udp:h:x", "not a number"),
                                         ("/dev/ttyUSB0:fast", "baud")])
def test_bad_connection_strings(text, reason):
    with pytest.raises(ConnectionStringError, match=reason):
        parse_connection(text)


@pytest.mark.parametrize("text,ok", [("00" * 32, True), ("ab" * 31, False), ("zz" * 32, False)])
def test_signing_key_parsing(text, ok):
    if ok:
        assert parse_signing_key(text) == bytes(32)
    else:
        with pytest.raises(ValueError, match="signing key"):
            parse_signing_key(text)


def test_telemetry_tracker_folds_messages():
    mav = mavlink2.MAVLink(None, srcSystem=3, srcComponent=1)

    def m(msg):
        return mav.parse_buffer(msg.pack(mav))[0]

    tr = TelemetryTracker(system_id=3)
    tr.update(m(mavlink2.MAVLink_heartbeat_message(2, 3, 1 | 128, 4, 4, 3)), 10.0)
    tr.update(m(mavlink2.MAVLink_global_position_int_message(0, 375665000, 1269780000, 58000, 20000,
                                                             300, 400, -100, 9000)), 10.1)
    tr.update(m(mavlink2.MAVLink_sys_status_message(0x10000000, 0x10000000, 0x10000000, 0, 15800,
                                                    1200, 77, 0, 0, 0, 0, 0, 0)), 10.2)
    tr.update(m(mavlink2.MAVLink_mission_item_reached_message(2)), 10.3)
    tr.update(m(mavlink2.MAVLink_mission_item_reached_message(2)), 10.4)
    tr.update(m(mavlink2.MAVLink_statustext_message(2, b"PreArm: Need 3D Fix")), 10.5)
    other = mavlink2.MAVLink(None, srcSystem=4, srcComponent=1)
    assert not tr.update(other.parse_buffer(mavlink2.MAVLink_heartbeat_message(2, 3, 0, 6, 4, 3).pack(other))[0], 11)
    t = tr.snapshot()
    assert (t.mode, t.armed, t.system_id) == ("GUIDED", True, 3)
    assert t.lat_deg == pytest.approx(37.5665) and t.alt_rel_m == pytest.approx(20.0)
    assert t.ground_speed_m_s == pytest.approx(5.0) and t.heading_deg == pytest.approx(90.0)
    assert t.battery_pct == 77 and t.battery_voltage_v == pytest.approx(15.8) and t.prearm_ok
    assert t.reached == (2,) and t.last_status_text == "PreArm: Need 3D Fix"
    assert tr.seconds_since_heartbeat(15.0) == pytest.approx(5.0)


def test_reached_inferred_from_mission_current_when_reached_messages_are_lost():
    mav = mavlink2.MAVLink(None, srcSystem=1, srcComponent=1)

    def m(msg):
        return mav.parse_buffer(msg.pack(mav))[0]

    tr = TelemetryTracker(system_id=1)
    tr.update(m(mavlink2.MAVLink_heartbeat_message(2, 3, 1 | 128, 3, 4, 3)), 1.0)  # armed, AUTO
    tr.update(m(mavlink2.MAVLink_mission_current_message(1, 6, 3, 0)), 1.1)
    tr.update(m(mavlink2.MAVLink_mission_item_reached_message(1)), 1.2)
    tr.update(m(mavlink2.MAVLink_mission_current_message(4, 6, 3, 0)), 1.3)  # REACHED 2, 3 lost
    tr.update(m(mavlink2.MAVLink_mission_item_reached_message(3)), 1.4)  # late duplicate
    tr.update(m(mavlink2.MAVLink_mission_current_message(5, 6, 5, 0)), 1.5)
    t = tr.snapshot()
    assert t.reached == (1, 2, 3, 4) and t.mission_state == 5
