"""``disaster-ops detect`` JSON contract and ``disaster-ops eval`` figures."""

import json
import shutil

from typer.testing import CliRunner

from disaster_ops.cli import app
from tests.conftest import run_cli, shared_path
from tests.detect.fixtures_detect import FIXTURES, fixture_images

runner = CliRunner()


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_detect_json_images_video_and_corrupt_file(tmp_path, data_dir):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff garbage")
    fire, normal = fixture_images("fire")[0], fixture_images("normal")[0]
    res = runner.invoke(
        app, ["detect", str(fire), str(corrupt), str(normal), str(FIXTURES / "house6_clip.mp4"), "--fps", "1", "--json"]
    )
    assert res.exit_code == 2, res.output  # one input failed, the others still ran
    objs = _lines(res.stdout)
    by_src = {}
    for o in objs:
        by_src.setdefault(o["source"], []).append(o)
    assert by_src[str(corrupt)] == [
        {"source": str(corrupt), "frame": None, "error": "not a decodable image (corrupt or unsupported format)"}
    ]
    fire_obj = by_src[str(fire)][0]
    assert fire_obj["frame"] == 0
    det = next(d for d in fire_obj["detections"] if d["kind"] == "fire")
    assert 0 <= det["confidence"] <= 1 and len(det["bbox"]) == 4
    assert by_src[str(normal)][0]["detections"] == []
    video = by_src[str(FIXTURES / "house6_clip.mp4")]
    assert [o["frame"] for o in video] == list(range(0, 120, 15))  # 8 s clip at 15 fps, 1 frame/s
    assert all(set(o) == {"source", "frame", "detections"} for o in video)
    with_fire = [o for o in video if any(d["kind"] == "fire" for d in o["detections"])]
    assert len(with_fire) >= 6  # the flames in the windows, frame after frame


def test_detect_folder_in_a_subprocess(tmp_path, data_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in fixture_images("smoke")[:2]:
        shutil.copy(p, folder / p.name)
    p = run_cli("detect", str(folder), "--json", env_extra={"DISASTER_OPS_DATA_DIR": str(data_dir)})
    assert p.returncode == 0, p.stderr
    objs = _lines(p.stdout)
    assert len(objs) == 2 and all(any(d["kind"] == "smoke" for d in o["detections"]) for o in objs)


def test_detect_bad_options_fail_with_one_line(tmp_path, data_dir):
    res = runner.invoke(app, ["detect", str(tmp_path), "--json"])
    assert res.exit_code == 2 and "no image or video" in res.output
    res = runner.invoke(app, ["detect", str(fixture_images("fire")[0]), "--imgsz", "300"])
    assert res.exit_code == 2 and "multiple of 32" in res.output


def test_eval_class_folders_json(tmp_path, data_dir):
    for kind in ("fire", "smoke", "normal"):
        (tmp_path / "ds" / kind).mkdir(parents=True)
        for p in fixture_images(kind):
            shutil.copy(p, tmp_path / "ds" / kind / p.name)
    res = runner.invoke(app, ["eval", str(tmp_path / "ds"), "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["images"] == 9 and rep["normal_images"] == 3
    assert rep["kinds"]["fire"]["recall"] == 1.0 and rep["kinds"]["smoke"]["recall"] == 1.0
    assert rep["false_alarm_rate"] == 0.0


def test_eval_yolo_layout_with_boxes(tmp_path, data_dir):
    src = shared_path("fire_smoke_cctv")
    ds = tmp_path / "yolo"
    (ds / "images").mkdir(parents=True)
    (ds / "labels").mkdir()
    shutil.copy(src / "data.yaml", ds / "data.yaml")
    for p in sorted((src / "valid" / "images").glob("*.jpg"))[::6]:
        shutil.copy(p, ds / "images" / p.name)
        shutil.copy(src / "valid" / "labels" / (p.stem + ".txt"), ds / "labels" / (p.stem + ".txt"))
    res = runner.invoke(app, ["eval", str(ds)])
    assert res.exit_code == 0, res.output
    assert "mAP50" in res.stdout and "fire" in res.stdout
    res = runner.invoke(app, ["eval", str(tmp_path / "nothing-here")])
    assert res.exit_code == 2 and "not a folder" in res.output
