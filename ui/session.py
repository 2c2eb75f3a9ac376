"""Per-browser-session principal (kept in st.session_state, never in globals).

Until the login page exists this still offers a name and role picker; pages only ever ask
for :func:`current_principal` and hand it to the services, which enforce the roles.
"""

from __future__ import annotations

import streamlit as st

from disaster_ops.services.roles import Principal, Role

ROLE_LABELS = {Role.MANAGER.value: "Disaster manager", Role.PILOT.value: "Drone pilot",
               Role.RESPONDER.value: "Field responder"}


def role_picker() -> None:
    with st.sidebar:
        st.text_input("User", key="user", value=st.session_state.get("user", "operator"))
        st.selectbox("Role", list(ROLE_LABELS), format_func=ROLE_LABELS.get, key="role")


def current_principal() -> Principal:
    return Principal(name=st.session_state.get("user") or "operator",
                     role=Role(st.session_state.get("role", Role.RESPONDER.value)))
