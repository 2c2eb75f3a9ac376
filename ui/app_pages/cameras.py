"""Camera registry table and a camera's calibration (check image, reprojection error)."""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from disaster_ops.services.camera_calibration import calibrated_cameras, calibration_view
from disaster_ops.services.cop import camera_table

st.title("Cameras")
table = camera_table()
if table.truncated:
    st.caption(f"Showing the first {len(table.rows):,} of {table.total:,} cameras (by id). "
               "For the whole registry: `disaster-ops cameras list --json`, or the map, which draws "
               "every camera in view.")
else:
    st.caption(f"{table.total:,} cameras.")
st.dataframe([asdict(m) for m in table.rows], key="cameras_table", width="stretch", hide_index=True)

st.subheader("Calibration")
calibrated = calibrated_cameras()
if not calibrated:
    st.caption("No camera is calibrated yet: `disaster-ops cameras calibrate KEY --points CSV --image FRAME`.")
else:
    labels = {key: f"{name} ({key})" for key, name in calibrated}
    key = st.selectbox("Camera", list(labels), format_func=labels.get, key="cameras_calibration_key")
    view = calibration_view(key)
    if view is not None:
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Method", view.method.value)
        c2.metric("Reprojection error (ground)", "n/a" if view.rms_m is None else f"{view.rms_m:.2f} m RMS")
        c3.metric("Reprojection error (image)", "n/a" if view.rms_px is None else f"{view.rms_px:.1f} px RMS")
        c4.metric("Control points", f"{view.n_points} ({view.inliers} inliers)")
        st.caption(f"{view.width_px}x{view.height_px} px; calibrated {view.calibrated_at or 'unknown'}"
                   f" by {view.calibrated_by or 'unknown'}")
        if view.check_image_png:
            st.image(view.check_image_png, caption="Check image: control points green, where the calibration "
                     "puts them red, 10 m ground grid cyan", width="stretch")
        if view.points:
            st.dataframe([asdict(p) for p in view.points], key="cameras_calibration_points", hide_index=True,
                         width="stretch")
