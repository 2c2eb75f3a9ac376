"""folium layers (display only)."""

from __future__ import annotations

import folium

from disaster_ops.services.cop import CameraMarker

STATUS_COLOURS = {"online": "#2e7d32", "offline": "#c62828", "unknown": "#546e7a", "disabled": "#9e9e9e"}


def add_camera_layer(fmap: folium.Map, markers: list[CameraMarker]) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="CCTV cameras", show=True)
    for m in markers:
        folium.CircleMarker(
            location=(m.lat, m.lon), radius=4, weight=1,
            color=STATUS_COLOURS.get(m.status, "#546e7a"), fill=True, fill_opacity=0.8,
            tooltip=f"{m.name} · {m.purpose} · fov {m.fov_deg:.0f}° · {m.range_m:.0f} m ({m.view_source})",
        ).add_to(group)
    group.add_to(fmap)
    return group
