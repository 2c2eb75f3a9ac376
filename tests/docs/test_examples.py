"""Every ``console`` example in the documentation runs, as written, against a real SQLite
database seeded from ``sample_data/`` (the convention: ``tests/docs/examples.py``).

The database is seeded once and copied for each page; the pages run side by side (one
worker per CPU), each in its own directory, so the whole file stays well under a minute.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.docs.examples import Example, Step, examples_in, parse_steps

PAGES = sorted(p for p in (REPO / "docs").rglob("*.md") if "_hooks" not in p.parts) + [REPO / "README.md"]
WITH_EXAMPLES = [p for p in PAGES if examples_in(p)]
# bash runs each command; the product's command line is this interpreter's package.
PRELUDE = 'set -o pipefail\ndisaster-ops() { "$DOCS_PYTHON" -m disaster_ops "$@"; }\n'
STEP_TIMEOUT_S = 120
DB_NAME = "disaster_ops.db"


@dataclass
class Failure:
    example: Example
    step: Step
    message: str

    def __str__(self) -> str:
        return f"{self.example.where}: $ {self.step.command}\n{self.message}"


def _seed_template(data_dir: Path, monkeypatch) -> Path:
    """The demo's seed (accounts, sample registries) plus one fire incident; returns the DB file."""
    from disaster_ops.config import get_settings
    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services.demo import seed_sample_data
    from disaster_ops.services.incidents import ingest
    from disaster_ops.storage.migrate import upgrade

    monkeypatch.setenv("DISASTER_OPS_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    try:
        upgrade()
        seed_sample_data()
        ingest([GroundDetection(source_kind="cctv", source_id="cam-1", observed_at=datetime.now(UTC),
                                kind="fire", confidence=0.9, bbox_px=(1, 1, 5, 5), ground_lat=35.103,
                                ground_lon=129.033)])
    finally:
        get_settings.cache_clear()
    db = data_dir / DB_NAME
    with sqlite3.connect(db) as con:  # everything into the main file, so a plain copy is whole
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def _run_page(page: Path, work: Path, template_db: Path, env: dict) -> list[Failure]:
    work.mkdir(parents=True)
    (work / "sample_data").symlink_to(REPO / "sample_data", target_is_directory=True)
    data_dir = work / "var"
    data_dir.mkdir()
    shutil.copyfile(template_db, data_dir / DB_NAME)
    env = dict(env, DISASTER_OPS_DATA_DIR=str(data_dir), HOME=str(work))
    groups: list[int] = []
    try:
        for example in examples_in(page):
            for step in example.steps:
                # Own process group: whatever a step leaves in the background is ended below.
                proc = subprocess.Popen(["bash", "-c", PRELUDE + step.command], cwd=work, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
                groups.append(proc.pid)
                try:
                    printed, _ = proc.communicate(timeout=STEP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    printed, _ = proc.communicate()
                    return [Failure(example, step, f"still running after {STEP_TIMEOUT_S} s\n{printed}")]
                if proc.returncode != 0:
                    return [Failure(example, step, f"exit {proc.returncode}\n{printed}")]
                flat = " ".join(printed.split())  # column alignment is not part of the contract
                for line in step.expected:
                    if " ".join(line.split()) not in flat:
                        return [Failure(example, step, f"expected output line not printed: {line!r}\n"
                                                       f"--- printed:\n{printed}")]
        return []
    finally:
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture(scope="module")
def page_results(tmp_path_factory) -> dict[Path, list[Failure]]:
    root = tmp_path_factory.mktemp("doc-examples")
    # The examples see the defaults: none of this process's settings or passwords.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("DISASTER_OPS_")}
    env.update(DOCS_PYTHON=sys.executable, COLUMNS="200", NO_COLOR="1", TERM="dumb")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    with pytest.MonkeyPatch.context() as mp:
        for k in [k for k in os.environ if k.startswith("DISASTER_OPS_") or k == "DATABASE_URL"]:
            mp.delenv(k)
        template = _seed_template(root / "template", mp)
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        futures = {p: pool.submit(_run_page, p, root / f"page{i}", template, env)
                   for i, p in enumerate(WITH_EXAMPLES)}
        return {p: f.result() for p, f in futures.items()}


def test_the_docs_have_examples():
    # The convention must stay in use: the quickstart, the role guides and the formats page.
    names = {p.name for p in WITH_EXAMPLES}
    assert {"quickstart.md", "admin.md", "manager.md", "pilot.md", "file-formats.md"} <= names, names


@pytest.mark.parametrize("page", WITH_EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_examples_run(page: Path, page_results):
    failures = page_results[page]
    assert not failures, "\n\n".join(map(str, failures))


def test_the_convention_parses_continuations_and_output():
    steps = parse_steps(["$ disaster-ops plan \\", "    --out m.plan", "wrote m.plan", "...",
                         "$ echo done", "done"])
    assert [s.command for s in steps] == ["disaster-ops plan \\\n    --out m.plan", "echo done"]
    assert [s.expected for s in steps] == [["wrote m.plan"], ["done"]]
    with pytest.raises(ValueError):
        parse_steps(["orphan output"])
