"""Per-camera detection settings: set from the CLI, stored, audited, used by the watcher."""

import json

from sqlmodel import Session
from typer.testing import CliRunner

from disaster_ops.cli import app
from disaster_ops.services import audit
from disaster_ops.services.camera_config import get_detect_config
from disaster_ops.services.watch import _settings
from disaster_ops.storage.models import Camera
from tests.conftest import REPO, shared_path

runner = CliRunner()
KEY = "cam:demo-replay-1"


def _cli(*args: str):
    return runner.invoke(app, list(args))


def _import_demo_camera() -> None:
    res = _cli("cameras", "import", "--local-admin", str(REPO / "sample_data" / "cameras_demo.geojson"))
    assert res.exit_code == 0, res.output


def test_set_show_and_reset_settings_with_audit(engine):
    from disaster_ops.services.auth import add_user
    from disaster_ops.services.roles import Principal, Role

    _import_demo_camera()
    add_user("park", "park-password-1", role="manager", principal=Principal("local:test", Role.ADMIN))
    res = runner.invoke(app, ["cameras", "config", KEY, "--kinds", "fire,smoke", "--threshold", "fire=0.9",
                              "--exclude", "0,0 120,0 120,40", "--as", "park", "--json"],
                        env={"DISASTER_OPS_PASSWORD": "park-password-1"})
    assert res.exit_code == 0, res.output
    shown = json.loads(res.stdout)
    assert shown["kinds"] == ["fire", "smoke"] and shown["thresholds"] == {"fire": 0.9}
    assert shown["exclude"] == [[[0.0, 0.0], [120.0, 0.0], [120.0, 40.0]]]
    cfg = get_detect_config(KEY, engine=engine)  # stored, as the watcher will read it
    assert cfg.kinds == ["fire", "smoke"] and cfg.thresholds == {"fire": 0.9}
    with Session(engine) as s:
        ev = audit.recent(s, action="camera.configure_detection")[0]
    assert ev.actor == "park" and ev.object_id == KEY and '"fire": 0.9' in ev.details_json
    assert "exclusions 1" in _cli("cameras", "config", KEY).stdout  # plain show changes nothing
    res = _cli("cameras", "config", KEY, "--local-admin", "--reset", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["kinds"] == ["fire", "smoke", "flood"]
    with Session(engine) as s:
        assert s.get(Camera, 1).detect_config is None


def test_flood_reference_is_copied_into_the_data_dir(engine, data_dir):
    _import_demo_camera()
    ref = shared_path("flood_aerial", "images", "1012.jpg")
    res = _cli("cameras", "config", KEY, "--local-admin", "--flood-reference", str(ref), "--ground-roi", "0,200 800,200 800,600 0,600",
               "--json")
    assert res.exit_code == 0, res.output
    flood = json.loads(res.stdout)["flood"]
    assert flood["mode"] == "reference" and len(flood["ground_roi"]) == 1
    assert flood["reference_image"].startswith(str((data_dir / "references").resolve()))
    res = _cli("cameras", "config", KEY, "--local-admin", "--flood-direct", "--json")
    assert json.loads(res.stdout)["flood"]["mode"] == "direct"


def test_bad_settings_are_refused_and_nothing_is_stored(engine, tmp_path):
    _import_demo_camera()
    _cli("cameras", "config", KEY, "--local-admin", "--threshold", "smoke=0.8")
    bad_image = tmp_path / "not-an-image.jpg"
    bad_image.write_text("hello")
    bad_json = tmp_path / "cfg.json"
    bad_json.write_text('{"confirm": {"required": 6, "window": 5}}')
    cases = [
        (["--threshold", "fire"], "not KIND=VALUE"),
        (["--threshold", "fire=1.5"], "outside 0..1"),
        (["--roi", "1,2 3,4"], "at least 3 points"),
        (["--roi", "a,b c,d e,f"], "not a polygon"),
        (["--kinds", ","], "at least one hazard kind"),
        (["--flood-reference", str(bad_image)], "not a decodable image"),
        (["--file", str(bad_json)], "confirm"),
    ]
    for extra, message in cases:
        res = _cli("cameras", "config", KEY, "--local-admin", *extra)
        assert res.exit_code == 2 and message in res.output, (extra, res.output)
    assert get_detect_config(KEY, engine=engine).thresholds == {"smoke": 0.8}  # untouched
    res = _cli("cameras", "config", "cam:nope")
    assert res.exit_code == 2 and "no camera with key" in res.output


def test_watcher_falls_back_to_defaults_on_a_bad_stored_row():
    cam = Camera(source_key="cam:x", name="x", lat=35.1, lon=129.0, detect_config='{"kinds": []}')
    assert _settings(cam).kinds == ["fire", "smoke", "flood"]
    cam.detect_config = '{"kinds": ["fire"]}'
    assert _settings(cam).kinds == ["fire"]


def test_people_counting_and_far_zoom_settings_are_stored(engine, tmp_path):
    """The counting hold and the far-field zoom are per-camera people settings (issue #16)."""
    _import_demo_camera()
    good = tmp_path / "people.json"
    good.write_text(json.dumps({"count_occluded_hold_s": 0.0, "far_zoom_share": 0.4}))
    res = _cli("cameras", "config", KEY, "--local-admin", "--people-json", str(good), "--json")
    assert res.exit_code == 0, res.output
    cfg = get_detect_config(KEY, engine=engine)
    assert cfg.people.count_occluded_hold_s == 0.0 and cfg.people.far_zoom_share == 0.4
    assert cfg.people.count_inner_margin_share == 0.2  # defaults kept
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"far_zoom_share": 0.9}))
    res = _cli("cameras", "config", KEY, "--local-admin", "--people-json", str(bad))
    assert res.exit_code == 2 and "far_zoom_share" in res.output
    assert get_detect_config(KEY, engine=engine).people.far_zoom_share == 0.4  # nothing stored
