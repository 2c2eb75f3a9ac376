"""The documentation site builds with warnings as errors, fetches nothing from outside,
and its generated references cover the whole command line and every setting."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pydantic
import pytest

from tests.conftest import REPO

DOCS = REPO / "docs"
HOOK = DOCS / "_hooks" / "generate.py"
IMAGE_REF = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<img\s[^>]*src=\"([^\"]+)\"")
# Tags whose attribute makes a browser fetch something while showing the page.
FETCHING = re.compile(r"<(script|link|img|iframe|source|video|audio)\b[^>]*?\b(src|href)=\"([^\"]+)\"", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


def _hook():
    spec = importlib.util.spec_from_file_location("docs_generate_hook", HOOK)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_site_builds_strict_and_fetches_nothing_from_outside(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 15, pages
    outside = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        outside += [f"{page.name}: <{tag} {url}>" for tag, _attr, url in FETCHING.findall(text)
                    if re.match(r"(https?:)?//", url)]
    for css in site.rglob("*.css"):
        outside += [f"{css.name}: url({u})" for u in CSS_URL.findall(css.read_text(encoding="utf-8"))
                    if re.match(r"(https?:)?//", u)]
    assert outside == [], outside  # no web fonts, CDN scripts or remote images: it builds and reads offline
    assert "fonts.googleapis" not in (site / "index.html").read_text(encoding="utf-8")


def test_cli_reference_covers_every_command_and_option(site):
    hook = _hook()
    html = unescape((site / "reference" / "cli.html").read_text(encoding="utf-8"))
    assert hook.CLI_MARKER not in html
    missing = []
    for entry in hook.walk_cli():
        if entry.path and f'id="{entry.anchor}"' not in html:
            missing.append(entry.name)
        for param in (p for p in entry.command.params if not getattr(p, "hidden", False)):
            for opt in getattr(param, "opts", []):
                if opt.startswith("-") and opt not in html:
                    missing.append(f"{entry.name} {opt}")
    assert missing == [], missing
    assert len(list(hook.walk_cli())) >= 30


def test_configuration_reference_lists_every_setting(site):
    hook = _hook()
    html = unescape((site / "reference" / "configuration.html").read_text(encoding="utf-8"))
    assert hook.SETTINGS_MARKER not in html
    fields = list(hook.walk_settings())
    assert len(fields) >= 40
    missing = [f.key for f in fields if any(e not in html for e in f.env_names) or f.path[-1] not in html]
    assert missing == [], missing


def test_documented_environment_variables_really_set_the_settings(monkeypatch):
    """Each variable the reference names reaches its field (a wrong name would be ignored):
    a probe value either lands in the field or is refused with an error naming the field."""
    from disaster_ops.config import Settings

    hook = _hook()
    for var in list(os.environ):
        if var.startswith("DISASTER_OPS_") or var == "DATABASE_URL":
            monkeypatch.delenv(var)
    for f in hook.walk_settings():
        annotation = hook._type_name(f.info.annotation)
        if annotation in ("float", "int", "float or none", "int or none"):
            probe = "not-a-number"  # never valid: must be refused, naming this field
        elif "str" in annotation or "path" in annotation:
            probe = "sqlite:///doc-check.db" if f.key == "database_url" else "doc-check"
        elif annotation == "bool":
            probe = "not-a-bool"  # never valid: must be refused, naming this field
        else:  # a type this test does not know how to exercise: extend it
            pytest.fail(f"{f.key}: no check for settings of type {annotation}")
        for env in f.env_names:
            with monkeypatch.context() as m:
                m.setenv(env, probe)
                try:
                    value = Settings()
                except pydantic.ValidationError as err:
                    locs = [tuple(e["loc"]) for e in err.errors()]
                    assert f.path in locs, (env, locs)
                    continue
                assert probe not in ("not-a-number", "not-a-bool"), f"{env}={probe} was accepted"
                for part in f.path:
                    value = getattr(value, part)
                assert str(value) == probe or str(value).endswith("doc-check"), (env, value)


def test_every_image_the_docs_show_exists_and_is_small():
    referenced = set()
    problems = []
    for page in [*DOCS.rglob("*.md"), REPO / "README.md"]:
        for m in IMAGE_REF.finditer(page.read_text(encoding="utf-8")):
            src = m.group(1) or m.group(2)
            if re.match(r"(https?:)?//", src):
                problems.append(f"{page.name}: remote image {src}")
                continue
            img = (page.parent / src.split("#")[0]).resolve()
            referenced.add(img)
            if not img.is_file():
                problems.append(f"{page.relative_to(REPO)}: missing image {src}")
            elif img.stat().st_size > 400_000:
                problems.append(f"{src}: {img.stat().st_size} bytes (optimise it: tests/ui/doc_screenshots.py)")
    assert problems == [], problems
    shown = {p.resolve() for p in (DOCS / "img").glob("*.png")}
    assert shown, "no screenshots under docs/img"
    assert shown - referenced == set(), f"images no page shows: {sorted(shown - referenced)}"


@pytest.mark.parametrize("page", ["README.md", "docs/quickstart.md"])
def test_quickstart_pages_give_the_two_commands_and_the_real_demo_accounts(page):
    """README stays a short quickstart pointing to the site; the accounts it lists are the
    ones `make demo` creates (disaster_ops.services.demo.DEMO_USERS), passwords included."""
    from disaster_ops.services.demo import DEMO_USERS

    text = (REPO / page).read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
    for name, role, password, _agency in DEMO_USERS:
        assert re.search(rf"\|\s*`{re.escape(name)}`\s*\|\s*`{re.escape(password)}`\s*\|", text), (name, role)
    if page == "README.md":
        assert len(text.splitlines()) <= 80, "README.md is the short quickstart; put the rest in docs/"
        assert "make docs" in text and "(docs/index.md)" in text
