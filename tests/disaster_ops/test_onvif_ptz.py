"""PTZ cameras: where they look, read over ONVIF PTZ GetStatus.

Peer: tests/disaster_ops/onvif_peer.py, a SOAP 1.2 endpoint that validates every request
and reply against the official ONVIF WSDL/XSD and checks the WS-Security digest. It is
NOT a real camera (none is reachable here): what a camera vendor does beyond the schema
(its own pan/tilt ranges, time-outs, faults) is untested.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC, datetime

import numpy as np
import pytest

from disaster_ops.capture.onvif_ptz import DEGREES_SPACE, OnvifPtzClient, PtzError, PtzSettings
from disaster_ops.detect.records import Detections
from disaster_ops.services.camera_config import parse_detect_config
from disaster_ops.services.projection import camera_model, camera_to_ground
from geo.projection import PinholePose, PoleModel
from tests.disaster_ops.onvif_peer import SOAP12, TPTZ, WSSE, WSU, OnvifPeer
from tests.disaster_ops.test_camera_views import _first_360_camera

PORTS = range(18700, 18800)


@pytest.fixture(scope="module")
def peer():
    p = OnvifPeer(ports=PORTS, username="operator", password="pw-ptz-1", pan=0.5, tilt=-0.5, space=None)
    yield p
    p.close()


@pytest.fixture
def settings(peer, monkeypatch):
    monkeypatch.setenv("PTZ_TEST_PASSWORD", "pw-ptz-1")
    peer.pan, peer.tilt, peer.space, peer.moving = 0.5, -0.5, None, False
    return PtzSettings(ptz_url=peer.ptz_url, media_url=peer.media_url, username="operator",
                       password_env="PTZ_TEST_PASSWORD", pan_zero_heading_deg=30.0)


def test_generic_space_reading_turns_into_a_heading(peer, settings):
    client = OnvifPtzClient(settings)
    d = client.direction()
    # generic x = 0.5 -> +90° of pan from heading 30°; y = -0.5 -> 67.5° below the horizon
    assert d.heading_deg == pytest.approx(120.0) and d.tilt_deg == pytest.approx(67.5)
    assert peer.requests[:2] == ["GetProfiles", "GetStatus"] and not peer.rejected


def test_degrees_space_is_taken_as_given(peer, settings):
    peer.space, peer.pan, peer.tilt = DEGREES_SPACE, -45.0, -20.0
    d = OnvifPtzClient(settings.model_copy(update={"profile_token": "profile_1"})).direction()
    assert d.heading_deg == pytest.approx(345.0) and d.tilt_deg == pytest.approx(20.0)


def test_unknown_units_or_moving_give_no_direction(peer, settings):
    peer.space = "http://example.com/vendor/PanTiltSpace"
    assert OnvifPtzClient(settings).direction() is None
    peer.space, peer.moving = None, True
    assert OnvifPtzClient(settings).direction() is None


def test_wrong_password_is_refused_and_reported(peer, settings, monkeypatch):
    monkeypatch.setenv("PTZ_TEST_PASSWORD", "wrong")
    client = OnvifPtzClient(settings.model_copy(update={"profile_token": "profile_1"}))
    with pytest.raises(PtzError, match="ptz_service: GetStatus failed"):
        client.status()
    assert client.direction() is None  # logged, and the detection stays at the pole
    assert any("NotAuthorized" in r for r in peer.rejected)


def test_unreachable_camera_gives_no_direction_quickly():
    s = PtzSettings(ptz_url="http://127.0.0.1:9/onvif/ptz_service", profile_token="p", pan_zero_heading_deg=0.0,
                    timeout_s=0.5)
    assert OnvifPtzClient(s).direction() is None


def test_peer_refuses_schema_invalid_requests(peer):
    """The peer is strict: a GetStatus without its ProfileToken fails the ONVIF schema."""
    nonce, created = os.urandom(16), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + b"pw-ptz-1").digest()).decode()
    env = (f'<s:Envelope xmlns:s="{SOAP12}"><s:Header><w:Security xmlns:w="{WSSE}" xmlns:u="{WSU}">'
           f"<w:UsernameToken><w:Username>operator</w:Username><w:Password Type=\"x#PasswordDigest\">{digest}"
           f"</w:Password><w:Nonce>{base64.b64encode(nonce).decode()}</w:Nonce><u:Created>{created}</u:Created>"
           f'</w:UsernameToken></w:Security></s:Header><s:Body><GetStatus xmlns="{TPTZ}"/></s:Body></s:Envelope>')
    status, reply = peer.handle("/onvif/ptz_service", env.encode())
    assert status == 400 and "InvalidArgVal" in reply


def test_settings_are_part_of_the_camera_settings_and_bad_ones_name_the_field():
    cfg = parse_detect_config('{"ptz": {"ptz_url": "http://10.0.0.5/onvif/ptz_service", "profile_token": "p1", '
                              '"pan_zero_heading_deg": 12.5}}', source="cam")
    assert cfg.ptz.pan_zero_heading_deg == 12.5 and cfg.ptz.username is None
    from disaster_ops.errors import InputError

    with pytest.raises(InputError, match="ptz"):
        parse_detect_config('{"ptz": {"ptz_url": "http://10.0.0.5/x", "pan_zero_heading_deg": 12.5}}', source="cam")


def test_a_360_camera_detection_follows_the_reported_direction(engine, tmp_path, peer, settings):
    """Real registry 360° camera: with the camera's reported pan the detection lands in that
    direction; without a usable reading it stays at the pole with its uncertainty."""
    cam = _first_360_camera(engine, tmp_path)
    peer.space, peer.pan, peer.tilt = DEGREES_SPACE, 60.0, -30.0  # heading 90° (east), 30° down
    d = OnvifPtzClient(settings).direction()
    model = camera_model(cam, width_px=1280, height_px=720, pan_deg=d.heading_deg, tilt_deg=d.tilt_deg)
    assert isinstance(model, PinholePose)
    dets = Detections(xyxy=np.array([[600.0, 330.0, 680.0, 390.0]]), confidence=np.array([0.9]),
                      kind=np.array(["fire"]))
    [g] = camera_to_ground(cam, dets, kinds={"fire"}, observed_at=datetime.now(UTC), width_px=1280,
                           height_px=720, model=model)
    assert g.uncertainty_m is None and g.ground_lon > cam.lon and abs(g.ground_lat - cam.lat) < 2e-5
    peer.moving = True
    d = OnvifPtzClient(settings).direction()
    assert d is None
    assert isinstance(camera_model(cam, width_px=1280, height_px=720), PoleModel)


def watch_fire_on_a_ptz_camera(engine, settings: PtzSettings):
    """The demo fire clip replayed as a PTZ camera's stream (12 s) with ``settings`` as its
    ONVIF section; returns the fire's first detection and the camera's pole."""
    import json

    import shapely
    from sqlmodel import Session, select

    from disaster_ops.services.cameras import import_registry
    from disaster_ops.services.incidents import detections_of, list_incidents
    from disaster_ops.services.watch import Watcher, cameras_to_watch
    from disaster_ops.storage.models import Camera
    from tests.conftest import REPO

    import_registry(REPO / "sample_data" / "cameras_demo.geojson", engine=engine)
    with Session(engine) as s:
        cam = s.exec(select(Camera)).one()
        cam.fov_deg = 360.0  # a PTZ camera: no fixed direction in the registry
        cam.detect_config = json.dumps({"ptz": json.loads(settings.model_dump_json())})
        s.add(cam)
        s.commit()
    cams = cameras_to_watch(engine=engine)
    Watcher(cams, engine=engine, sample_fps=4.0, report_interval_s=60.0, replay=True).run(duration_s=12.0)
    fire = [i for i in list_incidents(engine=engine) if i.kind == "fire"]
    assert fire
    d = detections_of(fire[0].id, engine=engine)[0]
    return d, shapely.Point(d.ground_lon, d.ground_lat), shapely.Point(cams[0].lon, cams[0].lat)


def test_watcher_places_a_ptz_cameras_fire_where_the_camera_reports_it_looks(engine, data_dir, peer, settings):
    """End to end: the watcher asks the (schema-checking) ONVIF peer at report time and the
    fire lands in that direction, not at the pole with an uncertainty disc."""
    # the camera reports pan 15° from its zero (30°) = heading 45°, 12° down
    peer.space, peer.pan, peer.tilt = DEGREES_SPACE, 15.0, -12.0
    before = len(peer.requests)
    d, p, pole = watch_fire_on_a_ptz_camera(engine, settings)
    assert peer.requests[before:].count("GetStatus") >= 1
    assert d.uncertainty_m is None
    assert p.x > pole.x and p.y > pole.y and p.distance(pole) < 0.005  # north-east, in reach
