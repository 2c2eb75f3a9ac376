"""Every dashboard page renders against a real seeded database (Streamlit AppTest)."""

from __future__ import annotations

from datetime import UTC

import pytest
from streamlit.testing.v1 import AppTest

from disaster_ops.services.demo import DEMO_USERS, seed_sample_data
from tests.conftest import REPO

APP = str(REPO / "ui" / "app.py")


PASSWORDS = {name: password for name, _role, password, _agency in DEMO_USERS}


@pytest.fixture
def seeded(engine):
    seed_sample_data()
    return engine


def logged_in(user: str) -> AppTest:
    """The app after logging in through the login form, as that demo user."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert at.title[0].value == "Log in"
    at.text_input(key="login_name").input(user)
    at.text_input(key="login_password").input(PASSWORDS[user])
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.parametrize("role", ["manager", "pilot", "responder"])
def test_map_page_renders_for_each_role(seeded, role):
    at = logged_in(role)
    at.switch_page("app_pages/map.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Common operating picture"
    assert any("409 cameras" in c.value for c in at.caption)


def test_audit_page_only_for_managers(seeded):
    at = logged_in("manager")
    at.switch_page("app_pages/audit.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Audit trail"
    assert len(at.dataframe) == 1
    # The page is not in a pilot's navigation, and the service refuses a pilot anyway.
    from disaster_ops.errors import PermissionDenied
    from disaster_ops.services.audit import list_events
    from disaster_ops.services.auth import authenticate

    assert list_events(principal=authenticate("manager", PASSWORDS["manager"]))
    with pytest.raises(PermissionDenied):
        list_events(principal=authenticate("pilot", PASSWORDS["pilot"]))


def test_cameras_page_lists_the_registry(seeded):
    at = logged_in("pilot")
    at.switch_page("app_pages/cameras.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Cameras" and len(at.dataframe) == 1


def _fire_incident():
    from datetime import datetime

    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.incidents import ingest

    return ingest([GroundDetection(source_kind="cctv", source_id="cam-1",
                                   observed_at=datetime.now(UTC), kind="fire", confidence=0.9,
                                   bbox_px=(1, 1, 5, 5), ground_lat=35.103, ground_lon=129.033)])[0].incident_id


def test_responder_can_acknowledge_but_not_confirm(seeded):
    inc_id = _fire_incident()
    at = logged_in("responder")
    at.switch_page("app_pages/incidents.py").run()
    assert not at.exception, at.exception
    labels = [b.label for b in at.button]
    assert "Acknowledge" in labels and "Confirm" not in labels
    at.button(key=f"inc_ack_{inc_id}").click().run()
    assert any("acknowledged by responder" in m.value for m in at.markdown)


def test_manager_confirms_incident(seeded):
    inc_id = _fire_incident()
    at = logged_in("manager")
    at.switch_page("app_pages/incidents.py").run()
    at.button(key=f"inc_conf_{inc_id}").click().run()
    assert not at.exception, at.exception
    assert any("confirmed" in m.value for m in at.markdown)


def test_manager_plans_and_dispatches_pilot_downloads(seeded):
    from disaster_ops.services.drones import register_drone
    from disaster_ops.storage.db import session_scope

    _fire_incident()
    with session_scope() as s:
        d = register_drone(s, name="sim-1", connection="udpin:127.0.0.1:14550")
        d.home_lat_deg, d.home_lon_deg = 35.1020, 129.0330  # its launch point (no live position here)
    at = logged_in("manager")
    at.switch_page("app_pages/missions.py").run()
    at.button(key="mis_plan").click().run()
    assert not at.exception, at.exception
    assert at.success, [e.value for e in at.error]
    mission_btn = [b for b in at.button if b.key and b.key.startswith("mis_assign_")]
    assert mission_btn
    mission_btn[0].click().run()
    assert any("assigned" in m.value and "sim-1" in m.value for m in at.markdown)
    # A responder sees missions but can neither plan nor dispatch.
    rt = logged_in("responder")
    rt.switch_page("app_pages/missions.py").run()
    keys = [b.key for b in rt.button]
    assert "mis_plan" not in keys and not any(k and k.startswith("mis_assign_") for k in keys)


def test_wrong_password_is_refused_and_audited_then_login_and_logout(seeded):
    from sqlmodel import Session

    from disaster_ops.services.audit import recent

    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input(key="login_name").input("manager")
    at.text_input(key="login_password").input("not-the-password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["wrong user name or password"]
    assert at.title[0].value == "Log in"  # still outside
    with Session(seeded) as s:
        ev = recent(s, action="auth.login_failed")[0]
    assert ev.actor == "manager" and "wrong_password" in ev.details_json
    at.text_input(key="login_password").input(PASSWORDS["manager"])
    at.button[0].click().run()
    assert at.title[0].value == "Common operating picture"
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == "Log in" and at.info[0].value == "Logged out."


def test_idle_session_expires(seeded, monkeypatch):
    at = logged_in("pilot")
    monkeypatch.setenv("DISASTER_OPS_AUTH__SESSION_IDLE_S", "1")
    from disaster_ops.config import get_settings

    get_settings.cache_clear()
    at.session_state["auth_last_active_s"] = at.session_state["auth_last_active_s"] - 5
    at.run()
    assert at.title[0].value == "Log in"
    assert "expired" in at.info[0].value


def test_field_view_nearest_first_and_acknowledge(seeded):
    from datetime import datetime

    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.incidents import ingest

    far, near = (ingest([GroundDetection(source_kind="cctv", source_id=f"cam-{i}", observed_at=datetime.now(UTC),
                                         kind="flood", confidence=0.9, bbox_px=(1, 1, 5, 5), ground_lat=lat,
                                         ground_lon=129.033)])[0].incident_id
                 for i, lat in ((1, 35.13), (2, 35.104)))
    at = logged_in("responder")  # a responder lands on the field view
    assert not at.exception, at.exception
    assert at.title[0].value == "Nearby incidents"
    at.text_input(key="field_pos").input("35.1028, 129.0327").run()
    headings = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert len(headings) == 2 and "0.1 km" in headings[0] and "3.0 km N" in headings[1]
    assert [b.key for b in at.button if b.key.startswith("field_ack_")] == [f"field_ack_{near}", f"field_ack_{far}"]
    at.button(key=f"field_ack_{near}").click().run()
    assert [b.key for b in at.button if b.key.startswith("field_ack_")] == [f"field_ack_{far}"]
    assert not any("Dispatch" == b.label for b in at.button)
    at.text_input(key="field_pos").input("somewhere").run()
    assert "lat, lon" in at.error[0].value


def test_a_failing_layer_leaves_the_map_and_says_so(seeded, monkeypatch):
    from disaster_ops.services import cop

    def broken(**_kw):
        raise RuntimeError("mission table unreadable\nsecond line never shown")

    monkeypatch.setattr(cop, "mission_areas", broken)
    at = logged_in("manager")
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == ["Layer left out: missions: mission table unreadable"]
    assert any("cameras in view" in c.value for c in at.caption)


def test_every_map_asset_is_served_locally():
    """Every JS/CSS link of every element the map uses points at ui/static, and the files exist."""
    from disaster_ops.config import MapSettings
    from disaster_ops.services.aerial_view import DroneView
    from disaster_ops.services.cop import (
        CameraCell,
        CameraMarker,
        DroneMarker,
        IncidentMarker,
        MissionArea,
    )
    from ui import layers

    fmap = layers.base_map((35.1, 129.03), cfg=MapSettings(tiles="osm"))
    layers.add_draw_control(fmap)
    groups = [
        layers.camera_layer([CameraMarker(1, "c", 35.1, 129.03, 0, 60, 50, "online", "default", "p")]),
        layers.camera_cell_layer([CameraCell(35.1, 129.03, 5, 1, 35.0, 129.0, 35.2, 129.1)]),
        layers.incident_layer([IncidentMarker(1, "fire", "new", 3, '{"type":"Point","coordinates":[129.03,35.1]}',
                                              35.1, 129.03, "now", 1, None)]),
        layers.drone_layer([DroneMarker("d", 35.1, 129.03, 40.0, 90.0, 80.0, "AUTO", True, True, "now")],
                           {"d": [(35.1, 129.03), (35.2, 129.04)]}),
        layers.drone_view_layer([DroneView("d", '{"type":"Polygon","coordinates":[[[129.03,35.1],[129.031,35.1],'
                                           '[129.031,35.101],[129.03,35.1]]]}',
                                           '{"type":"LineString","coordinates":[[129.03,35.1],[129.031,35.1]]}',
                                           True, None, "now", 3, 0, 1)]),
        layers.mission_layer([MissionArea(1, "m", "active", '{"type":"Point","coordinates":[129.03,35.1]}', None,
                                          ((35.1, 129.03), (35.11, 129.04)), 1, 2)]),
    ]
    for g in groups:
        g.add_to(fmap)
    assert layers.localize(fmap) == []
    links = []

    def walk(el):
        links.extend(getattr(el, "default_js", []) + getattr(el, "default_css", []))
        for child in getattr(el, "_children", {}).values():
            walk(child)

    walk(fmap)
    assert links and all(url.startswith("/app/static/") for _name, url in links), links
    for _name, url in links + [("bg", u) for u in layers.BOUNDARY_FILES]:
        assert (REPO / "ui" / url.removeprefix("/app/")).is_file(), url
    html = fmap.get_root().render()
    assert "cdn" not in html.lower() and "jquery" not in html.lower()


def _flying_mission() -> int:
    """A mission the drone worker reports as flying, half way (what the pilot's page shows)."""
    from disaster_ops.services import missions
    from disaster_ops.services.drones import register_drone, set_mission_status
    from disaster_ops.services.roles import Principal, Role
    from disaster_ops.storage.db import session_scope
    from disaster_ops.storage.models import MissionStatus
    from geo.aoi import PointRadius

    with session_scope() as s:
        d = register_drone(s, name="sim-1", connection="udpin:127.0.0.1:14550")
        d.home_lat_deg, d.home_lon_deg = 35.1020, 129.0330
    manager = Principal("park", Role.MANAGER)
    mid = missions.plan_gap_survey(PointRadius(lat=35.103, lon=129.033, radius_m=150), principal=manager,
                                   drone_names=["sim-1"]).mission_ids[0]
    missions.assign(mid, "sim-1", principal=manager)
    missions.request_flight(mid, principal=Principal("kim", Role.PILOT))
    worker = Principal.system("worker:sim-1")
    with session_scope() as s:
        set_mission_status(s, mid, MissionStatus.UPLOADED, principal=worker)
        set_mission_status(s, mid, MissionStatus.ACTIVE, principal=worker, current_seq=3)
    return mid


def _status(mid: int) -> str:
    from disaster_ops.services import missions

    return next(str(getattr(m.status, "value", m.status)) for m in missions.list_missions() if m.id == mid)


def test_pilot_pauses_resumes_and_returns_a_flying_mission(seeded):
    mid = _flying_mission()
    at = logged_in("pilot")
    at.switch_page("app_pages/missions.py").run()
    assert not at.exception, at.exception
    assert any(f"#{mid}" in m.value and "active" in m.value and "waypoint 3 of" in m.value for m in at.markdown)
    keys = {b.key for b in at.button}
    assert {f"mis_pause_{mid}", f"mis_rtl_{mid}"} <= keys and f"mis_resume_{mid}" not in keys
    at.button(key=f"mis_pause_{mid}").click().run()
    assert not at.error, [e.value for e in at.error]
    assert _status(mid) == "paused"
    at.button(key=f"mis_resume_{mid}").click().run()
    assert _status(mid) == "active"
    at.button(key=f"mis_rtl_{mid}").click().run()
    assert _status(mid) == "aborted"
    assert not {f"mis_pause_{mid}", f"mis_resume_{mid}", f"mis_rtl_{mid}"} & {b.key for b in at.button}


def test_manager_has_mission_controls_responder_has_none_and_is_refused(seeded):
    from disaster_ops.errors import PermissionDenied
    from disaster_ops.services import missions
    from disaster_ops.services.auth import authenticate

    mid = _flying_mission()
    mt = logged_in("manager")
    mt.switch_page("app_pages/missions.py").run()
    assert {f"mis_pause_{mid}", f"mis_rtl_{mid}"} <= {b.key for b in mt.button}
    rt = logged_in("responder")
    rt.switch_page("app_pages/missions.py").run()
    assert not rt.exception, rt.exception
    assert not [b.key for b in rt.button if b.key and b.key.startswith(("mis_pause_", "mis_resume_", "mis_rtl_",
                                                                          "mis_fly_"))]
    me = authenticate("responder", PASSWORDS["responder"])
    for call in (missions.request_pause, missions.request_resume, missions.request_rtl, missions.request_flight):
        with pytest.raises(PermissionDenied):
            call(mid, principal=me)
    assert _status(mid) == "active"  # nothing the responder tried changed it


def test_incident_popup_is_escaped_local_and_small():
    """Sources, timeline and snapshot in the popup: every stored string escaped, the image
    inline (no URL to fetch), and no details at all for incidents the map did not ask for."""
    from disaster_ops.services.cop import Evidence, IncidentDetail, IncidentMarker
    from ui import layers

    evil = "<img src=x onerror=alert(1)>`${1}`"
    inc = IncidentMarker(7, "fire", "new", 3, '{"type":"Point","coordinates":[129.03,35.1]}', 35.1, 129.03,
                         "2026-11-28 10:00:00 UTC", 2, evil)
    detail = IncidentDetail(7, "2026-11-28 09:00:00 UTC", (f"cctv:{evil}", "drone:sim-1"),
                            (Evidence("2026-11-28 10:00:00 UTC", f"cctv:{evil}", "fire", 0.91, None),),
                            b"\xff\xd8jpeg-bytes", "2026-11-28 10:00:00 UTC")
    popup = layers._incident_popup(inc, "fire", detail)
    assert "<img src=x" not in popup and "&lt;img src=x onerror=alert(1)&gt;" in popup
    assert "`" not in popup and "${" not in popup
    assert 'src="data:image/jpeg;base64,' in popup and "http" not in popup
    assert "drone:sim-1" in popup and "first seen 2026-11-28 09:00:00 UTC" in popup and "0.91" in popup
    bare = layers._incident_popup(inc, "fire", None, asked=False)
    assert "zoom in for its sources" in bare and "data:" not in bare
    fmap = layers.base_map((35.1, 129.03))
    layers.incident_layer([inc], details=None).add_to(fmap)
    html = fmap.get_root().render()
    assert "zoom in for its sources" in html and "data:image" not in html


def test_camera_tooltip_shows_a_hostile_camera_name_as_text():
    """A registry row named ``<img src=x onerror=alert(1)>`` (camera names come from outside)
    reaches the rendered map as escaped text inside the script's JSON, never as markup."""
    import folium

    from disaster_ops.services.cop import CameraMarker
    from ui import layers

    evil = "<img src=x onerror=alert(1)>"
    cam = CameraMarker(1, evil, 35.1, 129.03, 90.0, 60.0, 50.0, "online", "manual", f"{evil}`${{1}}`")
    fmap = folium.Map(location=[35.1, 129.03], zoom_start=15)
    layers.camera_layer([cam]).add_to(fmap)
    page = fmap.get_root().render()
    assert "<img src=x" not in page and "onerror=alert(1)>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # shown, as text, in the tooltip
    assert "${1}" not in page and "`" not in layers._camera_tip(cam)
