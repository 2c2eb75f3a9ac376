"""Every ``console`` example in the documentation runs, as written, against a real SQLite
database seeded from ``sample_data/`` (the convention: ``tests/docs/examples.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.docs.examples import examples_in, parse_steps

PAGES = sorted(p for p in (REPO / "docs").rglob("*.md") if "_hooks" not in p.parts) + [REPO / "README.md"]
WITH_EXAMPLES = [p for p in PAGES if examples_in(p)]
# bash runs each command; the product's command line is this interpreter's package.
PRELUDE = 'set -o pipefail\ndisaster-ops() { "$DOCS_PYTHON" -m disaster_ops "$@"; }\n'
STEP_TIMEOUT_S = 120


def _seed(data_dir: Path, monkeypatch) -> None:
    from disaster_ops.config import get_settings
    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.demo import seed_sample_data
    from disaster_ops.services.incidents import ingest
    from disaster_ops.storage.migrate import upgrade

    monkeypatch.setenv("DISASTER_OPS_DATA_DIR", str(data_dir))
    for var in ("DATABASE_URL", "DISASTER_OPS_DATABASE_URL", "DISASTER_OPS_CONFIG", "DISASTER_OPS_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    try:
        upgrade()
        seed_sample_data()
        ingest([GroundDetection(source_kind="cctv", source_id="cam-1", observed_at=datetime.now(UTC),
                                kind="fire", confidence=0.9, bbox_px=(1, 1, 5, 5), ground_lat=35.103,
                                ground_lon=129.033)])
    finally:
        get_settings.cache_clear()


def test_the_docs_have_examples():
    # The convention must stay in use: the quickstart, the role guides and the formats page.
    names = {p.name for p in WITH_EXAMPLES}
    assert {"quickstart.md", "admin.md", "manager.md", "pilot.md", "file-formats.md"} <= names, names


@pytest.mark.parametrize("page", WITH_EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_examples_run(page: Path, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "sample_data").symlink_to(REPO / "sample_data", target_is_directory=True)
    data_dir = work / "var"
    _seed(data_dir, monkeypatch)
    env = dict(os.environ, DOCS_PYTHON=sys.executable, DISASTER_OPS_DATA_DIR=str(data_dir),
               COLUMNS="200", NO_COLOR="1", TERM="dumb", HOME=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    for example in examples_in(page):
        for step in example.steps:
            proc = subprocess.run(["bash", "-c", PRELUDE + step.command], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False)
            printed = proc.stdout + proc.stderr
            flat = " ".join(printed.split())  # column alignment is not part of the contract
            where = f"{example.where}: $ {step.command}"
            assert proc.returncode == 0, f"{where}\nexit {proc.returncode}\n{printed}"
            for line in step.expected:
                assert " ".join(line.split()) in flat, \
                    f"{where}\nexpected output line not printed: {line!r}\n--- printed:\n{printed}"


def test_the_convention_parses_continuations_and_output():
    steps = parse_steps(["$ disaster-ops plan \\", "    --out m.plan", "wrote m.plan", "...",
                         "$ echo done", "done"])
    assert [s.command for s in steps] == ["disaster-ops plan \\\n    --out m.plan", "echo done"]
    assert [s.expected for s in steps] == [["wrote m.plan"], ["done"]]
    with pytest.raises(ValueError):
        parse_steps(["orphan output"])
