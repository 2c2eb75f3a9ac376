"""Common operating picture: cameras and their views, incidents, blind spots, missions, drones.

The base map (Leaflet, background, tiles, draw tool) is built the same way on every run,
so the browser keeps it, with the user's pan and zoom; only the layers are resent, and
only for what is in view. Live layers refresh in a fragment; a layer that fails is left
out with one line, never a blank map.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import folium
import streamlit as st
from streamlit_folium import st_folium

from disaster_ops.config import get_settings
from disaster_ops.errors import DisasterOpsError
from disaster_ops.services import cop
from disaster_ops.services import missions as mission_svc
from disaster_ops.services.cameras import BBox
from disaster_ops.services.roles import Action
from ui import map_data
from ui.layers import (
    add_draw_control,
    base_map,
    blind_spot_layer,
    camera_cell_layer,
    camera_layer,
    density_layer,
    drone_layer,
    drone_view_layer,
    incident_layer,
    localize,
    mission_layer,
    view_layer,
)
from ui.session import current_principal, still_signed_in

logger = logging.getLogger(__name__)
WINDOWS_H = {"last hour": 1, "last 6 h": 6, "last 24 h": 24, "last 7 days": 168, "any time": None}
KINDS = ["fire", "smoke", "flood"]
STATUSES = ["new", "confirmed", "responding", "stale", "resolved", "dismissed"]
TRACK_POINTS = 300
BLIND_SPOT_ZOOM = 13
MAX_POPUP_DETAILS = 40  # in-view incidents whose popups carry sources, timeline and snapshot


def _in(b: BBox, lat: float, lon: float) -> bool:
    return b.min_lat <= lat <= b.max_lat and b.min_lon <= lon <= b.max_lon


st.title("Common operating picture")
me = current_principal()
cfg = get_settings().map
c1, c2, c3, c4 = st.columns([1, 1, 2, 2])
live = c1.toggle(f"Live ({cfg.live_refresh_s:.0f} s)", value=True, key="map_live")
window = c2.selectbox("Seen", list(WINDOWS_H), index=2, key="map_window")
kinds = c3.multiselect("Kinds", KINDS, default=KINDS, key="map_kinds")
statuses = c4.multiselect("Statuses", STATUSES, default=STATUSES[:4], key="map_statuses")
# The base map starts where the user last looked (or on the registry's extent) and stays
# the same script during live ticks, so the browser keeps the map and the user's pan/zoom;
# center/zoom are never pushed to the browser (that would fight the user's panning).
# While the map is on screen (its widget state exists) a full page run keeps the same home, so
# the browser keeps the map object, the user's view and what they drew; coming back to
# the page opens it where the user last looked.
if "map_main" not in st.session_state or "map_home" not in st.session_state:
    st.session_state["map_home"] = st.session_state.get("map_last_view") or map_data.home()


@st.fragment(run_every=cfg.live_refresh_s if live else None)
def live_map() -> None:
    if not still_signed_in():  # a live tick never keeps an idle session alive
        st.rerun(scope="app")
    home, home_zoom = st.session_state["map_home"]
    last = st.session_state.get("map_main") or {}  # what the browser reported last (pan/zoom)
    zoom = int(last.get("zoom") or home_zoom)
    centre = last.get("center") or {"lat": home[0], "lng": home[1]}
    centre = (float(centre["lat"]), float(centre["lng"]))
    st.session_state["map_last_view"] = ((round(centre[0], 5), round(centre[1], 5)), zoom)
    view = map_data.opening_view(centre, zoom, last.get("bounds"))
    hours = WINDOWS_H[window]
    since = datetime.now(UTC) - timedelta(hours=hours) if hours else None

    groups: list[folium.FeatureGroup] = []
    problems: list[str] = []
    counts: dict[str, int] = {}

    def layer(name: str, build) -> None:
        try:
            groups.append(build())
        except Exception as exc:
            logger.exception("map layer %s failed", name)
            problems.append(f"{name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")

    def cameras_layer():
        ov = map_data.cameras(view, zoom, cfg.max_individual_cameras)
        counts["cameras"] = ov.total_in_view
        if ov.aggregated:
            return camera_cell_layer(ov.cells)
        if zoom >= cop.VIEW_ZOOM and ov.markers:
            groups.append(view_layer(map_data.camera_views(tuple(ov.markers[:1500]))))
        return camera_layer(ov.markers)

    incidents = cop.incident_markers(principal=me, open_only=False, since=since, kinds=frozenset(kinds),
                                     statuses=frozenset(statuses)) if kinds and statuses else []
    counts["incidents"] = len(incidents)
    layer("cameras", cameras_layer)
    if zoom >= BLIND_SPOT_ZOOM:  # too small to see (and costly to compute) further out
        layer("blind spots", lambda: blind_spot_layer(map_data.blind_spots(tuple(
            i for i in incidents if i.status in ("new", "confirmed", "responding", "stale") and _in(view, i.lat, i.lon)))))
    layer("missions", lambda: mission_layer(cop.mission_areas()))
    def crowd_layer():
        views = map_data.crowd_density(view)
        counts["crowd density"] = len(views)
        return density_layer(views)

    layer("crowd density", crowd_layer)
    if drawn := st.session_state.get("map_drawn_gaps"):
        layer("drawn area", lambda: blind_spot_layer(drawn, name="Blind spots in the drawn area"))
    def incidents_layer():
        # Popup details (sources, timeline, snapshot thumbnail) only for the few in view:
        # the payload stays small at province zoom.
        in_view = [i for i in incidents if _in(view, i.lat, i.lon)]
        details = (map_data.incident_details(tuple((i.id, i.last_seen_utc) for i in in_view), me)
                   if len(in_view) <= MAX_POPUP_DETAILS else None)
        return incident_layer(incidents, areas=zoom >= BLIND_SPOT_ZOOM, details=details)

    layer("incidents", incidents_layer)

    def drones_layer():
        drones = cop.drone_markers()
        counts["drones"] = len(drones)
        tracks = st.session_state.setdefault("map_tracks", {})
        for d in drones:
            t = tracks.setdefault(d.name, [])
            if not t or t[-1] != (d.lat, d.lon):
                t.append((d.lat, d.lon))
                del t[:-TRACK_POINTS]
        return drone_layer(drones, tracks)

    layer("drones", drones_layer)
    layer("drone camera footprints", lambda: drone_view_layer(cop.drone_camera_views()))
    fmap = base_map(home, zoom_start=home_zoom, cfg=cfg)
    if me.may(Action.PLAN_MISSION):
        add_draw_control(fmap)
    localize(fmap)
    for g in groups:
        localize(g)
    st.caption(f"{counts.get('cameras', '?')} cameras in view · {counts['incidents']} incidents · "
               f"{counts.get('drones', '?')} drones · zoom {zoom}"
               + (f" · crowd density from {counts['crowd density']} cameras" if counts.get("crowd density") else ""))
    for p in problems:
        st.warning(f"Layer left out: {p}", icon=":material/layers_clear:")
    out = st_folium(fmap, key="map_main", height=620, use_container_width=True,
                    feature_group_to_add=groups, layer_control=folium.LayerControl(collapsed=True),
                    returned_objects=["bounds", "zoom", "center", "last_active_drawing"])
    drawing = (out or {}).get("last_active_drawing")
    if me.may(Action.PLAN_MISSION) and drawing != st.session_state.get("map_drawing"):
        # The drawn-area controls live outside this live fragment (a button redrawn on every
        # tick can lose a click): a new drawing reruns the page once to show them.
        st.session_state["map_drawing"] = drawing
        st.rerun(scope="app")


def _drawn_area_panel(drawing: dict | None) -> None:
    if not drawing:
        st.caption("Draw a rectangle or polygon (tools at the top left of the map) to see its blind spots "
                   "and plan a drone survey of them.")
        return
    try:
        area = cop.drawn_area(drawing)
    except DisasterOpsError as exc:
        st.error(str(exc))
        return
    centre = area.centroid
    st.caption(f"Drawn area around {centre.y:.5f}, {centre.x:.5f}, {cop.area_m2(area):,.0f} m²")
    names = cop.drone_names()
    c1, c2, c3 = st.columns(3)
    drone = c3.selectbox("Drone to fly it", names, key="map_area_drone") if names else None
    if not names:
        c3.caption("No drone registered: a survey needs a drone (or plan it on the Drone missions page "
                   "with a launch point).")
    if c1.button("Show blind spots in the drawn area", key="map_area_gaps"):
        try:
            cov = mission_svc.coverage_gaps(area)
            st.session_state["map_drawn_gaps"] = cov.to_geojson()
            st.session_state["map_drawn_msg"] = (f"Cameras see {cov.covered_fraction:.0%} of the drawn area; "
                                                 f"{len(cov.zones)} blind spots, {cov.uncovered_area_m2:.0f} m².")
        except DisasterOpsError as exc:
            st.error(str(exc))
    if c2.button("Plan a drone survey of the drawn area", key="map_area_plan", type="primary"):
        try:
            gp = mission_svc.plan_gap_survey(area, principal=current_principal(),
                                             drone_names=[drone] if drone else None)
            st.session_state["map_drawn_msg"] = (
                f"Planned mission(s) {', '.join(map(str, gp.mission_ids))}: "
                f"{gp.report['distance_m']:.0f} m, {gp.report['flight_time_s'] / 60:.1f} min. "
                "Dispatch it on the Drone missions page.")
        except DisasterOpsError as exc:
            st.error(str(exc))
        except Exception as exc:
            logger.exception("planning the drawn area failed")
            st.error(f"planning failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    if msg := st.session_state.get("map_drawn_msg"):
        st.info(msg)


live_map()
if me.may(Action.PLAN_MISSION):
    _drawn_area_panel(st.session_state.get("map_drawing"))
