"""Dashboard entry: ``streamlit run ui/app.py`` (or ``disaster-ops serve``).

Multipage layout: this file sets the page config, asks who is there (login page until a
user has authenticated) and builds the navigation for that user's role; each page lives
in ``ui/app_pages/`` and only renders what services return.
"""

from __future__ import annotations

import streamlit as st

from disaster_ops.services.roles import Action, Role
from ui.session import login_page, sidebar, signed_in

st.set_page_config(page_title="Disaster COP", page_icon="🛰️", layout="wide")
me = signed_in()
if me is None:
    from ui.map_data import start_warm_up

    start_warm_up()  # the map's libraries and opening view load while the user logs in
    st.navigation([st.Page(login_page, title="Log in", icon=":material/login:", url_path="login")],
                  position="hidden").run()
    st.stop()
sidebar(me)

field = st.Page("app_pages/field.py", title="Field view", icon=":material/near_me:",
                default=me.role is Role.RESPONDER)
pages = [
    st.Page("app_pages/map.py", title="Map", icon=":material/map:", default=me.role is not Role.RESPONDER),
    field,
    st.Page("app_pages/incidents.py", title="Incidents", icon=":material/local_fire_department:"),
    st.Page("app_pages/missions.py", title="Drone missions", icon=":material/flight:"),
    st.Page("app_pages/cameras.py", title="Cameras", icon=":material/videocam:"),
]
if me.may(Action.SEARCH_PEOPLE):
    pages.append(st.Page("app_pages/people.py", title="Missing-person search", icon=":material/person_search:"))
if me.may(Action.VIEW_AUDIT):
    pages.append(st.Page("app_pages/audit.py", title="Audit trail", icon=":material/history:"))
st.navigation(pages).run()
