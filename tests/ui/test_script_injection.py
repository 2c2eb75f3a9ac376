"""Stored script injection: hostile camera, drone and mission names imported from a
registry file (and a drone/mission record) must show as text in a real browser and never
run. folium writes tooltip text into a JavaScript template literal, so `${...}` would run
on load and `<img onerror>` on hover if names were not escaped (issue #17)."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.disaster_ops.test_demo import _free_port, _wait_http
from tests.ui.test_browser import _map_frame

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser

HOSTILE = [
    '${(window.top.document.title="PWNED")}',
    '</script><script>window.top.document.title="PWNED"</script>',
    '<img src=x class=pwned onerror="window.top.document.title=\'PWNED\'">',
    '`;window.top.document.title="PWNED";`',
    '\\${alert("PWNED")}',
]


def _seed_hostile(engine, tmp_path) -> None:
    from disaster_ops.services.cameras import import_registry
    from disaster_ops.services.drones import record_mission, register_drone
    from disaster_ops.services.roles import Principal, Role
    from disaster_ops.storage.db import session_scope
    from disaster_ops.storage.models import DroneState
    from drone_link.mission import Cmd, Mission, MissionItem

    reg = tmp_path / "hostile.csv"
    with reg.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "lat", "lon", "purpose", "operator"])
        for i, name in enumerate(HOSTILE):
            w.writerow([name, 35.10 + i * 0.001, 129.03, name, name])
    report = import_registry(reg, engine=engine)
    assert report.imported == len(HOSTILE), report.skipped
    with session_scope(engine) as s:
        for i, name in enumerate(HOSTILE):
            d = register_drone(s, name=name, connection=f"udpin:127.0.0.1:{18250 + i}")
            s.add(DroneState(drone_id=d.id, lat=35.10 + i * 0.001, lon=129.04, alt_rel_m=50.0,
                             heading_deg=90.0, battery_pct=80.0, mode=name[:40], link_ok=True))
            mission = Mission(items=[MissionItem(Cmd.NAV_WAYPOINT, lat_deg=35.10 + i * 0.001, lon_deg=129.051,
                                                 alt_m=50.0),
                                     MissionItem(Cmd.NAV_WAYPOINT, lat_deg=35.101 + i * 0.001, lon_deg=129.052,
                                                 alt_m=50.0)],
                              home_lat_deg=35.10, home_lon_deg=129.05)
            record_mission(s, mission, name=name, principal=Principal(name=name, role=Role.MANAGER))


OPEN_TOOLTIPS = """() => {
    const out = {cameras: 0, drones: 0, texts: []};
    window.map.eachLayer(l => {
        const cls = l.options && (l.options.className || (l.options.icon && l.options.icon.options.className));
        if ((cls !== 'cctv-camera' && cls !== 'drone-icon') || !l.getTooltip || !l.getTooltip()) return;
        if (cls === 'cctv-camera') out.cameras++; else out.drones++;
        l.openTooltip();
        const el = l.getTooltip().getElement();
        out.texts.push(el ? el.innerText : '');
        l.closeTooltip();
    });
    return out;
}"""


@pytest.fixture
def hostile_dashboard(engine, data_dir, tmp_path):
    if not shutil.which("chromium") and not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    _seed_hostile(engine, tmp_path)
    from disaster_ops.services.demo import seed_demo_users

    seed_demo_users()
    port = _free_port()
    env = dict(os.environ, DISASTER_OPS_DATA_DIR=str(data_dir))
    proc = subprocess.Popen([sys.executable, "-m", "disaster_ops", "serve", "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        assert _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 90), "dashboard never came up"
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_hostile_names_show_as_text_and_never_run(hostile_dashboard, tmp_path):
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            from disaster_ops.services.demo import DEMO_USERS

            password = next(pw for name, _role, pw, _agency in DEMO_USERS if name == "manager")
            page.goto(hostile_dashboard, wait_until="domcontentloaded")
            page.get_by_label("User name").fill("manager")
            page.get_by_label("Password", exact=True).fill(password)
            page.get_by_role("button", name="Log in").click()
            page.get_by_text("Common operating picture").first.wait_for(timeout=60_000)
            page.get_by_text(f"{len(HOSTILE)} cameras").wait_for(timeout=60_000)
            # The map draws on a canvas (many cameras): open each marker's tooltip the way a
            # hover does; Leaflet builds the tooltip's HTML only then.
            frame = _map_frame(page)
            page.screenshot(path=str(tmp_path / "hostile.png"))
            print("browser errors:", errors)
            opened = frame.evaluate(OPEN_TOOLTIPS)
            assert opened["cameras"] == len(HOSTILE) and opened["drones"] == len(HOSTILE), opened
            tooltips = opened["texts"]
            page.wait_for_timeout(3_500)  # the reported payload ran 3 s after load
            page.screenshot(path=str(tmp_path / "hostile.png"))

            assert "PWNED" not in page.title()
            assert not dialogs
            assert frame.evaluate("() => document.querySelectorAll(\"img.pwned, img[src='x']\").length") == 0
            assert page.locator("img.pwned").count() == 0
            # The names are shown as the literal text the registry holds.
            shown = "\n".join(tooltips)
            for name in HOSTILE:
                assert shown.count(name) >= 2, (name, shown)  # camera name + purpose
                assert f"{name} · {name[:40]}" in shown  # drone name + mode
            # Mission names appear in the layer-free mission tooltips and the missions page.
            page.get_by_text("Drone missions").first.click()
            page.get_by_text(HOSTILE[0]).first.wait_for(timeout=30_000)
            page.wait_for_timeout(1_000)
            assert "PWNED" not in page.title()
            assert not dialogs
            assert page.locator("img.pwned, img[src='x']").count() == 0
        finally:
            browser.close()
