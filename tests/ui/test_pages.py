"""Every dashboard page renders against a real seeded database (Streamlit AppTest)."""

from __future__ import annotations

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
    assert any("408 cameras" in c.value for c in at.caption)


def test_audit_page_only_for_managers(seeded):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["role"] = "manager"
    at.run()
    at.switch_page("app_pages/audit.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Audit trail"
    assert len(at.dataframe) == 1
