"""Field view for responders on a phone: nearest open incidents first, acknowledge, directions."""

from __future__ import annotations

import streamlit as st

from disaster_ops.errors import DisasterOpsError
from disaster_ops.services import cop
from disaster_ops.services import incidents as svc
from disaster_ops.services.roles import Action
from ui.session import current_principal

# Big touch targets (>= 48 px) for gloved fingers; static CSS, no stored text in it.
st.markdown('<style>[data-testid="stButton"] button, [data-testid="stLinkButton"] a '
            "{min-height: 3.2rem; font-size: 1.1rem;}</style>",
            unsafe_allow_html=True)
me = current_principal()
st.title("Nearby incidents")
pos_text = st.text_input("Your position (lat, lon)", key="field_pos",
                         value=st.session_state.get("field_pos", "{:.5f}, {:.5f}".format(*cop.map_center([]))))
try:
    lat, lon = cop.parse_position(pos_text)
except DisasterOpsError as exc:
    st.error(str(exc))
    st.stop()
nearby = cop.nearest_incidents(lat, lon, limit=20, principal=me)
if not nearby:
    st.info("No open incident.")
for n in nearby:
    inc = n.incident
    with st.container(border=True):
        st.markdown(f"### {inc.kind.upper()} · {n.distance_m / 1000:.1f} km {cop.compass_word(n.bearing_deg)}")
        st.text(f"#{inc.id} · {inc.status} · severity {inc.severity} · {inc.source_count} sources\n"
                f"last seen {inc.last_seen_utc}"
                + (f"\nacknowledged by {inc.acknowledged_by}" if inc.acknowledged_by else ""))
        c1, c2 = st.columns(2)
        if me.may(Action.ACK_INCIDENT) and inc.acknowledged_by != me.name:
            if c1.button("Acknowledge", key=f"field_ack_{inc.id}", type="primary", width="stretch"):
                try:
                    svc.acknowledge(inc.id, principal=me)
                    st.rerun()
                except DisasterOpsError as exc:
                    st.error(str(exc))
        c2.link_button("Directions", f"geo:{inc.lat:.6f},{inc.lon:.6f}", width="stretch")
