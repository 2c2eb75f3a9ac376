"""Missing-person search (managers and administrators: the navigation hides it from others
and the service refuses them). Renders the form, the ranked candidates with their crops and
the probable path on the map; every decision is the service's (``services/person_search``)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import folium
import streamlit as st
from streamlit_folium import st_folium

from disaster_ops.config import get_settings
from disaster_ops.errors import DisasterOpsError
from disaster_ops.people.appearance import COLOUR_NAMES, Build
from disaster_ops.services import person_search as ps
from disaster_ops.services.snapshots import thumbnail_jpeg
from disaster_ops.storage.models import SightingStatus
from ui.escape import md_text
from ui.layers import base_map, localize, sighting_path_layer
from ui.session import current_principal

RESULT_KEY = "ppl_result"

st.title("Missing-person search")
me = current_principal()
st.caption("Searches the stored person sightings of every camera and drone by clothing colours or a photo "
           "(compared by colour histogram: no face or re-identification model). Every search is audited "
           "with its reason.")

with st.form("ppl_form"):
    c1, c2, c3, c4 = st.columns(4)
    upper = c1.multiselect("Upper clothing (any of)", COLOUR_NAMES, key="ppl_upper")
    lower = c2.multiselect("Lower clothing (any of)", COLOUR_NAMES, key="ppl_lower")
    bag = c3.multiselect("Bag / backpack (any of)", COLOUR_NAMES, key="ppl_bag",
                         help="Counts partly in the torso: a camera from behind or a drone from above sees the bag.")
    build = c4.selectbox("Build", ["any", *[b.value for b in Build]], key="ppl_build")
    photo = st.file_uploader("…or a photo of the person (crop: the person fills it)", type=["jpg", "jpeg", "png"],
                             key="ppl_photo")
    now = datetime.now(UTC)
    d1, d2, d3, d4 = st.columns(4)
    since_d = d1.date_input("From (UTC) date", (now - timedelta(hours=24)).date(), key="ppl_since_d")
    since_t = d2.time_input("From time", time(now.hour, now.minute), key="ppl_since_t")
    until_d = d3.date_input("Until (UTC) date", now.date(), key="ppl_until_d")
    until_t = d4.time_input("Until time", time(23, 59), key="ppl_until_t")
    a1, a2, a3, a4 = st.columns(4)
    use_area = a1.checkbox("Around the last seen place", key="ppl_use_area")
    lat = a2.number_input("Latitude (degrees)", value=37.5665, format="%.6f", key="ppl_lat")
    lon = a3.number_input("Longitude (degrees)", value=126.978, format="%.6f", key="ppl_lon")
    radius_m = a4.number_input("Radius (metres)", min_value=50.0, max_value=50_000.0, value=2000.0, key="ppl_r")
    reason = st.text_input("Reason (required, audited)", key="ppl_reason",
                           placeholder="e.g. missing person report 2026-1129-0042")
    submitted = st.form_submit_button("Search")

if submitted:
    try:
        desc = ps.Description(upper=tuple(upper), lower=tuple(lower), bag=tuple(bag),
                              build=None if build == "any" else Build(build)) \
            if (upper or lower or bag or build != "any") else None
        req = ps.SearchRequest(
            reason=reason, description=None if photo is not None else desc,
            photo=ps.Photo(data=photo.getvalue()) if photo is not None else None,
            since=datetime.combine(since_d, since_t, tzinfo=UTC), until=datetime.combine(until_d, until_t, tzinfo=UTC),
            area=ps.SearchArea.around(lat, lon, radius_m) if use_area else None)
        st.session_state[RESULT_KEY] = ps.search(req, principal=me)
    except DisasterOpsError as exc:
        st.error(str(exc))

result: ps.SearchResult | None = st.session_state.get(RESULT_KEY)
if result is not None:
    st.caption(f"{len(result.candidates)} candidates of {result.scanned} sightings in {result.elapsed_s:.2f} s · "
               f"scored by {md_text(result.basis)}")
    if result.path:
        first = result.path[0]
        fmap = base_map((first.lat, first.lon), zoom_start=16, cfg=get_settings().map)
        group = sighting_path_layer(result.path)
        localize(fmap)
        localize(group)
        st_folium(fmap, key="ppl_map", height=420, use_container_width=True, feature_group_to_add=[group],
                  layer_control=folium.LayerControl(collapsed=True), returned_objects=[])
    root = get_settings().data_dir
    for c in result.candidates:
        with st.container(border=True):
            cols = st.columns([1, 4, 2])
            if img := thumbnail_jpeg(c.crop_path, root=root, max_px=120):
                cols[0].image(img)
            order = next(i for i, p in enumerate(result.path, start=1) if p.sighting_id == c.sighting_id)
            cols[1].markdown(
                f"**#{c.rank}** · path point {order} · {c.captured_at:%Y-%m-%d %H:%M:%S} UTC · "
                f"{md_text(c.camera_key)} (track {c.track_id}) · upper {md_text(c.upper_colour)}, "
                f"lower {md_text(c.lower_colour)}, {md_text(c.build)} · score {c.score:.3f} · **{md_text(c.status)}**")
            cols[1].caption(f"at {c.lat:.6f}, {c.lon:.6f}" + (f" ± {c.uncertainty_m:.0f} m" if c.uncertainty_m else ""))
            try:
                if c.status != "confirmed" and cols[2].button("Confirm", key=f"ppl_conf_{c.sighting_id}"):
                    ps.review(c.sighting_id, SightingStatus.CONFIRMED, principal=me)
                    st.session_state.pop(RESULT_KEY, None)
                    st.rerun()
                if c.status != "rejected" and cols[2].button("Reject", key=f"ppl_rej_{c.sighting_id}"):
                    ps.review(c.sighting_id, SightingStatus.REJECTED, principal=me)
                    st.session_state.pop(RESULT_KEY, None)
                    st.rerun()
                if c.status == "confirmed":
                    drone = cols[2].text_input("Drone", key=f"ppl_drone_{c.sighting_id}", placeholder="sim-1")
                    if cols[2].button("Drone search pattern", key=f"ppl_fly_{c.sighting_id}"):
                        ids = ps.search_pattern_from(c.sighting_id, principal=me, drone_name=drone or None)
                        st.success(f"Planned mission(s) {', '.join(map(str, ids))}: see Drone missions.")
            except DisasterOpsError as exc:
                st.error(str(exc))
