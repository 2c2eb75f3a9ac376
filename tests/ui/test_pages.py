"""Every dashboard page renders against a real seeded database (Streamlit AppTest)."""

from __future__ import annotations

from datetime import UTC

import pytest
from streamlit.testing.v1 import AppTest

from disaster_ops.services.demo import seed_sample_data
from tests.conftest import REPO

APP = str(REPO / "ui" / "app.py")


@pytest.fixture
def seeded(engine):
    seed_sample_data()
    return engine


@pytest.mark.parametrize("role", ["manager", "pilot", "responder"])
def test_map_page_renders_for_each_role(seeded, role):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["role"] = role
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Common operating picture"
    assert any("409 cameras" in c.value for c in at.caption)


def test_audit_page_only_for_managers(seeded):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["role"] = "manager"
    at.run()
    at.switch_page("app_pages/audit.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Audit trail"
    assert len(at.dataframe) == 1


def _fire_incident():
    from datetime import datetime

    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.incidents import ingest

    return ingest([GroundDetection(source_kind="cctv", source_id="cam-1",
                                   observed_at=datetime.now(UTC), kind="fire", confidence=0.9,
                                   bbox_px=(1, 1, 5, 5), ground_lat=35.103, ground_lon=129.033)])[0].incident_id


def test_responder_can_acknowledge_but_not_confirm(seeded):
    inc_id = _fire_incident()
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["role"] = "responder"
    at.session_state["user"] = "lee"
    at.run()
    at.switch_page("app_pages/incidents.py").run()
    assert not at.exception, at.exception
    labels = [b.label for b in at.button]
    assert "Acknowledge" in labels and "Confirm" not in labels
    at.button(key=f"inc_ack_{inc_id}").click().run()
    assert any("acknowledged by lee" in m.value for m in at.markdown)


def test_manager_confirms_incident(seeded):
    inc_id = _fire_incident()
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["role"] = "manager"
    at.run()
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
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["role"] = "manager"
    at.run()
    at.switch_page("app_pages/missions.py").run()
    at.button(key="mis_plan").click().run()
    assert not at.exception, at.exception
    assert at.success, [e.value for e in at.error]
    mission_btn = [b for b in at.button if b.key and b.key.startswith("mis_assign_")]
    assert mission_btn
    mission_btn[0].click().run()
    assert any("assigned" in m.value and "sim-1" in m.value for m in at.markdown)
    # A responder sees missions but can neither plan nor dispatch.
    rt = AppTest.from_file(APP, default_timeout=60)
    rt.session_state["role"] = "responder"
    rt.run()
    rt.switch_page("app_pages/missions.py").run()
    keys = [b.key for b in rt.button]
    assert "mis_plan" not in keys and not any(k and k.startswith("mis_assign_") for k in keys)
