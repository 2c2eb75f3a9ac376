"""The dashboard in a real headless browser (Debian chromium driven by Playwright).

Every request to a host other than 127.0.0.1/localhost is blocked and counted: the map
must load everything it needs from the dashboard itself (a closed disaster network).
The demo's full content is seeded: cameras, an incident, a drone with live telemetry.
Screenshots go to ``var/artifacts/`` (not committed); with
``DISASTER_OPS_DOC_SCREENSHOTS=docs/img`` the operator's guide's copies are refreshed too
(``tests/ui/doc_screenshots.py``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest

from disaster_ops.services.demo import DEMO_USERS, seed_sample_data
from tests.conftest import REPO
from tests.disaster_ops.test_demo import _free_port, _wait_http
from tests.ui.doc_screenshots import shot

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "var" / "artifacts"
PASSWORDS = {name: password for name, _role, password, _agency in DEMO_USERS}
pytestmark = pytest.mark.browser


def _seed_full_demo() -> int:
    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.drones import register_drone
    from disaster_ops.services.incidents import ingest
    from disaster_ops.storage.db import session_scope
    from disaster_ops.storage.models import DroneState

    seed_sample_data()
    inc = ingest([GroundDetection(source_kind="cctv", source_id="cam-1", observed_at=datetime.now(UTC),
                                  kind="fire", confidence=0.9, bbox_px=(1, 1, 5, 5), ground_lat=35.103,
                                  ground_lon=129.033)])[0].incident_id
    with session_scope() as s:
        drone = register_drone(s, name="sim-1", connection="udpin:127.0.0.1:14550")
        s.flush()
        s.add(DroneState(drone_id=drone.id, lat=35.102, lon=129.033, alt_rel_m=40.0, heading_deg=45.0,
                         battery_pct=88.0, mode="AUTO", armed=True, link_ok=True))
    return inc


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    if not shutil.which("chromium") and not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    from disaster_ops.config import get_settings
    from disaster_ops.storage.migrate import upgrade

    data_dir = tmp_path_factory.mktemp("browser") / "var"
    old = os.environ.get("DISASTER_OPS_DATA_DIR")
    os.environ["DISASTER_OPS_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    upgrade()
    inc = _seed_full_demo()
    port = _free_port()
    # Live layers every 2 s so the test sees several refreshes; OSM tiles are blocked like
    # every outside request, so the shipped background is what shows.
    env = dict(os.environ, DISASTER_OPS_DATA_DIR=str(data_dir), DISASTER_OPS_MAP__LIVE_REFRESH_S="2",
               DISASTER_OPS_MAP__TILES="osm")
    proc = subprocess.Popen([sys.executable, "-m", "disaster_ops", "serve", "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        assert _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 90), "dashboard never came up"
        yield f"http://127.0.0.1:{port}", inc
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        if old is None:
            os.environ.pop("DISASTER_OPS_DATA_DIR", None)
        else:
            os.environ["DISASTER_OPS_DATA_DIR"] = old
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


class Offline:
    """Blocks every request that does not go to this machine and counts them by type."""

    def __init__(self, context):
        self.blocked: list[tuple[str, str]] = []
        context.route("**/*", self._route)

    def _route(self, route):
        req = route.request
        host = urlparse(req.url).hostname or ""
        if req.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.blocked.append((req.resource_type, req.url))
            route.abort()

    def scripts_and_styles(self) -> list[str]:
        return [u for t, u in self.blocked if t in ("script", "stylesheet", "font")]


def _login(page, url: str, user: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[user])
    page.get_by_role("button", name="Log in").click()


def _map_frame(page):
    # Waits go through Playwright (page.wait_for_timeout), never time.sleep: the sync API
    # answers the request router only inside its own calls.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for f in page.frames:
            if "streamlit_folium" in f.url:
                with contextlib.suppress(Exception):  # the frame is still loading
                    if f.evaluate("() => !!(window.map && window.map.getZoom)"):
                        return f
        page.wait_for_timeout(500)
    raise AssertionError("no folium map frame")


COUNT_LAYERS = """() => {
    const n = {boundary: 0, camera: 0};
    window.map.eachLayer(l => {
        if (l.options && l.options.pane === 'boundaryPane' && l.feature) n.boundary++;
        if (l.options && l.options.className === 'cctv-camera') n.camera++;
    });
    n.incidents = document.querySelectorAll('.incident-marker').length;
    n.drones = document.querySelectorAll('.drone-marker').length;
    return n;
}"""


def test_manager_sees_map_offline_keeps_view_plans_and_dispatches(dashboard, browser):
    url, _inc = dashboard
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    offline = Offline(ctx)
    page = ctx.new_page()
    try:
        _login(page, url, "manager")
        page.get_by_text("Common operating picture").first.wait_for(timeout=60_000)
        frame = _map_frame(page)
        frame.wait_for_selector(".incident-marker", timeout=60_000)
        frame.wait_for_selector(".drone-marker", timeout=60_000)
        deadline = time.monotonic() + 30
        while (n := frame.evaluate(COUNT_LAYERS))["boundary"] < 200 and time.monotonic() < deadline:
            page.wait_for_timeout(500)
        assert n["boundary"] >= 250 and n["camera"] >= 400 and n["incidents"] == 1 and n["drones"] == 1, n
        shot(page, "manager_map")

        # Pan/zoom survive live refreshes (every 2 s here): the browser keeps the same map.
        frame.evaluate("() => { window.map._probe = 1; window.map.setView([35.1035, 129.0335], 17); }")
        page.wait_for_timeout(7000)
        frame = _map_frame(page)
        view = frame.evaluate("() => [window.map._probe, window.map.getZoom(), window.map.getCenter().lat,"
                              " window.map.getCenter().lng]")
        assert view[0] == 1, "the live refresh rebuilt the map"
        assert view[1] == 17 and abs(view[2] - 35.1035) < 1e-3 and abs(view[3] - 129.0335) < 1e-3, view
        shot(page, "manager_map_zoomed")

        # Draw a rectangle around the incident (Leaflet.draw, served locally) and plan it.
        frame.locator("a.leaflet-draw-draw-rectangle").click()
        box = page.locator("iframe[title='streamlit_folium.st_folium']").bounding_box()
        x, y = frame.evaluate("""() => { const p = window.map.latLngToContainerPoint([35.103, 129.033]);
            const r = window.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }""")
        page.mouse.move(box["x"] + x - 150, box["y"] + y - 120)
        page.mouse.down()
        page.mouse.move(box["x"] + x + 150, box["y"] + y + 120, steps=8)
        page.mouse.up()
        page.get_by_role("button", name="Plan a drone survey of the drawn area").click(timeout=60_000)
        page.get_by_text("Planned mission(s)").wait_for(timeout=90_000)
        shot(page, "manager_drawn_area_planned")

        page.get_by_role("link", name="Drone missions").click()
        page.get_by_role("button", name="Dispatch").first.click()
        page.get_by_text("· assigned · drone sim-1").first.wait_for(timeout=60_000)
        assert not page.get_by_text("Traceback").count()
        shot(page, "manager_dispatched", full_page=True)
        assert offline.scripts_and_styles() == [], offline.scripts_and_styles()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "manager_failure.png"), full_page=True)
        raise
    finally:
        ctx.close()


def test_responder_on_a_phone_acknowledges_and_cannot_dispatch(dashboard, browser):
    url, _inc = dashboard
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    offline = Offline(ctx)
    page = ctx.new_page()
    try:
        _login(page, url, "responder")
        page.get_by_text("Nearby incidents").first.wait_for(timeout=60_000)
        ack = page.get_by_role("button", name="Acknowledge")
        box = ack.first.bounding_box()
        assert box and box["height"] >= 44, box  # a touch target
        ack.first.click()
        page.get_by_text("acknowledged by responder").first.wait_for(timeout=30_000)
        shot(page, "responder_field", full_page=True)
        page.get_by_test_id("stExpandSidebarButton").click()  # the phone layout folds the sidebar
        page.get_by_role("link", name="Drone missions").click()
        page.get_by_role("heading", name="Drone missions").wait_for(timeout=60_000)
        page.wait_for_timeout(2000)
        assert page.get_by_role("button", name="Dispatch").count() == 0
        assert page.get_by_role("button", name="Plan survey").count() == 0
        shot(page, "responder_missions", full_page=True)
        assert offline.scripts_and_styles() == [], offline.scripts_and_styles()
        # Nor can that responder dispatch by calling the service directly.
        from disaster_ops.errors import PermissionDenied
        from disaster_ops.services import missions
        from disaster_ops.services.auth import authenticate

        me = authenticate("responder", PASSWORDS["responder"])
        with pytest.raises(PermissionDenied):
            missions.assign(1, "sim-1", principal=me)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "responder_failure.png"), full_page=True)
        raise
    finally:
        ctx.close()


def _assigned_mission(incident_id: int) -> int:
    """A survey of the incident's blind spots, dispatched to sim-1 by the manager (services)."""
    from disaster_ops.services import missions
    from disaster_ops.services.auth import authenticate
    from geo.aoi import PointRadius

    manager = authenticate("manager", PASSWORDS["manager"])
    gp = missions.plan_gap_survey(PointRadius(lat=35.103, lon=129.033, radius_m=300), principal=manager,
                                  incident_id=incident_id, drone_names=["sim-1"])
    missions.assign(gp.mission_ids[0], "sim-1", principal=manager)
    return gp.mission_ids[0]


def test_pilot_flies_a_dispatched_mission_and_cannot_dispatch(dashboard, browser):
    url, inc = dashboard
    mission_id = _assigned_mission(inc)
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    offline = Offline(ctx)
    page = ctx.new_page()
    try:
        _login(page, url, "pilot")
        page.get_by_text("Common operating picture").first.wait_for(timeout=60_000)
        page.get_by_role("link", name="Drone missions").click()
        page.get_by_role("heading", name="Drone missions").wait_for(timeout=60_000)
        page.get_by_text(f"#{mission_id} ").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Download .plan").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Fly").first.wait_for(timeout=60_000)
        assert page.get_by_role("button", name="Dispatch").count() == 0
        shot(page, "pilot_missions")
        page.get_by_role("button", name="Fly").first.click()
        page.get_by_role("button", name="Return to launch").first.wait_for(timeout=60_000)
        # With a drone worker running the mission moves on at once; without one it waits uploading.
        flying = re.compile(rf"#{mission_id} .*· (uploading|uploaded|active) · drone sim-1")
        assert page.get_by_text(flying).count() >= 1
        deadline = time.monotonic() + 30  # the rerun drops the old Fly button a moment later
        while page.get_by_role("button", name="Fly").count() and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert page.get_by_role("button", name="Fly").count() == 0, "Fly still offered while uploading"
        shot(page, "pilot_fly_requested")
        assert offline.scripts_and_styles() == [], offline.scripts_and_styles()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "pilot_failure.png"), full_page=True)
        raise
    finally:
        ctx.close()


def test_admin_reads_the_audit_trail_and_camera_health(dashboard, browser):
    url, _inc = dashboard
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    offline = Offline(ctx)
    page = ctx.new_page()
    try:
        _login(page, url, "admin")
        page.get_by_text("Common operating picture").first.wait_for(timeout=60_000)
        page.get_by_role("link", name="Audit trail").click()
        page.get_by_role("heading", name="Audit trail").wait_for(timeout=60_000)
        page.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the grid draws its rows after the frame appears
        assert not page.get_by_text("Traceback").count()
        shot(page, "admin_audit")
        page.get_by_role("link", name="Cameras").click()
        page.get_by_role("heading", name="Cameras").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        assert not page.get_by_text("Traceback").count()
        shot(page, "admin_cameras")
        assert offline.scripts_and_styles() == [], offline.scripts_and_styles()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "admin_failure.png"), full_page=True)
        raise
    finally:
        ctx.close()
