"""The dashboard in a real headless browser (Debian chromium driven by Playwright).

Every request to a host other than 127.0.0.1/localhost is blocked and counted: the map
must load everything it needs from the dashboard itself (a closed disaster network).
The demo's full content is seeded: cameras, an incident, and a flying drone: the built-in
simulated vehicle (``disaster-ops sim-drone``) with its drone worker, as ``make demo`` runs them.
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


SIM_HOME = (35.102, 129.033)  # the demo's launch point (services.demo.DEMO_HOME)
SIM_SPEEDUP = "5"  # simulated time runs 5x: the drawn area's survey flies in about half a minute


def _seed_full_demo() -> int:
    import cv2
    import numpy as np

    from disaster_ops.config import get_settings
    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.incidents import ingest

    seed_sample_data()
    snap = get_settings().data_dir / "snapshots" / "cam-1_fire.jpg"  # what the watcher writes
    snap.parent.mkdir(parents=True, exist_ok=True)
    frame = np.full((720, 1280, 3), 40, np.uint8)
    frame[300:500, 500:800] = (0, 80, 255)
    assert cv2.imwrite(str(snap), frame)
    return ingest([GroundDetection(source_kind="cctv", source_id="cam-1", observed_at=datetime.now(UTC),
                                   kind="fire", confidence=0.9, bbox_px=(1, 1, 5, 5), ground_lat=35.103,
                                   ground_lon=129.033, snapshot_path=str(snap))])[0].incident_id


def _udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "disaster_ops", *argv], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """The demo as users run it: dashboard, the built-in simulated vehicle (``sim-drone``)
    and its drone worker (MAVLink over UDP), one database."""
    if not shutil.which("chromium") and not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    from disaster_ops.config import get_settings
    from disaster_ops.services.drone_worker import drone_id_by_name
    from disaster_ops.storage.migrate import upgrade

    data_dir = tmp_path_factory.mktemp("browser") / "var"
    old = os.environ.get("DISASTER_OPS_DATA_DIR")
    os.environ["DISASTER_OPS_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    upgrade()
    inc = _seed_full_demo()
    port, udp = _free_port(), _udp_port()
    # Live layers every 2 s so the test sees several refreshes; OSM tiles are blocked like
    # every outside request, so the shipped background is what shows.
    env = dict(os.environ, DISASTER_OPS_DATA_DIR=str(data_dir), DISASTER_OPS_MAP__LIVE_REFRESH_S="2",
               DISASTER_OPS_MAP__TILES="osm")
    log = (data_dir / "processes.log").open("w")
    procs = [
        _start(["sim-drone", "--port", str(udp), "--speedup", SIM_SPEEDUP, "--home", f"{SIM_HOME[0]},{SIM_HOME[1]}",
                "--gcs-failsafe-s", "0"], env, log),
        _start(["drone-worker", "--name", "sim-1", "--connect", f"udpin:127.0.0.1:{udp}"], env, log),
        _start(["serve", "--port", str(port)], env, log),
    ]
    try:
        assert _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 90), "dashboard never came up"
        deadline = time.monotonic() + 60
        while drone_id_by_name("sim-1") is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert drone_id_by_name("sim-1") is not None, "the drone worker never registered sim-1"
        yield f"http://127.0.0.1:{port}", inc
    finally:
        for proc in reversed(procs):
            _stop(proc)
        log.close()
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

        # The incident's popup: sources, timeline and the latest snapshot, inline (nothing fetched).
        popup = None
        for _ in range(3):  # a live refresh can replace the marker under the click: try again
            with contextlib.suppress(Exception):
                frame.locator(".incident-marker").first.click(timeout=10_000)
                frame.wait_for_selector(".leaflet-popup-content img.incident-snapshot", timeout=5_000)
                popup = frame.evaluate("""() => { const c = document.querySelector('.leaflet-popup-content');
                    const img = c.querySelector('img.incident-snapshot');
                    return {text: c.innerText, width: img.naturalWidth, src: img.src.slice(0, 23)}; }""")
                page.screenshot(path=str(ARTIFACTS / "manager_incident_popup.png"))
                break
            frame = _map_frame(page)
        assert popup, "no incident popup with a snapshot"
        assert "Sources cctv:cam-1" in popup["text"] and "Timeline first seen" in popup["text"], popup
        assert popup["width"] == 160 and popup["src"] == "data:image/jpeg;base64,", popup
        frame.evaluate("() => { window.map.closePopup(); }")

        # Draw a rectangle around the incident (Leaflet.draw, served locally) and plan it.
        for attempt in range(3):  # a live refresh landing on the mouse-down can swallow the drag: redo it
            frame = _map_frame(page)
            if not frame.locator("a.leaflet-draw-actions-bottom, ul.leaflet-draw-actions a").filter(
                    has_text="Cancel").first.is_visible():
                frame.locator("a.leaflet-draw-draw-rectangle").click()
            box = page.locator("iframe[title='streamlit_folium.st_folium']").bounding_box()
            x, y = frame.evaluate("""() => { const p = window.map.latLngToContainerPoint([35.103, 129.033]);
                const r = window.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }""")
            page.mouse.move(box["x"] + x - 150, box["y"] + y - 120)
            page.wait_for_timeout(200)
            page.mouse.down()
            page.mouse.move(box["x"] + x + 150, box["y"] + y + 120, steps=8)
            # A busy machine can still be drawing the last move: settle there before letting go,
            # or the rectangle ends short of the blind spots.
            page.wait_for_timeout(300)
            page.mouse.move(box["x"] + x + 151, box["y"] + y + 121)
            page.wait_for_timeout(300)
            page.mouse.up()
            try:
                page.get_by_text("Drawn area around").wait_for(timeout=20_000 if attempt < 2 else 60_000)
                break
            except Exception:
                if attempt == 2:
                    raise
        page.get_by_role("button", name="Plan a drone survey of the drawn area").click(timeout=60_000)
        page.get_by_text("Planned mission(s)").wait_for(timeout=90_000)
        shot(page, "manager_drawn_area_planned")

        page.get_by_role("link", name="Drone missions").click()
        page.get_by_role("button", name="Dispatch").first.click()
        page.get_by_text("· assigned · drone sim-1").first.wait_for(timeout=60_000)
        assert not page.get_by_text("Traceback").count()
        shot(page, "manager_dispatched", full_page=True)
        # Every other page with the same content (a flying drone, missions, incidents).
        for link, heading in (("Incidents", "Incidents"), ("Cameras", "Cameras"), ("Audit trail", "Audit trail"),
                              ("Field view", "Nearby incidents")):
            page.get_by_role("link", name=link).click()
            page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            assert not page.get_by_test_id("stException").count(), link
            assert not page.get_by_text("Traceback").count(), link
        assert offline.scripts_and_styles() == [], offline.scripts_and_styles()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "manager_failure.png"), full_page=True)
        raise
    finally:
        ctx.close()


def _mission_status(mission_id: int) -> str:
    from disaster_ops.services import missions

    return next(str(getattr(m.status, "value", m.status)) for m in missions.list_missions() if m.id == mission_id)


def _dispatched_mission() -> int:
    """The mission the manager dispatched to sim-1 in the test above (planned and dispatched
    here through the same services when that test was not run)."""
    from disaster_ops.services import missions
    from disaster_ops.services.auth import authenticate
    from geo.aoi import PointRadius

    assigned = [m.id for m in missions.list_missions() if str(getattr(m.status, "value", m.status)) == "assigned"]
    if assigned:
        return assigned[0]
    manager = authenticate("manager", PASSWORDS["manager"])
    mid = missions.plan_gap_survey(PointRadius(lat=35.103, lon=129.033, radius_m=120), principal=manager,
                                   drone_names=["sim-1"]).mission_ids[0]
    missions.assign(mid, "sim-1", principal=manager)
    return mid


def _card(page, mission_id: int, pattern: str):
    """The heading line of a mission's card on the Drone missions page, if it matches ``pattern``."""
    return page.locator("[data-testid='stMarkdownContainer'] p").filter(
        has_text=re.compile(rf"#{mission_id} .*{pattern}")).first


def _waypoint(page, mission_id: int) -> int:
    text = _card(page, mission_id, r"waypoint \d+ of").inner_text(timeout=1000)
    return int(text.split("waypoint ")[1].split()[0])


def test_pilot_flies_the_dispatched_mission_on_the_simulated_vehicle(dashboard, browser):
    url, _inc = dashboard
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    mid = _dispatched_mission()
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    offline = Offline(ctx)
    page = ctx.new_page()
    try:
        _login(page, url, "pilot")
        page.get_by_text("Common operating picture").first.wait_for(timeout=60_000)
        page.get_by_role("link", name="Drone missions").click()
        page.get_by_role("heading", name="Drone missions").wait_for(timeout=60_000)
        page.locator(f".st-key-mis_fly_{mid} button").wait_for(timeout=60_000)
        page.get_by_role("button", name="Download .plan").first.wait_for(timeout=60_000)
        assert page.get_by_role("button", name="Dispatch").count() == 0  # a pilot flies, never dispatches
        shot(page, "pilot_missions")
        page.locator(f".st-key-mis_fly_{mid} button").click()
        page.get_by_role("button", name="Return to launch").first.wait_for(timeout=60_000)
        deadline = time.monotonic() + 30  # the rerun drops the old Fly button a moment later
        while page.locator(f".st-key-mis_fly_{mid} button").count() and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert page.locator(f".st-key-mis_fly_{mid} button").count() == 0, "Fly still offered while flying"
        shot(page, "pilot_fly_requested")
        # The drone worker uploads, arms, takes off and flies; the page follows it live.
        _card(page, mid, "· active ·").wait_for(timeout=90_000)
        deadline = time.monotonic() + 60
        first = None
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                n = _waypoint(page, mid)
                first = n if first is None else first
                if n >= first + 2:
                    break
            page.wait_for_timeout(500)
        assert first is not None and _waypoint(page, mid) >= first + 2, "no progress shown"
        page.screenshot(path=str(ARTIFACTS / "pilot_flying.png"), full_page=True)

        # Pause holds it, resume continues: the worker acts on what the page asked for.
        page.locator(f".st-key-mis_pause_{mid} button").click(timeout=30_000)
        page.locator(f".st-key-mis_resume_{mid} button").wait_for(timeout=30_000)
        assert _mission_status(mid) == "paused"
        page.screenshot(path=str(ARTIFACTS / "pilot_paused.png"), full_page=True)
        # On the map, while it holds: the drone on the mission's path (heading arrow, track).
        page.get_by_role("link", name="Map").click()
        frame = _map_frame(page)
        frame.wait_for_selector(".drone-marker", timeout=60_000)
        frame.evaluate("() => { window.map.setView([35.1025, 129.0332], 16); }")
        page.wait_for_timeout(4000)
        frame = _map_frame(page)
        assert frame.evaluate("""() => { let n = 0; window.map.eachLayer(l => {
            if (l.options && l.options.className === 'mission-path') n++; }); return n; }""") >= 1
        page.screenshot(path=str(ARTIFACTS / "pilot_map_flying.png"))
        page.get_by_role("link", name="Drone missions").click()

        page.locator(f".st-key-mis_resume_{mid} button").click()
        page.locator(f".st-key-mis_pause_{mid} button").wait_for(timeout=30_000)
        assert _mission_status(mid) in ("active", "completed")

        deadline = time.monotonic() + 120
        while _mission_status(mid) not in ("completed", "aborted", "failed") and time.monotonic() < deadline:
            page.wait_for_timeout(1000)
        assert _mission_status(mid) == "completed"
        _card(page, mid, "· completed ·").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "pilot_completed.png"), full_page=True)
        assert not page.get_by_text("Traceback").count()
        assert offline.scripts_and_styles() == [], offline.scripts_and_styles()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "pilot_failure.png"), full_page=True)
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
        # A wrong password first: refused, still on the login page, and audited.
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_label("User name").fill("responder")
        page.get_by_label("Password", exact=True).fill("not-the-password")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("wrong user name or password").wait_for(timeout=60_000)
        from sqlmodel import Session

        from disaster_ops.services.audit import recent
        from disaster_ops.storage.db import get_engine

        with Session(get_engine()) as s:
            failed = recent(s, action="auth.login_failed")
        assert failed and failed[0].actor == "responder" and "wrong_password" in failed[0].details_json
        _login(page, url, "responder")
        page.get_by_text("Nearby incidents").first.wait_for(timeout=60_000)
        ack = page.get_by_role("button", name="Acknowledge")
        ack.first.wait_for(timeout=60_000)
        deadline = time.monotonic() + 10  # the page's touch-target style can land a moment after the button
        while (box := ack.first.bounding_box()) and box["height"] < 44 and time.monotonic() < deadline:
            page.wait_for_timeout(250)
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
        for name in ("Fly", "Pause", "Resume", "Return to launch"):
            assert page.get_by_role("button", name=name).count() == 0, name
        shot(page, "responder_missions", full_page=True)
        assert offline.scripts_and_styles() == [], offline.scripts_and_styles()
        # Nor can that responder dispatch by calling the service directly.
        from disaster_ops.errors import PermissionDenied
        from disaster_ops.services import missions
        from disaster_ops.services.auth import authenticate

        me = authenticate("responder", PASSWORDS["responder"])
        with pytest.raises(PermissionDenied):
            missions.assign(1, "sim-1", principal=me)
        for call in (missions.request_flight, missions.request_pause, missions.request_resume,
                     missions.request_rtl):
            with pytest.raises(PermissionDenied):
                call(1, principal=me)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "responder_failure.png"), full_page=True)
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
