"""Sliced detection on a drone frame: the same detector on overlapping tiles, and the
cells each fire box is made of, in frame pixels, for placing its foot."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from disaster_ops.detect import create_detector
from disaster_ops.detect.stacking import merge_columns
from disaster_ops.detect.tiling import CELL_COLUMNS, CELL_MARGIN, SlicedDetector, tile_windows
from disaster_ops.services.demo import parse_hazard
from drone_link.sim.aerial_camera import CameraSpec, build_scene, render
from geo.aerial import aerial_pose
from geo.box_ground import box_ground_feet
from geo.crs import LocalFrame

CENTER = (35.1300, 129.0700)  # a ground no other test or benchmark uses


def test_tiles_cover_the_frame_and_overlap_by_half():
    wins = tile_windows(640, 480, grid=3)
    assert len(wins) == 9 and wins[0] == (0, 0, 320, 240) and wins[-1] == (320, 240, 640, 480)
    assert wins[1][0] == 160  # half a tile further
    assert tile_windows(640, 480, grid=1) == [(0, 0, 640, 480)]
    with pytest.raises(ValueError):
        tile_windows(640, 480, grid=0)


@pytest.fixture(scope="module")
def nadir_fire():
    f = LocalFrame.tangent(*CENTER)
    lat, lon = (float(v) for v in f.to_latlon(-15.0, 20.0))
    hz = parse_hazard(f"fire,{lat},{lon}", 0)  # the patch with the least floor under its flame
    scene = build_scene(*CENTER, size_m=300.0, hazards=(hz,), seed=31)
    pose = aerial_pose(lat=CENTER[0], lon=CENTER[1], alt_agl_m=75.0, yaw_deg=30.0, gimbal_pitch_deg=-90.0,
                       intrinsics=CameraSpec().intrinsics)
    return hz, pose, render(scene, pose)


def test_each_fire_box_carries_its_cells_in_frame_pixels(nadir_fire):
    hz, pose, img = nadir_fire
    [d] = SlicedDetector(create_detector()).detect_batch([img])
    fires = d[d.kind == "fire"]
    assert len(fires) >= 1
    for box, cells in zip(fires.xyxy, fires.data["cells"]):
        assert cells.shape[1] == len(CELL_COLUMNS) and len(cells)
        # tile cells are 8 model px of a 320×240 tile seen at 320×320: 8 × 6 frame px
        assert set(np.round(cells[:, 3], 3)) == {8.0} and set(np.round(cells[:, 4], 3)) == {6.0}
        cw, ch = CELL_MARGIN * cells[:, 3], CELL_MARGIN * cells[:, 4]
        assert np.all((cells[:, 0] >= box[0] - cw) & (cells[:, 0] <= box[2] + cw))
        assert np.all((cells[:, 1] >= box[1] - ch) & (cells[:, 1] <= box[3] + ch))
    # Whole-frame kinds have no cells; the JSON shape of detections does not carry them.
    assert all(c is None for c in d[d.kind != "fire"].data["cells"])
    assert all(item.get("cells") is None for item in json.loads(json.dumps(d.to_json())))
    # The fire is placed from its cells within a few metres of its base (75 m up).
    merged = merge_columns(fires, pose)
    feet = box_ground_feet(pose, merged.xyxy, cells=merged.data["cells"])
    e, n = (float(v) for v in pose.frame.to_xy_m(hz.lat, hz.lon))
    err = min(math.hypot(feet.ground.east_m[i] - e, feet.ground.north_m[i] - n) for i in range(len(merged)))
    assert err <= 3.0


def test_merged_parts_of_a_column_keep_all_their_cells(nadir_fire):
    from disaster_ops.detect.records import Detections
    from geo.box_ground import down_direction_px

    _hz, pose, img = nadir_fire
    [d] = SlicedDetector(create_detector()).detect_batch([img])
    base = d[d.kind == "fire"][:1]
    b = base.xyxy[0]
    # its tip: the same part moved a quarter of its size up the column (away from world-down)
    gu, gv = down_direction_px(pose, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    shift = -0.25 * np.array([gu * (b[2] - b[0]), gv * (b[3] - b[1])], np.float32)
    cells = base.data["cells"][0]
    tip_cells = cells.copy()
    tip_cells[:, :2] += shift
    tip = Detections(b[None] + np.tile(shift, 2), base.confidence * 0.9, base.kind).with_data(
        cells=np.array([None], dtype=object))
    tip.data["cells"][0] = tip_cells
    out = merge_columns(Detections.merge([base, tip]), pose)
    assert len(out) == 1
    assert len(out.data["cells"][0]) == len(np.unique(np.concatenate([cells, tip_cells]), axis=0))
