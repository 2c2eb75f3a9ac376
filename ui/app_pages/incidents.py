"""Incident list with the actions the current role may take."""

from __future__ import annotations

import streamlit as st

from disaster_ops.errors import DisasterOpsError
from disaster_ops.services import incidents as svc
from disaster_ops.services.cop import incident_evidence, incident_markers
from disaster_ops.services.evidence import may_see_raw, snapshot_bytes
from disaster_ops.services.roles import Action, allowed
from ui.escape import md_text
from ui.session import current_principal

st.title("Incidents")
me = current_principal()
show_closed = st.toggle("Show resolved and dismissed", key="inc_show_closed")
items = incident_markers(open_only=not show_closed, principal=me)
if not items:
    st.info("No incidents.")
for inc in items:
    with st.container(border=True):
        st.markdown(f"**#{inc.id} {' + '.join(k.upper() for k in inc.kinds)}** · {inc.status} · severity {inc.severity} · "
                    f"{inc.source_count} sources · last seen {inc.last_seen_utc}"
                    + (f" · acknowledged by {md_text(inc.acknowledged_by)}" if inc.acknowledged_by else ""))
        st.caption(f"at {inc.lat:.5f}, {inc.lon:.5f}")
        with st.expander("Evidence and timeline"):
            evidence = incident_evidence(inc.id)
            shot = next((e.snapshot_path for e in evidence if e.snapshot_path), None)
            if shot and (data := snapshot_bytes(shot, principal=me)):  # blurred unless the role allows raw
                st.image(data, caption="latest snapshot" + ("" if may_see_raw(me) else " (faces blurred)"),
                         width=360)
            st.dataframe([{"seen": e.observed_utc, "source": e.source, "kind": e.kind,
                           "confidence": round(e.confidence, 2)} for e in evidence],
                         hide_index=True, key=f"inc_ev_{inc.id}")
        cols = st.columns(5)
        try:
            if allowed(me, Action.ACK_INCIDENT) and inc.acknowledged_by != me.name and cols[0].button("Acknowledge", key=f"inc_ack_{inc.id}"):
                svc.acknowledge(inc.id, principal=me)
                st.rerun()
            if allowed(me, Action.CONFIRM_INCIDENT):
                if inc.status in ("new", "stale") and cols[1].button("Confirm", key=f"inc_conf_{inc.id}"):
                    svc.set_status(inc.id, "confirmed", principal=me)
                    st.rerun()
                if inc.status in ("new", "confirmed", "stale") and cols[2].button("Dismiss",
                                                                                  key=f"inc_dis_{inc.id}"):
                    svc.set_status(inc.id, "dismissed", principal=me)
                    st.rerun()
                if inc.status in ("confirmed", "responding", "stale") and cols[3].button(
                        "Resolve", key=f"inc_res_{inc.id}"):
                    svc.set_status(inc.id, "resolved", principal=me)
                    st.rerun()
                if inc.status in ("new", "confirmed", "stale") and cols[4].button(
                        "Responding", key=f"inc_resp_{inc.id}"):
                    svc.set_status(inc.id, "responding", principal=me)
                    st.rerun()
        except DisasterOpsError as exc:
            st.error(str(exc))
