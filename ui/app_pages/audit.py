"""Audit trail (managers only: the navigation hides it, the service refuses anyone else)."""

from __future__ import annotations

import streamlit as st

from disaster_ops.errors import PermissionDenied
from disaster_ops.services.audit import list_events
from ui.session import current_principal

st.title("Audit trail")
try:
    events = [e.model_dump(mode="json") for e in list_events(principal=current_principal(), limit=500)]
    st.dataframe(events, key="audit_table", width="stretch", hide_index=True)
except PermissionDenied as exc:
    st.error(str(exc))
