"""folium layers (display only)."""

from __future__ import annotations

import folium

import json

from disaster_ops.services.cop import CameraMarker, IncidentMarker

# Leaflet is served by the dashboard itself (ui/static, Streamlit static serving) so the
# map works on a closed disaster network; folium's defaults point at public CDNs.
LOCAL_JS = [("leaflet", "/app/static/vendor/leaflet/leaflet.js")]
LOCAL_CSS = [("leaflet_css", "/app/static/vendor/leaflet/leaflet.css")]
OSM_TILES = "OpenStreetMap"

STATUS_COLOURS = {"online": "#2e7d32", "offline": "#c62828", "unknown": "#546e7a", "disabled": "#9e9e9e"}


def base_map(center: tuple[float, float], *, zoom_start: int = 15, tiles: str | None = OSM_TILES) -> folium.Map:
    """A folium map that loads Leaflet from the dashboard, not from the internet."""
    fmap = folium.Map(location=center, zoom_start=zoom_start, tiles=None, control_scale=True)
    fmap.default_js = list(LOCAL_JS)
    fmap.default_css = list(LOCAL_CSS)
    if tiles:
        folium.TileLayer(tiles, name="Base map").add_to(fmap)
    return fmap


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


KIND_COLOURS = {"fire": "#d50000", "smoke": "#616161", "flood": "#1565c0"}


def add_incident_layer(fmap: folium.Map, incidents: list[IncidentMarker]) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Incidents", show=True)
    for inc in incidents:
        colour = KIND_COLOURS.get(inc.kind, "#ff6f00")
        label = (f"#{inc.id} {inc.kind} · {inc.status} · severity {inc.severity} · "
                 f"{inc.source_count} sources · {inc.last_seen_utc}")
        folium.GeoJson(json.loads(inc.geometry_geojson), name=f"incident {inc.id}",
                       style_function=lambda _f, c=colour: {"color": c, "weight": 2, "fillOpacity": 0.35},
                       tooltip=label).add_to(group)
        folium.CircleMarker((inc.lat, inc.lon), radius=7 + inc.severity, color=colour, weight=3,
                            fill=True, fill_opacity=0.9, tooltip=label).add_to(group)
    group.add_to(fmap)
    return group
