"""The missing-person search page (Streamlit AppTest on a real seeded database): a manager
searches with a reason and sees the candidates and the path; the navigation hides the page
from a responder (tests/people/test_person_search.py: the service refuses one anyway); stored
strings on the map are escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlmodel import Session

from disaster_ops.people.appearance import VECTOR_BYTES
from disaster_ops.services.person_search import Candidate
from disaster_ops.storage.models import PersonSighting
from tests.ui.test_pages import logged_in, seeded  # noqa: F401  (fixture)

EVIL = "<img src=x onerror=alert(1)>`${1}`"


def _add(engine, key: str, minutes_ago: float, lat: float) -> int:
    vec = np.zeros(VECTOR_BYTES, np.uint8)
    vec[3], vec[27 + 7] = 255, 255  # red / blue
    row = PersonSighting(source_kind="cctv", camera_key=key, captured_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
                         track_id=int(minutes_ago), x1=0, y1=0, x2=20, y2=50, lat=lat, lon=129.03,
                         upper_colour="red", lower_colour="blue", build="medium", attrs=vec.tobytes())
    with Session(engine) as s:
        s.add(row)
        s.commit()
        return row.id


def test_manager_searches_and_sees_candidates_and_path(seeded):  # noqa: F811
    a = _add(seeded, "cam-a", 30, 35.100)
    b = _add(seeded, "cam-b", 10, 35.101)
    at = logged_in("manager")
    at.switch_page("app_pages/people.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Missing-person search"
    at.multiselect(key="ppl_upper").select("red")
    at.multiselect(key="ppl_bag").select("blue")  # the bag field goes to the service with the rest
    at.button[0].click().run()  # no reason: refused with the reason
    assert any("reason" in e.value for e in at.error)
    at.text_input(key="ppl_reason").input("missing person report 0042")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    assert "path point 1" in text and "path point 2" in text
    assert {f"ppl_conf_{a}", f"ppl_conf_{b}"} <= {btn.key for btn in at.button}
    with Session(seeded) as s:
        from sqlmodel import select

        from disaster_ops.storage.models import AuditEvent

        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "people.search")).all()[-1]
    assert json.loads(ev.details_json)["query"]["description"]["bag"] == ["blue"]
    at.button(key=f"ppl_conf_{a}").click().run()
    assert not at.exception, at.exception


def test_responder_has_no_search_page(seeded):  # noqa: F811
    at = logged_in("responder")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/people.py")  # not in a responder's navigation (the service refuses too)


def test_path_layer_escapes_stored_strings():
    import folium

    from ui import layers

    now = datetime.now(UTC)
    cands = [Candidate(i, i, 0.9, "cctv", EVIL, 1, now + timedelta(seconds=i), 35.1 + i * 1e-4, 129.03, 30.0,
                       (0, 0, 1, 1), EVIL, "blue", "medium", "unreviewed", None) for i in (1, 2)]
    fmap = folium.Map(location=(35.1, 129.03))
    layers.sighting_path_layer(cands).add_to(fmap)
    html = fmap.get_root().render()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "${1}" not in html
