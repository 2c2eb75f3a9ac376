"""What the map page asks the services for, cached for every session of this dashboard
process (``st.cache_data``), and a warm-up that fills those caches before the first map.

Cached per argument values: the view box is snapped to a grid (``cop.snap_bbox``), so
small pans reuse an entry. The warm-up runs once per process, in a background thread,
while the first user is on the login page: it asks for the opening view's cameras (the
libraries are imported when the server starts, ``ui.serve``).
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from disaster_ops.config import get_settings
from disaster_ops.services import cop, people_density
from disaster_ops.services.cameras import BBox

logger = logging.getLogger(__name__)


@st.cache_data(ttl=60, show_spinner=False)
def cameras(bbox: BBox, zoom: int, max_individual: int) -> cop.CameraOverview:
    return cop.camera_overview(bbox, zoom, max_individual=max_individual)


@st.cache_data(ttl=60, show_spinner=False)
def camera_views(markers: tuple[cop.CameraMarker, ...]) -> dict:
    return cop.camera_view_geojson(list(markers))


@st.cache_data(ttl=60, show_spinner=False)
def blind_spots(incidents: tuple[cop.IncidentMarker, ...]) -> dict:
    return cop.blind_spots_geojson(list(incidents), max_incidents=10)


@st.cache_data(ttl=30, show_spinner=False)
def incident_details(keys: tuple[tuple[int, str], ...], principal) -> dict[int, cop.IncidentDetail]:
    """Popup details by incident id; ``keys`` = (id, last seen), so news refreshes them.
    Cached per principal: thumbnails are raw or blurred by role."""
    return cop.incident_details([k[0] for k in keys], principal=principal)


@st.cache_data(ttl=10, show_spinner=False)
def crowd_density(bbox: BBox) -> list[people_density.DensityView]:
    """The newest crowd density of the cameras in view (measured in the last 5 minutes)."""
    return people_density.density_views(bbox=(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat))


@st.cache_data(ttl=300, show_spinner=False)
def home() -> tuple[tuple[float, float], int]:
    """Where the map opens: the registry's extent (centre, zoom)."""
    return cop.registry_view()


def opening_view(centre: tuple[float, float], zoom: int, bounds: dict | None = None) -> BBox:
    """The box the map page asks cameras for (what the browser reported, else around the centre)."""
    return cop.snap_bbox(cop.view_bbox(bounds) or cop.bbox_around(centre, zoom), zoom)


def _warm() -> None:
    try:
        (lat, lon), zoom = home()
        cameras(opening_view((float(lat), float(lon)), zoom), zoom, get_settings().map.max_individual_cameras)
    except Exception:  # a failed warm-up only means a slower first map
        logger.exception("map warm-up failed")


@st.cache_resource(show_spinner=False)
def start_warm_up() -> threading.Thread:
    """Start the warm-up once per dashboard process (later calls return the same thread)."""
    th = threading.Thread(target=_warm, name="map-warm-up", daemon=True)
    th.start()
    return th
