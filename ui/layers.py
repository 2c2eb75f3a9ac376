"""folium layers (display only).

Every stored string goes through :func:`ui.escape.html_text` before it reaches folium:
folium puts tooltip text raw into a JavaScript template literal that Leaflet renders as
HTML, so an unescaped camera name could run script in every viewer's browser.
"""

from __future__ import annotations

import json
import math

import folium

from disaster_ops.services.cop import CameraMarker, DroneMarker, IncidentMarker, MissionArea
from ui.escape import html_text

# Leaflet is served by the dashboard itself (ui/static, Streamlit static serving) so the
# map works on a closed disaster network; folium's defaults point at public CDNs.
LOCAL_JS = [("leaflet", "/app/static/vendor/leaflet/leaflet.js")]
LOCAL_CSS = [("leaflet_css", "/app/static/vendor/leaflet/leaflet.css")]
OSM_TILES = "OpenStreetMap"

STATUS_COLOURS = {"online": "#2e7d32", "stale": "#f9a825", "offline": "#c62828", "unknown": "#546e7a", "disabled": "#9e9e9e"}


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
            location=(m.lat, m.lon), radius=4, weight=1, class_name="cctv-camera",
            color=STATUS_COLOURS.get(m.status, "#546e7a"), fill=True, fill_opacity=0.8,
            tooltip=html_text(f"{m.name} · {m.status} · {m.purpose} · fov {m.fov_deg:.0f}° · "
                              f"{m.range_m:.0f} m ({m.view_source})"),
        ).add_to(group)
    group.add_to(fmap)
    return group


KIND_COLOURS = {"fire": "#d50000", "smoke": "#616161", "flood": "#1565c0"}


def add_incident_layer(fmap: folium.Map, incidents: list[IncidentMarker]) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Incidents", show=True)
    for inc in incidents:
        colour = KIND_COLOURS.get(inc.kind, "#ff6f00")
        label = html_text(f"#{inc.id} {inc.kind} · {inc.status} · severity {inc.severity} · "
                          f"{inc.source_count} sources · {inc.last_seen_utc}")
        folium.GeoJson(json.loads(inc.geometry_geojson), name=html_text(f"incident {inc.id}"),
                       style_function=lambda _f, c=colour: {"color": c, "weight": 2, "fillOpacity": 0.35},
                       tooltip=label).add_to(group)
        folium.CircleMarker((inc.lat, inc.lon), radius=7 + inc.severity, color=colour, weight=3,
                            fill=True, fill_opacity=0.9, tooltip=label).add_to(group)
    group.add_to(fmap)
    return group


DRONE_HEADING_TICK_M = 40.0


def _ahead(lat: float, lon: float, heading_deg: float, dist_m: float) -> tuple[float, float]:
    """The point ``dist_m`` metres from ``lat, lon`` along ``heading_deg`` (flat-earth; display only)."""
    dlat = dist_m * math.cos(math.radians(heading_deg)) / 111_320.0
    dlon = dist_m * math.sin(math.radians(heading_deg)) / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
    return lat + dlat, lon + dlon


def add_drone_layer(fmap: folium.Map, drones: list[DroneMarker]) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Drones", show=True)
    for d in drones:
        colour = "#00897b" if d.link_ok else "#c62828"
        batt = "?" if d.battery_pct is None else f"{d.battery_pct:.0f}%"
        alt = "?" if d.alt_rel_m is None else f"{d.alt_rel_m:.0f} m"
        tip = html_text(f"{d.name} · {d.mode or '?'} · {alt} · battery {batt} · "
                        f"{'armed' if d.armed else 'disarmed'} · "
                        f"{'link ok' if d.link_ok else 'LINK LOST'} · {d.updated_utc}")
        # A circle plus a heading tick, both core Leaflet: folium's RegularPolygonMarker
        # needs the leaflet-dvf plugin from a public CDN, and on a closed network its
        # failed load stopped the whole map from drawing as soon as a drone reported.
        if d.heading_deg is not None:
            tip_lat, tip_lon = _ahead(d.lat, d.lon, d.heading_deg, DRONE_HEADING_TICK_M)
            folium.PolyLine([(d.lat, d.lon), (tip_lat, tip_lon)], color=colour, weight=3,
                            class_name="drone-heading").add_to(group)
        folium.CircleMarker(
            (d.lat, d.lon), radius=9, weight=3, color=colour, fill=True, fill_opacity=0.9,
            class_name="drone", tooltip=tip,
        ).add_to(group)
    group.add_to(fmap)
    return group


def add_mission_layer(fmap: folium.Map, missions: list[MissionArea]) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Drone missions", show=True)
    for m in missions:
        folium.GeoJson(json.loads(m.zone_geojson), name=html_text(f"mission {m.id}"),
                       style_function=lambda _f: {"color": "#6a1b9a", "weight": 2, "dashArray": "6 4",
                                                  "fillOpacity": 0.08},
                       tooltip=html_text(f"mission #{m.id} {m.name} · {m.status}")).add_to(group)
    group.add_to(fmap)
    return group


def add_view_layer(fmap: folium.Map, views: dict) -> None:
    if views["features"]:
        folium.GeoJson(views, name="Camera views",
                       style_function=lambda f: {"color": "#9e9d24" if f["properties"]["guessed"] else "#2e7d32",
                                                 "weight": 0.5, "fillOpacity": 0.12}).add_to(fmap)


def add_blind_spot_layer(fmap: folium.Map, gaps: dict) -> None:
    if gaps["features"]:
        folium.GeoJson(gaps, name="Blind spots (no camera)",
                       style_function=lambda _f: {"color": "#ef6c00", "weight": 1, "fillColor": "#ff9800",
                                                  "fillOpacity": 0.3},
                       tooltip=folium.GeoJsonTooltip(["incident_id", "rank", "area_m2"])).add_to(fmap)
