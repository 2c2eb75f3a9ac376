"""The dashboard in a real headless browser (Debian chromium driven by Playwright)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

from disaster_ops.services.demo import seed_sample_data
from tests.conftest import REPO
from tests.disaster_ops.test_demo import _free_port, _wait_http

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture
def dashboard(engine, data_dir):
    if not shutil.which("chromium") and not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    seed_sample_data()
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


def test_map_shows_camera_markers_in_browser(dashboard, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(dashboard, wait_until="domcontentloaded")
            page.get_by_text("Common operating picture").first.wait_for(timeout=60_000)
            page.get_by_text("409 cameras").wait_for(timeout=60_000)
            frame = page.frame_locator("iframe").first
            markers = frame.locator("path.cctv-camera")
            markers.first.wait_for(timeout=60_000)
            assert markers.count() == 409  # 408 Busan registry rows + the demo replay camera
            page.screenshot(path=str(tmp_path / "map.png"))
        finally:
            browser.close()
