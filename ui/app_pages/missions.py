"""Drone missions: managers plan gap surveys and dispatch; pilots take and fly them."""

from __future__ import annotations

import json
import logging

import streamlit as st

from disaster_ops.config import get_settings
from disaster_ops.errors import DisasterOpsError
from disaster_ops.services import cop
from disaster_ops.services import missions as svc
from disaster_ops.services.roles import Action, allowed
from drone_link.files import plan_from_dict, waypoints_text
from geo.aoi import PointRadius
from ui.escape import md_text
from ui.session import current_principal, still_signed_in

logger = logging.getLogger(__name__)
st.title("Drone missions")
me = current_principal()

if allowed(me, Action.PLAN_MISSION):
    with st.expander("Plan a survey of the blind spots around an incident", expanded=True):
        incidents = cop.incident_markers(principal=me)
        if not incidents:
            st.info("No open incident. Missions are planned around incidents.")
        else:
            pick = st.selectbox("Incident", incidents, key="mis_incident",
                                format_func=lambda i: f"#{i.id} {i.kind} · {i.status} · severity {i.severity}")
            c1, c2, c3 = st.columns(3)
            radius = c1.number_input("Radius (m)", 50, 3000, 300, step=50, key="mis_radius")
            alt = c2.number_input("Altitude above home (m)", 20, 150, 80, step=10, key="mis_alt")
            camera = c3.selectbox("Camera", ["mavic3e-wide", "m30t-wide", "p4rtk", "generic-84"], key="mis_cam")
            names = cop.drone_names()
            d1, d2 = st.columns(2)
            chosen = d1.multiselect("Drones (take off from their live position or home)", names,
                                    default=names[:1], key="mis_drones")
            launch_txt = d2.text_input("Launch point lat,lon (if a drone's position is unknown)",
                                       key="mis_launch")
            if st.button("Plan survey", key="mis_plan", type="primary"):
                try:
                    gp = svc.plan_gap_survey(PointRadius(lat=pick.lat, lon=pick.lon, radius_m=float(radius)),
                                             principal=me, alt_rel_m=float(alt), camera=camera,
                                             incident_id=pick.id, drone_names=chosen or None,
                                             launch_latlon=svc.parse_latlon(launch_txt))
                except DisasterOpsError as exc:
                    st.error(str(exc))
                except Exception as exc:
                    logger.exception("planning a survey failed")
                    st.error(f"planning failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
                else:
                    r = gp.report
                    st.success(f"Planned mission(s) {', '.join(map(str, gp.mission_ids))}: cameras see "
                               f"{gp.coverage.covered_fraction:.0%} of the area; the drone covers "
                               f"{r['zone_area_m2']:.0f} m² of blind spots, {r['distance_m']:.0f} m, "
                               f"{r['flight_time_s'] / 60:.1f} min, {r['photo_count']} photos at "
                               f"{r['gsd_cm_px']:.1f} cm/px.")

FLYING = ("uploading", "uploaded", "active", "paused")


def _act(call, mission_id: int) -> None:
    """One mission control: the service checks the role and the status table."""
    try:
        call(mission_id, principal=current_principal())
        st.rerun()
    except DisasterOpsError as exc:
        st.error(str(exc))


def _status(m) -> str:
    return str(getattr(m.status, "value", m.status))


def _progress_line(m) -> None:
    prog = svc.progress(m)
    st.markdown(f"**#{m.id} {md_text(m.name)}** · {_status(m)} · drone {md_text(cop.drone_name(m.drone_id) or '—')}"
                + (f" · waypoint {prog[0]} of {prog[1]}" if prog else " · waiting for the drone's position"))
    if prog:
        st.progress(prog[0] / prog[1])


def _mission_card(m, drones: list[str]) -> None:
    status = _status(m)
    with st.container(border=True):
        report = json.loads(m.report_json) if m.report_json else {}
        st.markdown(f"**#{m.id} {md_text(m.name)}** · {status} · "
                    f"drone {md_text(cop.drone_name(m.drone_id) or '—')} · created by {md_text(m.created_by)}"
                    + (f" · {report.get('distance_m', 0):.0f} m, {report.get('flight_time_s', 0) / 60:.1f} min"
                       if report else ""))
        cols = st.columns(4)
        if allowed(me, Action.DISPATCH_DRONE) and status in ("planned", "assigned") and drones:
            target = cols[0].selectbox("Drone", drones, key=f"mis_drone_{m.id}", label_visibility="collapsed")
            if cols[1].button("Dispatch", key=f"mis_assign_{m.id}"):
                try:
                    svc.assign(m.id, target, principal=me)
                    st.rerun()
                except DisasterOpsError as exc:
                    st.error(str(exc))
        if allowed(me, Action.FLY_MISSION):
            if status == "assigned" and cols[1].button("Fly", key=f"mis_fly_{m.id}", type="primary"):
                _act(svc.request_flight, m.id)
            if status in ("uploading", "uploaded", "active") and cols[1].button(
                    "Pause", key=f"mis_pause_{m.id}", icon=":material/pause:"):
                _act(svc.request_pause, m.id)
            if status == "paused" and cols[1].button("Resume", key=f"mis_resume_{m.id}", type="primary",
                                                     icon=":material/play_arrow:"):
                _act(svc.request_resume, m.id)
            if status in FLYING and cols[2].button("Return to launch", key=f"mis_rtl_{m.id}",
                                                   icon=":material/home:"):
                _act(svc.request_rtl, m.id)
        if m.plan_json and allowed(me, Action.FLY_MISSION):
            plan_text = svc.plan_file(m.id)
            cols[3].download_button("Download .plan", plan_text, file_name=f"mission_{m.id}.plan",
                                    mime="application/json", key=f"mis_dl_{m.id}")
            cols[3].download_button("Download .waypoints", waypoints_text(plan_from_dict(json.loads(plan_text))),
                                    file_name=f"mission_{m.id}.waypoints", key=f"mis_wp_{m.id}")
            st.caption(f"Fly it: `disaster-ops fly --connect udpin:0.0.0.0:14550 --mission mission_{m.id}.plan --start`")


# The controls are drawn by the full page run, never by a live tick (a button redrawn every
# few seconds can lose a click); the live part below only follows flying missions and
# reruns the page when a status changes, so the controls always match the status.
_missions = svc.list_missions()
_shown = {m.id: _status(m) for m in _missions}


@st.fragment(run_every=get_settings().map.live_refresh_s if any(s in FLYING for s in _shown.values()) else None)
def flying_now() -> None:
    """Missions in flight: status and progress as the drone worker reports them, live."""
    if not still_signed_in():  # a live tick never keeps an idle session alive
        st.rerun(scope="app")
    now = svc.list_missions()
    if {m.id: _status(m) for m in now} != _shown:
        st.rerun(scope="app")
    flying = [m for m in now if _status(m) in FLYING]
    if flying:
        st.subheader("In flight")
        for m in flying:
            _progress_line(m)


flying_now()
_drones = cop.drone_names()
for _m in _missions:
    _mission_card(_m, _drones)
