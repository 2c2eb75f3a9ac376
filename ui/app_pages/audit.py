"""Audit trail (managers only)."""

from __future__ import annotations

import streamlit as st

from disaster_ops.services.audit import recent
from disaster_ops.storage.db import session_scope

st.title("Audit trail")
with session_scope() as s:
    events = [e.model_dump(mode="json") for e in recent(s, limit=500)]
st.dataframe(events, key="audit_table", width="stretch", hide_index=True)
