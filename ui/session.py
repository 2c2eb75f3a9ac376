"""Per-browser-session user and role (kept in st.session_state, never in globals)."""

from __future__ import annotations

import streamlit as st

from disaster_ops.services.roles import Role

ROLE_LABELS = {Role.MANAGER.value: "Disaster manager", Role.PILOT.value: "Drone pilot",
               Role.RESPONDER.value: "Field responder"}


def role_picker() -> None:
    with st.sidebar:
        st.text_input("User", key="user", value=st.session_state.get("user", "operator"))
        st.selectbox("Role", list(ROLE_LABELS), format_func=ROLE_LABELS.get, key="role")


def current_role() -> str:
    return st.session_state.get("role", Role.RESPONDER.value)


def current_user() -> str:
    return st.session_state.get("user", "operator")
