"""Common operating picture map: cameras (and, as the product grows, incidents, gaps, drones)."""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from disaster_ops.services.cop import camera_markers, incident_markers, map_center
from ui.layers import add_camera_layer, add_incident_layer, base_map

st.title("Common operating picture")
markers = camera_markers()
incidents = incident_markers()
st.caption(f"{len(markers)} cameras · {len(incidents)} open incidents")
fmap = base_map(map_center(markers))
add_camera_layer(fmap, markers)
add_incident_layer(fmap, incidents)
folium.LayerControl().add_to(fmap)
st_folium(fmap, key="map_main", height=650, use_container_width=True, returned_objects=[])
