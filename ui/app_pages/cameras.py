"""Camera registry table."""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from disaster_ops.services.cop import camera_markers

st.title("Cameras")
rows = [asdict(m) for m in camera_markers()]
st.dataframe(rows, key="cameras_table", use_container_width=True, hide_index=True)
