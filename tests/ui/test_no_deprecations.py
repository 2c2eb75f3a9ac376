"""The dashboard prints no deprecation notices: Streamlit logs one to standard error for each
call with a parameter it is removing (``use_container_width`` after 2025-12-31)."""

from __future__ import annotations

import pytest

from tests.ui.test_pages import logged_in


@pytest.mark.parametrize(("user", "pages"), [
    ("manager", ["map", "incidents", "missions", "cameras", "audit", "people"]),
    ("responder", ["field"]),
])
def test_pages_log_no_deprecation(engine, capfd, user, pages):
    from disaster_ops.services.demo import seed_sample_data

    seed_sample_data()
    at = logged_in(user)
    for page in pages:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
    err = capfd.readouterr().err
    assert "use_container_width" not in err and "will be removed after" not in err, err[-2000:]
