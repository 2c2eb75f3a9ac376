import pytest

from disaster_ops.registry import parse_view_text


@pytest.mark.parametrize(
    ("text", "count", "heading", "fov", "range_m", "source"),
    [
        ("360도 전방면", 1, None, 360.0, None, "registry-text"),
        ("360도다방면", 1, None, 360.0, None, "registry-text"),
        ("360°", 1, None, 360.0, None, "registry-text"),
        ("360", 1, None, 360.0, None, "registry-text"),
        ("회전", 1, None, 360.0, None, "registry-text"),
        ("반경 2~3m", 1, None, 360.0, 3.0, "registry-text"),
        ("90도 정면", 1, None, 90.0, None, "registry-angle"),
        ("60도 단방향", 1, None, 60.0, None, "registry-angle"),
        ("130", 1, None, 130.0, None, "registry-angle"),
        ("45°", 1, None, 45.0, None, "registry-angle"),
        ("동측", 1, 90.0, None, None, "registry-compass"),
        ("북서", 1, 315.0, None, None, "registry-compass"),
        ("남쪽", 1, 180.0, None, None, "registry-compass"),
        ("서향", 1, 270.0, None, None, "registry-compass"),
        ("고정", 1, None, None, None, "default"),
        ("", 1, None, None, None, "default"),
        ("센트레빌 앞", 1, None, None, None, "default"),
        # several cameras on one pole look several ways: modelled as 360° coverage
        ("", 3, None, 360.0, None, "camera-count"),
        ("동측", 2, None, 360.0, None, "camera-count"),
    ],
)
def test_view_text_maps_to_heading_fov(text, count, heading, fov, range_m, source):
    v = parse_view_text(text, camera_count=count)
    assert (v.heading_deg, v.fov_deg, v.range_m, v.source) == (heading, fov, range_m, source)
