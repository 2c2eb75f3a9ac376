"""Input handling: corrupt, empty, grayscale, 4-channel, 16-bit, float and video files."""

import cv2
import numpy as np
import pytest

from disaster_ops.detect import FrameError
from disaster_ops.detect.frames import expand_inputs, iter_video, read_image, to_bgr
from tests.detect.fixtures_detect import FIXTURES, fixture_images


def test_read_real_jpeg():
    img = read_image(fixture_images("fire")[0])
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), None),
        (lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)[:, :, None], None),
        (lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2BGRA), None),
        (lambda im: im.astype(np.uint16) * 257, None),
        (lambda im: im.astype(np.float32) / 255.0, None),
    ],
)
def test_to_bgr_normalises_channels_and_depth(make, shape):
    im = read_image(fixture_images("normal")[0])
    out = to_bgr(make(im))
    assert out.shape == im.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int).mean() - im.astype(int).mean()) < 40


@pytest.mark.parametrize(
    "arr, reason",
    [
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 3), np.uint8), "too small"),
        (np.zeros((32, 32, 2), np.uint8), "unsupported image shape"),
        (np.full((32, 32), np.nan, np.float32), "NaN"),
        ("not an array", "numpy image"),
    ],
)
def test_to_bgr_rejects(arr, reason):
    with pytest.raises(FrameError, match=reason):
        to_bgr(arr, source="cam-1")


def test_read_image_errors_name_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(fixture_images("fire")[0].read_bytes()[:200])
    for path, reason in [(corrupt, "not a decodable"), (empty, "empty file"), (tmp_path / "missing.jpg", "no such file")]:
        with pytest.raises(FrameError) as err:
            read_image(path)
        assert err.value.source == str(path) and reason in err.value.reason
    with pytest.raises(FrameError):
        read_image(truncated)


def test_png_with_alpha_and_16bit_gray_files(tmp_path):
    im = read_image(fixture_images("smoke")[0])
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(im, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(tmp_path / "g16.png"), cv2.cvtColor(im, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)
    assert read_image(tmp_path / "a.png").shape == im.shape
    assert read_image(tmp_path / "g16.png").shape == im.shape


def test_video_sampling_and_bad_video(tmp_path):
    clip = FIXTURES / "house6_clip.mp4"
    frames = list(iter_video(clip, fps=2.0))
    assert [f.frame_index for f in frames[:3]] == [0, 8, 15]  # 15 fps clip sampled at 2/s
    assert len(frames) == 16 and frames[0].image.shape == (240, 426, 3)
    assert len(list(iter_video(clip, fps=None, max_frames=5))) == 5
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(FrameError):
        list(iter_video(bad, fps=1.0))


def test_expand_folders(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "v.mp4").write_bytes(b"x")
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.jpg", "v.mp4"]
