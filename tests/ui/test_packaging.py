"""A built (non-editable) wheel carries the dashboard: pages, vendored Leaflet, Leaflet.draw,
the boundary background; the installed map must not depend on the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.conftest import REPO


def test_wheel_contains_pages_and_every_map_asset(tmp_path):
    import importlib.util

    # Build with this environment's setuptools when it has one (fast, offline); otherwise pip
    # fetches the build backend as a user's `pip wheel` would.
    no_iso = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *no_iso, "-q",
                          "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=600,
                         check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    wheel = next(tmp_path.glob("disaster_ops-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [p.relative_to(REPO).as_posix() for p in (REPO / "ui").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts]
    missing = [p for p in expected if p not in names]
    assert not missing, missing
    for must in ("ui/app.py", "ui/app_pages/map.py", "ui/static/vendor/leaflet/leaflet.js",
                 "ui/static/vendor/leaflet-draw/leaflet.draw.js", "ui/static/basemap/kr_provinces.geojson",
                 "disaster_ops/migrations/versions/0003_auth_users.py"):
        assert must in names, must
