"""Common operating picture map: cameras (and, as the product grows, incidents, gaps, drones)."""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from disaster_ops.services.cop import camera_markers, map_center
from ui.layers import add_camera_layer, base_map

st.title("Common operating picture")
markers = camera_markers()
st.caption(f"{len(markers)} cameras")
fmap = base_map(map_center(markers))
add_camera_layer(fmap, markers)
folium.LayerControl().add_to(fmap)
st_folium(fmap, key="map_main", height=650, use_container_width=True, returned_objects=[])
