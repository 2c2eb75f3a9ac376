"""Common operating picture: cameras and their views, incidents, blind spots, missions, drones."""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from disaster_ops.services import cop
from ui.layers import (
    add_blind_spot_layer,
    add_camera_layer,
    add_drone_layer,
    add_incident_layer,
    add_mission_layer,
    add_view_layer,
    base_map,
)
from ui.session import still_signed_in

st.title("Common operating picture")
live = st.toggle("Live (refresh every 10 s)", value=True, key="map_live")


@st.fragment(run_every=10 if live else None)
def live_map() -> None:
    if not still_signed_in():  # a live tick never keeps an idle session alive
        st.rerun(scope="app")
    markers = cop.camera_markers()
    incidents = cop.incident_markers()
    drones = cop.drone_markers()
    st.caption(f"{len(markers)} cameras · {len(incidents)} open incidents · {len(drones)} drones")
    fmap = base_map(cop.map_center(markers))
    add_view_layer(fmap, cop.camera_view_geojson(markers))
    add_camera_layer(fmap, markers)
    add_blind_spot_layer(fmap, cop.blind_spots_geojson(incidents))
    add_mission_layer(fmap, cop.mission_areas())
    add_incident_layer(fmap, incidents)
    add_drone_layer(fmap, drones)
    folium.LayerControl(collapsed=False).add_to(fmap)
    st_folium(fmap, key="map_main", height=650, use_container_width=True, returned_objects=[])


live_map()
