"""Label audit: published labels stay the default; audited changes are explicit and explained."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from disaster_ops.cli import app
from disaster_ops.detect.errors import DatasetError
from disaster_ops.detect.evaluation import EvalSample, LabelAudit, load_audit
from tests.conftest import shared_path
from tests.detect.fixtures_detect import fixture_images

runner = CliRunner()


def test_audit_relabels_and_excludes_only_what_it_names():
    audit = LabelAudit(
        relabel={"a.jpg": (frozenset({"smoke"}), "fog plume visible")},
        exclude_dry_crops={"b.jpg": "water in the window"},
    )
    samples = [
        EvalSample(Path("x/a.jpg"), frozenset(), boxes=()),
        EvalSample(Path("x/b.jpg"), frozenset({"flood"})),  # the full photo stays
        EvalSample(Path("x/b.jpg"), frozenset(), crop_xyxy=(0, 0, 10, 10)),  # its "dry" crop goes
        EvalSample(Path("x/c.jpg"), frozenset()),
    ]
    out, changes = audit.apply(samples)
    assert [(s.path.name, sorted(s.kinds), s.crop_xyxy) for s in out] == [
        ("a.jpg", ["smoke"], None), ("b.jpg", ["flood"], None), ("c.jpg", [], None)
    ]
    assert out[0].boxes is None  # relabelled images count at image level only
    assert [(c.file, c.action) for c in changes] == [("a.jpg", "relabel smoke"), ("b.jpg (dry crop)", "exclude")]
    assert all(c.reason for c in changes)


def test_malformed_audit_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "audit.json"
    bad.write_text('{"relabel": {"a.jpg": {"reason": "no kinds"}}}')
    with pytest.raises(DatasetError, match="not a valid label audit"):
        load_audit(bad)


def test_shipped_audit_names_real_files_with_reasons():
    audit = load_audit()
    assert audit.relabel and audit.exclude_dry_crops
    assert all(reason for _, reason in audit.relabel.values())
    root = shared_path("fire_smoke_cctv")
    flood = shared_path("flood_aerial")
    for name in audit.relabel:
        assert (root / "train" / "images" / name).is_file(), name
    for name in audit.exclude_dry_crops:
        assert (flood / "images" / name).is_file(), name


def test_eval_label_audit_changes_the_figures_and_lists_changes(tmp_path, data_dir):
    for kind in ("smoke", "normal"):
        (tmp_path / "ds" / kind).mkdir(parents=True)
        for p in fixture_images(kind):
            shutil.copy(p, tmp_path / "ds" / kind / p.name)
    moved = fixture_images("normal")[0].name
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps({"relabel": {moved: {"kinds": ["smoke"], "reason": "test: say it is smoke"}}}))
    plain = json.loads(runner.invoke(app, ["eval", str(tmp_path / "ds"), "--json"]).stdout)
    res = runner.invoke(app, ["eval", str(tmp_path / "ds"), "--json", "--audit-file", str(audit)])
    assert res.exit_code == 0, res.output
    audited = json.loads(res.stdout)
    assert plain["label_audit"] == []
    assert audited["label_audit"] == [{"file": moved, "action": "relabel smoke", "reason": "test: say it is smoke"}]
    assert audited["normal_images"] == plain["normal_images"] - 1
    assert audited["kinds"]["smoke"]["positives"] == plain["kinds"]["smoke"]["positives"] + 1
    # the quiet normal image relabelled smoke is now a missed smoke image
    assert audited["kinds"]["smoke"]["recall"] < plain["kinds"]["smoke"]["recall"]
    bad = tmp_path / "bad.json"
    bad.write_text("[not json")
    res = runner.invoke(app, ["eval", str(tmp_path / "ds"), "--audit-file", str(bad)])
    assert res.exit_code == 2 and "not a valid label audit" in res.output
