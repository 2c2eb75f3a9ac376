"""Dashboard entry: ``streamlit run ui/app.py`` (or ``disaster-ops serve``).

Multipage layout: this file sets the page config, the user/role in the sidebar and the
navigation; each page lives in ``ui/app_pages/`` and only renders what services return.
"""

from __future__ import annotations

import streamlit as st

from disaster_ops.services.roles import Action
from ui.session import current_principal, role_picker

st.set_page_config(page_title="Disaster COP", page_icon=":material/satellite_alt:", layout="wide")
role_picker()

pages = [
    st.Page("app_pages/map.py", title="Map", icon=":material/map:", default=True),
    st.Page("app_pages/incidents.py", title="Incidents", icon=":material/local_fire_department:"),
    st.Page("app_pages/missions.py", title="Drone missions", icon=":material/flight:"),
    st.Page("app_pages/cameras.py", title="Cameras", icon=":material/videocam:"),
]
if current_principal().may(Action.VIEW_AUDIT):
    pages.append(st.Page("app_pages/audit.py", title="Audit trail", icon=":material/history:"))
st.navigation(pages).run()
