"""PTZ direction read from a camera nobody here wrote: the ipycam virtual ONVIF camera.

`ipycam` (PyPI, MIT, by Oliver Hamilton; installed by `make test` without its dependencies,
which would pull a second OpenCV) is a third-party virtual IP camera with ONVIF device, media
and PTZ services. Its SOAP handler, PTZ controller (position, continuous-move loop) and
WS-Security check run unchanged; the test serves them on 127.0.0.1 with its own HTTP
handler, leaving out its video pipeline and WS-Discovery (multicast on UDP 3702), which the
PTZ reading does not use.

What it taught: its GetProfiles reply puts elements out of schema order (zeep strict
mode refused it), its PTZ replies use a `ptz:` prefix the envelope never declares (not
namespace-well-formed XML), and its GetStatus sends template placeholders for MoveStatus and
UtcTime. The client now reads replies leniently, and when a camera does not say whether it
moves it reads twice and uses the position only if it held.
"""

from __future__ import annotations

import socketserver
import threading
import time

import pytest
import zeep
from ipycam.camera import IPCamera
from ipycam.config import CameraConfig
from ipycam.http import IPCameraHTTPHandler

from disaster_ops.capture import onvif_ptz
from disaster_ops.capture.onvif_ptz import OnvifPtzClient, PtzError, PtzSettings, parse_status_reply

PTZ_BINDING = onvif_ptz.PTZ_BINDING


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class VirtualCamera:
    """One ipycam camera's ONVIF services on 127.0.0.1 (an OS-chosen port)."""

    def __init__(self, username: str = "", password: str = ""):
        self.cam = IPCamera(CameraConfig(local_ip="127.0.0.1", username=username, password=password))
        handler = type("Handler", (IPCameraHTTPHandler,), {"camera": self.cam})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def ptz_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/ptz_service"

    @property
    def media_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/media_service"

    def onvif_ptz(self):
        """An ONVIF PTZ service proxy, as the operator's video management software would use."""
        client = zeep.Client(str(onvif_ptz._wsdl_dir() / "ptz.wsdl"), settings=zeep.Settings(strict=False))
        return client.create_service(PTZ_BINDING, self.ptz_url)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.cam.ptz.stop()


@pytest.fixture
def camera():
    c = VirtualCamera()
    yield c
    c.close()


def _settings(camera: VirtualCamera, **kw) -> PtzSettings:
    return PtzSettings(ptz_url=camera.ptz_url, media_url=camera.media_url, pan_zero_heading_deg=30.0, **kw)


def _absolute_move(camera: VirtualCamera, x: float, y: float) -> None:
    """An ONVIF AbsoluteMove in the generic space, sent over SOAP to the camera."""
    camera.onvif_ptz().AbsoluteMove(ProfileToken="Profile_Main", Position={"PanTilt": {"x": x, "y": y}})


def test_reads_where_the_camera_looks_after_an_onvif_move(camera):
    _absolute_move(camera, 0.25, -0.5)
    client = OnvifPtzClient(_settings(camera))
    assert client.profile_token() == "Profile_Main"  # found over Media GetProfiles
    reading = client.status()
    assert (reading.pan, reading.tilt, reading.zoom) == (0.25, -0.5, 0.0)
    assert reading.moving is None  # ipycam 1.3.0 sends its template placeholder for MoveStatus
    d = client.direction()
    # generic x 0.25 -> +45° pan from the zero at 30°; y -0.5 -> 67.5° below the horizon
    assert d.heading_deg == pytest.approx(75.0) and d.tilt_deg == pytest.approx(67.5)
    _absolute_move(camera, -1.0, 1.0)
    d = client.direction()
    assert d.heading_deg == pytest.approx(210.0) and d.tilt_deg == pytest.approx(0.0)


def test_a_camera_that_does_not_say_it_moves_is_caught_moving(camera):
    """ipycam never states MoveStatus: during an ONVIF ContinuousMove the two readings differ,
    so no direction is given (the detection stays at the pole); after Stop it is back."""
    ptz = camera.onvif_ptz()
    client = OnvifPtzClient(_settings(camera, settle_s=0.2))
    assert client.direction() is not None
    ptz.ContinuousMove(ProfileToken="Profile_Main", Velocity={"PanTilt": {"x": 0.2, "y": 0.0}})
    try:
        time.sleep(0.1)
        assert client.direction() is None
    finally:
        ptz.Stop(ProfileToken="Profile_Main", PanTilt=True, Zoom=True)
    time.sleep(0.1)
    assert client.direction() is not None
    # settle_s 0 trusts one reading, even while the camera moves (documented trade-off)
    ptz.ContinuousMove(ProfileToken="Profile_Main", Velocity={"PanTilt": {"x": 0.2, "y": 0.0}})
    try:
        assert OnvifPtzClient(_settings(camera, settle_s=0.0)).direction() is not None
    finally:
        ptz.Stop(ProfileToken="Profile_Main", PanTilt=True, Zoom=True)


def test_ws_security_digest_is_accepted_and_a_wrong_password_refused(monkeypatch):
    camera = VirtualCamera(username="operator", password="pw-ipycam-1")
    try:
        _absolute_move_auth = camera.cam.ptz.absolute_move  # the move itself is not what is tested here
        _absolute_move_auth(0.5, -1.0)
        monkeypatch.setenv("PTZ_IPYCAM_PASSWORD", "pw-ipycam-1")
        good = _settings(camera, username="operator", password_env="PTZ_IPYCAM_PASSWORD", profile_token="Profile_Main")
        assert OnvifPtzClient(good).direction().heading_deg == pytest.approx(120.0)
        monkeypatch.setenv("PTZ_IPYCAM_PASSWORD", "wrong")
        bad = OnvifPtzClient(good.model_copy(update={"settle_s": 0.0}))
        with pytest.raises(PtzError, match=r"GetStatus failed \(HTTP 401, SOAP fault: .*not authorized"):
            bad.status()
        assert bad.direction() is None  # logged; the detection stays at the pole
    finally:
        camera.close()


# -- hostile or broken replies (the parser alone) ---------------------------------------------

STATUS = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tt="http://www.onvif.org/ver10/schema">'
          b'<s:Body><tptz:GetStatusResponse xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"><tptz:PTZStatus>'
          b'<tt:Position><tt:PanTilt x="%s" y="0.1"/></tt:Position><tt:MoveStatus><tt:PanTilt>%s</tt:PanTilt>'
          b'</tt:MoveStatus><tt:UtcTime>2026-11-29T03:00:00Z</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>'
          b'</s:Body></s:Envelope>')


def test_status_replies_are_read_by_name_and_checked():
    r = parse_status_reply(STATUS % (b"0.3", b"IDLE"))
    assert (r.pan, r.tilt, r.moving, r.space) == (0.3, 0.1, False, None) and r.utc_time.year == 2026
    assert parse_status_reply(STATUS % (b"0.3", b"MOVING")).moving is True
    assert parse_status_reply(STATUS % (b"0.3", b"{{pan_tilt_status}}")).moving is None
    for bad in (b"nan", b"inf", b"east", b""):
        with pytest.raises(PtzError, match="pan is not"):
            parse_status_reply(STATUS % (bad, b"IDLE"))
    with pytest.raises(PtzError, match="not XML|no PTZStatus"):
        parse_status_reply(b"\x00\xff garbage")
    with pytest.raises(PtzError, match="SOAP fault: .*ter:NotAuthorized"):
        parse_status_reply(b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>'
                           b"<s:Code><s:Value>ter:NotAuthorized</s:Value></s:Code></s:Fault></s:Body></s:Envelope>")


def test_a_reply_cannot_read_local_files_or_grow_without_bound(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("0.75")
    xxe = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://' + str(secret).encode() + b'">]>'
           + (STATUS % (b"&x;", b"IDLE")).replace(b'<?xml version="1.0"?>', b""))
    with pytest.raises(PtzError, match="pan is not a number"):
        parse_status_reply(xxe)  # the entity is not resolved: no file content as the pan

    class Endless:
        def iter_content(self, n):
            while True:
                yield b" " * n

        def close(self):
            pass

    with pytest.raises(PtzError, match="larger than"):
        onvif_ptz._read_bounded(Endless())


def test_watcher_places_a_fire_where_the_virtual_camera_looks(engine, data_dir, camera):
    """End to end against the third-party camera: turned by an ONVIF AbsoluteMove to the
    south-east, the watcher asks it at report time and the fire lands south-east of the pole."""
    from tests.disaster_ops.test_onvif_ptz import watch_fire_on_a_ptz_camera

    _absolute_move(camera, 0.5, 0.8)  # generic pan 0.5 -> heading 30 + 90 = 120°; tilt 0.8 -> 9° down
    d, p, pole = watch_fire_on_a_ptz_camera(engine, _settings(camera))
    assert d.uncertainty_m is None
    assert p.x > pole.x and p.y < pole.y and p.distance(pole) < 0.005
