"""folium layers (display only).

Everything the browser loads comes from the dashboard itself (``ui/static``, Streamlit
static serving): folium's default links point at public CDNs, so :func:`localize` rewrites
every element's JS/CSS links to the vendored copies and drops (and logs) any it does not
know, so a closed disaster network never waits on the internet. The background is drawn
from boundaries shipped in ``ui/static/basemap`` under whatever tile layer is configured,
so the map is never blank when no tile server answers.

Every stored string shown in a tooltip or popup goes through :func:`ui.escape.html_text`
(HTML-escaped and inert inside the JavaScript template literals folium wraps tooltips in); values
put into JavaScript go through ``json.dumps``.
"""

from __future__ import annotations

import base64
import json
import logging
import os

import folium
from branca.element import MacroElement
from jinja2 import Template

from disaster_ops.config import MapSettings
from disaster_ops.services.cop import (
    CameraCell,
    CameraMarker,
    DroneMarker,
    IncidentDetail,
    IncidentMarker,
    MissionArea,
)
from disaster_ops.services.people_density import DensityView
from ui.escape import html_text

logger = logging.getLogger(__name__)

STATIC = "/app/static"
# Vendored assets, by the names folium (and its plugins) give their links.
LOCAL_ASSETS: dict[str, str] = {
    "leaflet": f"{STATIC}/vendor/leaflet/leaflet.js",
    "leaflet_css": f"{STATIC}/vendor/leaflet/leaflet.css",
    "leaflet_draw_js": f"{STATIC}/vendor/leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": f"{STATIC}/vendor/leaflet-draw/leaflet.draw.css",
}
MAP_JS = [("leaflet", LOCAL_ASSETS["leaflet"])]
MAP_CSS = [("leaflet_css", LOCAL_ASSETS["leaflet_css"])]
BOUNDARY_FILES = (f"{STATIC}/basemap/kr_provinces.geojson", f"{STATIC}/basemap/kr_municipalities.geojson")
VWORLD_KEY_ENV = "VWORLD_API_KEY"

STATUS_COLOURS = {"online": "#2e7d32", "stale": "#f9a825", "offline": "#c62828", "unknown": "#546e7a",
                  "disabled": "#9e9e9e"}
KIND_COLOURS = {"fire": "#d50000", "smoke": "#616161", "flood": "#1565c0",
                "collapse": "#c2185b", "crowding": "#ef6c00", "loitering": "#6a1b9a"}
KIND_GLYPHS = {"fire": "F", "smoke": "S", "flood": "W", "collapse": "C", "crowding": "D", "loitering": "L"}  # letters: no icon font to fetch
POPUP_SOURCES = 5  # sources named in an incident popup (then "+N more")
INCIDENT_STATUS_COLOURS = {"new": "#d50000", "confirmed": "#ff6d00", "responding": "#ffab00", "stale": "#8d6e63",
                           "resolved": "#2e7d32", "dismissed": "#757575"}


def _esc(v) -> str:
    """Stored text for a tooltip/popup (see :func:`ui.escape.html_text`)."""
    return html_text(v)


def script_json(value) -> str:
    """JSON to embed in a <script>: UTF-8 kept (Korean stays 3 bytes a character), and
    ``<`` escaped so no stored text can close the script element."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def localize(fmap: folium.Map) -> list[str]:
    """Point every element's JS/CSS at the vendored copies; drop (and return) unknown links."""
    dropped: list[str] = []

    def walk(el):
        yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    for el in walk(fmap):
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if not links:
                continue
            kept = []
            for name, url in links:
                if url.startswith("/"):
                    kept.append((name, url))
                elif name in LOCAL_ASSETS:
                    kept.append((name, LOCAL_ASSETS[name]))
                else:
                    dropped.append(url)
            setattr(el, attr, kept)
    if dropped:
        logger.error("map assets with no local copy were left out: %s", ", ".join(dropped))
    return dropped


class BoundaryBackground(MacroElement):
    """Korean province and municipality outlines from ``ui/static/basemap`` in a pane under
    the tiles: land on a sea-coloured map, never a blank one. Loaded with ``fetch`` so the
    map script stays small and is cached by the browser."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function(map) {
            map.getContainer().style.background = "#c9dcea";
            var pane = map.createPane("boundaryPane");
            pane.style.zIndex = 150;
            pane.style.pointerEvents = "none";
            var styles = [
                {color: "#8d8a80", weight: 1.2, fillColor: "#f2efe6", fillOpacity: 1.0},
                {color: "#b4b0a4", weight: 0.6, fill: false}
            ];
            {{ this.urls|tojson }}.forEach(function(url, i) {
                fetch(url).then(function(r) { return r.json(); }).then(function(data) {
                    L.geoJSON(data, {pane: "boundaryPane", interactive: false, style: styles[i]}).addTo(map);
                }).catch(function(e) { console.warn("boundary background", url, e); });
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, urls: tuple[str, ...] = BOUNDARY_FILES):
        super().__init__()
        self._name = "BoundaryBackground"
        self.urls = list(urls)


class DivMarker(MacroElement):
    """A marker drawn as HTML (``L.divIcon``), created in one statement.

    folium's ``Marker`` + ``DivIcon`` child sets the icon from a variable defined after the
    marker, which throws in the layer scripts streamlit-folium sends separately; this
    creates both at once, and binds tooltip and popup from JSON strings (folium's Popup
    needs jQuery). ``html``, ``tooltip`` and ``popup`` must already be escaped HTML."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.marker({{ this.location|tojson }},
            {icon: L.divIcon({{ this.icon_options|tojson }})}).addTo({{ this._parent.get_name() }});
        {% if this.tooltip %}{{ this.get_name() }}.bindTooltip({{ this.tooltip|tojson }}, {sticky: true});{% endif %}
        {% if this.popup %}{{ this.get_name() }}.bindPopup({{ this.popup|tojson }}, {maxWidth: 320});{% endif %}
        {% endmacro %}
    """)

    def __init__(self, location: tuple[float, float], *, html: str, size_px: int, class_name: str,
                 tooltip: str | None = None, popup: str | None = None):
        super().__init__()
        self._name = "DivMarker"
        self.location = [float(location[0]), float(location[1])]
        self.icon_options = {"html": html, "iconSize": [size_px, size_px],
                             "iconAnchor": [size_px // 2, size_px // 2], "className": class_name}
        self.tooltip = tooltip
        self.popup = popup


def tile_layer(cfg: MapSettings) -> folium.TileLayer | None:
    """The configured tile layer (None: the shipped background only)."""
    src = cfg.tiles.strip()
    if src.lower() in ("", "none", "boundaries", "offline"):
        return None
    if src.lower() == "osm":
        return folium.TileLayer("OpenStreetMap", name="Base map", overlay=False, control=False)
    if src.lower() == "vworld":
        key = os.environ.get(VWORLD_KEY_ENV, "").strip()
        if not key:
            logger.warning("map tiles: vworld needs %s; showing the shipped background only", VWORLD_KEY_ENV)
            return None
        ext = "jpeg" if cfg.vworld_layer == "Satellite" else "png"
        url = f"https://api.vworld.kr/req/wmts/1.0.0/{key}/{cfg.vworld_layer}/{{z}}/{{y}}/{{x}}.{ext}"
        return folium.TileLayer(url, name="Base map", attr="VWorld (국토교통부)", max_zoom=19,
                                overlay=False, control=False)
    if "{z}" in src and "{x}" in src and "{y}" in src:
        return folium.TileLayer(src, name="Base map", attr=cfg.tiles_attribution or "local tiles",
                                overlay=False, control=False)
    logger.warning("map tiles: %r is not osm, vworld, boundaries or a {z}/{x}/{y} URL; "
                   "showing the shipped background only", src)
    return None


def base_map(center: tuple[float, float], *, zoom_start: int = 15, cfg: MapSettings | None = None,
             tiles: bool = True) -> folium.Map:
    """A folium map with local Leaflet, the shipped background and the configured tiles."""
    fmap = folium.Map(location=center, zoom_start=zoom_start, tiles=None, control_scale=True,
                      prefer_canvas=True)
    fmap.default_js = list(MAP_JS)
    fmap.default_css = list(MAP_CSS)
    BoundaryBackground().add_to(fmap)
    fmap.get_root().header.add_child(folium.Element(INCIDENT_CSS), name="incident_css")
    if tiles and cfg is not None and (layer := tile_layer(cfg)) is not None:
        layer.add_to(fmap)
    return fmap


def add_draw_control(fmap: folium.Map) -> None:
    """Leaflet.draw (served locally): a manager draws the area to survey."""
    from folium.plugins import Draw

    Draw(export=False, position="topleft",
         draw_options={"polyline": False, "circlemarker": False, "marker": False, "circle": False,
                       "polygon": {"allowIntersection": False, "showArea": True}, "rectangle": True},
         edit_options={"edit": False}).add_to(fmap)


class CameraPoints(MacroElement):
    """Individual cameras as compact rows ``[lat, lon, status, tooltip]`` drawn as circle
    markers by one loop (about 100 bytes a camera instead of a script per camera).
    Tooltips are escaped HTML and reach JS through tojson."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function(group) {
            var colours = {{ this.colours|tojson }};
            {{ this.rows_json|safe }}.forEach(function(r) {
                L.circleMarker([r[0], r[1]], {radius: 3, weight: 1, color: colours[r[2]] || "#546e7a",
                    fillColor: colours[r[2]] || "#546e7a", fillOpacity: 0.8, className: "cctv-camera"})
                 .bindTooltip(r[3], {sticky: true}).addTo(group);
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, markers: list[CameraMarker]):
        super().__init__()
        self._name = "CameraPoints"
        self.colours = STATUS_COLOURS
        self.rows_json = script_json([[round(m.lat, 6), round(m.lon, 6), m.status, _camera_tip(m)]
                                      for m in markers])


def _camera_tip(m: CameraMarker) -> str:
    return (f"{_esc(m.name)} · {_esc(m.purpose)} · {_esc(m.status)} · fov {m.fov_deg:.0f}° · "
            f"{m.range_m:.0f} m ({_esc(m.view_source)})")


def camera_layer(markers: list[CameraMarker]) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="CCTV cameras", show=True)
    if markers:
        CameraPoints(markers).add_to(group)
    return group


class CameraCells(MacroElement):
    """Zoomed out: grid cells as compact rows ``[lat, lon, radius_px, offline, count]``, one
    circle each drawn by one loop (a folium CircleMarker per cell took 0.2 s to render and
    four times the bytes at province zoom)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function(group) {
            {{ this.rows_json|safe }}.forEach(function(r) {
                var colour = r[3] * 2 > r[4] ? "#c62828" : "#1b5e20";
                L.circleMarker([r[0], r[1]], {radius: r[2], weight: 1, color: colour, fillColor: colour,
                                              fillOpacity: 0.45, className: "cctv-cell"})
                 .bindTooltip(r[4] + " cameras" + (r[3] ? " (" + r[3] + " offline)" : "") + " · zoom in for each",
                              {sticky: true}).addTo(group);
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, cells: list[CameraCell]):
        super().__init__()
        self._name = "CameraCells"
        self.rows_json = script_json([[round(c.lat, 5), round(c.lon, 5),
                                       round(min(22.0, 4.0 + 2.2 * (c.count ** 0.5) ** 0.8), 1),
                                       int(c.offline), int(c.count)] for c in cells])


def camera_cell_layer(cells: list[CameraCell]) -> folium.FeatureGroup:
    """Zoomed out: one circle per grid cell, area by count, red = mostly offline cameras."""
    group = folium.FeatureGroup(name="CCTV cameras", show=True)
    if cells:
        CameraCells(cells).add_to(group)
    return group


class IncidentPoints(MacroElement):
    """Incident markers from compact rows ``[lat, lon, size_px, status colour, kind colour,
    glyph, tooltip, popup]`` drawn by one loop (a few hundred bytes an incident). Texts are
    escaped HTML and reach JS as script-safe JSON."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function(group) {
            {{ this.rows_json|safe }}.forEach(function(r) {
                var s = r[2], html = '<div class="incident-marker" style="width:' + s + 'px;height:' + s +
                    'px;line-height:' + s + 'px;font-size:' + Math.round(s / 2) + 'px;background:' + r[3] +
                    ';border-color:' + r[4] + '">' + r[5] + '</div>';
                L.marker([r[0], r[1]], {icon: L.divIcon({html: html, iconSize: [s, s], iconAnchor: [s / 2, s / 2],
                                                          className: "incident-icon"})})
                 .bindTooltip(r[6], {sticky: true}).bindPopup(r[7], {maxWidth: 320}).addTo(group);
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, rows: list[list]):
        super().__init__()
        self._name = "IncidentPoints"
        self.rows_json = script_json(rows)


INCIDENT_CSS = ("<style>.incident-marker{border:2px solid;border-radius:50%;color:#fff;font-weight:bold;"
                "font-family:sans-serif;text-align:center;box-shadow:0 0 4px #000;box-sizing:border-box}</style>")


def _incident_popup(inc: IncidentMarker, kinds: str, detail: IncidentDetail | None, *, asked: bool = True) -> str:
    """Popup HTML: status, sources, timeline and the latest snapshot (a small inline JPEG,
    decoded only when the popup opens); every stored string escaped."""
    html = (f"<b>#{inc.id} {kinds.upper()}</b><br>status {_esc(inc.status)} · severity "
            f"{inc.severity}<br>{inc.source_count} sources · last seen {_esc(inc.last_seen_utc)}"
            + (f"<br>acknowledged by {_esc(inc.acknowledged_by)}" if inc.acknowledged_by else ""))
    if detail is None:
        return html + ("" if asked else "<br><i>zoom in for its sources, timeline and snapshot</i>")
    if detail.snapshot_jpeg:
        data = base64.b64encode(detail.snapshot_jpeg).decode("ascii")
        html += (f'<br><img class="incident-snapshot" src="data:image/jpeg;base64,{data}" alt="latest snapshot" '
                 f'style="max-width:160px;display:block;margin-top:4px"><small>snapshot '
                 f"{_esc(detail.snapshot_utc)}</small>")
    shown = detail.sources[:POPUP_SOURCES]
    html += (f"<br><b>Sources</b> {', '.join(_esc(x) for x in shown)}"
             + (f" +{len(detail.sources) - len(shown)} more" if len(detail.sources) > len(shown) else "")
             + f"<br><b>Timeline</b> first seen {_esc(detail.first_seen_utc)}")
    html += "".join(f"<br>{_esc(e.observed_utc)} · {_esc(e.source)} · {_esc(e.kind)} {e.confidence:.2f}"
                    for e in detail.timeline)
    return html


def incident_layer(incidents: list[IncidentMarker], *, areas: bool = True,
                   details: dict[int, IncidentDetail] | None = None) -> folium.FeatureGroup:
    """Icon letter by kind, colour by status, size by severity; popup with status, sources,
    timeline and latest snapshot where ``details`` has the incident (the map asks only for
    the few in view). ``areas``: also the incident outlines (left out when zoomed out)."""
    group = folium.FeatureGroup(name="Incidents", show=True)
    rows = []
    for inc in incidents:
        colour = INCIDENT_STATUS_COLOURS.get(inc.status, "#ff6f00")
        size = 18 + 5 * max(1, min(5, inc.severity))
        kinds = " + ".join(_esc(k) for k in (inc.kinds or (inc.kind,)))
        label = (f"#{inc.id} {kinds} · {_esc(inc.status)} · severity {inc.severity} · "
                 f"{inc.source_count} sources · {_esc(inc.last_seen_utc)}")
        popup = _incident_popup(inc, kinds, (details or {}).get(inc.id), asked=details is not None)
        try:
            geom = json.loads(inc.geometry_geojson) if areas else None
        except ValueError:
            geom = None
        if geom and geom.get("type") != "Point":
            area_style = {"color": KIND_COLOURS.get(inc.kind, colour), "weight": 2, "fillOpacity": 0.25}
            folium.GeoJson(geom, style_function=lambda _f, st=area_style: st, tooltip=label).add_to(group)
        rows.append([round(inc.lat, 6), round(inc.lon, 6), size, colour, KIND_COLOURS.get(inc.kind, "#333"),
                     KIND_GLYPHS.get(inc.kind, "!"), label, popup])
    if rows:
        IncidentPoints(rows).add_to(group)
    return group


def drone_layer(drones: list[DroneMarker], tracks: dict[str, list[tuple[float, float]]] | None = None
                ) -> folium.FeatureGroup:
    """Position, heading (a rotated arrow: plain CSS, no plugin) and the track seen so far."""
    group = folium.FeatureGroup(name="Drones", show=True)
    for d in drones:
        colour = "#00897b" if d.link_ok else "#c62828"
        track = (tracks or {}).get(d.name) or []
        if len(track) >= 2:
            folium.PolyLine(track, color=colour, weight=2, opacity=0.7, dash_array="4 4").add_to(group)
        batt = "?" if d.battery_pct is None else f"{d.battery_pct:.0f}%"
        alt = "?" if d.alt_rel_m is None else f"{d.alt_rel_m:.0f} m"
        heading = float(d.heading_deg or 0.0)
        DivMarker(
            (d.lat, d.lon), size_px=26, class_name="drone-icon",
            # the arrow glyph points east: turn it by heading - 90°
            html=(f'<div class="drone-marker" style="transform:rotate({heading - 90.0:.0f}deg);width:26px;'
                  f'height:26px;font:bold 24px/26px sans-serif;color:{colour};text-align:center;'
                  f'text-shadow:0 0 3px #fff">&#x27A4;</div>'),
            tooltip=f"{_esc(d.name)} · {_esc(d.mode or '?')} · {alt} · battery {batt} · "
                    f"heading {heading:.0f}° · {'armed' if d.armed else 'disarmed'} · "
                    f"{'link ok' if d.link_ok else 'LINK LOST'} · {_esc(d.updated_utc)}",
        ).add_to(group)
    return group


def drone_view_layer(views: list) -> folium.FeatureGroup:
    """What each drone's camera sees now (footprint) and the track its aerial worker recorded."""
    group = folium.FeatureGroup(name="Drone camera footprints", show=True)
    for v in views:
        label = (f"{_esc(v.name)} camera · {v.frames} frames, {v.detections} detections"
                 + ("" if v.georeferenced else f" · not georeferenced ({_esc(v.reason or '?')})")
                 + (f" · {_esc(v.frame_utc)}" if v.frame_utc else ""))
        for text, style in ((v.track_geojson, {"color": "#00695c", "weight": 2, "dashArray": "2 4"}),
                            (v.footprint_geojson, {"color": "#00897b", "weight": 1, "fillOpacity": 0.2})):
            try:
                geom = json.loads(text) if text else None
            except ValueError:
                geom = None
            if geom:
                folium.GeoJson(geom, style_function=lambda _f, st=style: st, tooltip=label).add_to(group)
    return group


def mission_layer(missions: list[MissionArea]) -> folium.FeatureGroup:
    """Mission zones, planned paths, and the part already flown."""
    group = folium.FeatureGroup(name="Drone missions", show=True)
    for m in missions:
        progress = m.progress
        label = (f"mission #{m.id} {_esc(m.name)} · {_esc(m.status)}"
                 + (f" · {progress:.0%} flown" if progress is not None else ""))
        try:
            zone = json.loads(m.zone_geojson)
        except ValueError:
            zone = None
        if zone:
            folium.GeoJson(zone, style_function=lambda _f: {"color": "#6a1b9a", "weight": 2, "dashArray": "6 4",
                                                            "fillOpacity": 0.06},
                           tooltip=label).add_to(group)
        if len(m.path_latlon) >= 2:
            folium.PolyLine(m.path_latlon, color="#6a1b9a", weight=1.5, opacity=0.8, tooltip=label,
                            class_name="mission-path").add_to(group)
            if progress:
                done = m.path_latlon[: max(2, round(progress * len(m.path_latlon)))]
                folium.PolyLine(done, color="#00c853", weight=4, opacity=0.9).add_to(group)
    return group


def view_layer(views: dict) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Camera views", show=True)
    if views["features"]:
        folium.GeoJson(views, style_function=lambda f: {
            "color": "#9e9d24" if f["properties"]["guessed"] else "#2e7d32", "weight": 0.5,
            "fillOpacity": 0.1}).add_to(group)
    return group


DENSITY_COLOURS = {"low": "#43a047", "moderate": "#fdd835", "high": "#fb8c00", "critical": "#d50000",
                   "unknown": "#78909c"}


def _density_tip(v: DensityView) -> str:
    dens = "area unknown" if v.density_per_m2 is None else f"{v.density_per_m2:.2f} persons/m²"
    area = "" if v.area_m2 is None else f" over {v.area_m2:,.0f} m²"
    return (f"<b>{_esc(v.camera_name)}</b><br>crowd {_esc(v.level.value)}: {v.count} people, {dens}{area}"
            f"<br><small>{_esc(v.observed_utc)}</small>")


def density_layer(views: list[DensityView]) -> folium.FeatureGroup:
    """Crowd density per camera view: the counted zone on the ground coloured by level
    (a circle at the camera where the zone has no ground outline)."""
    group = folium.FeatureGroup(name="Crowd density", show=True)
    for v in views:
        colour = DENSITY_COLOURS.get(v.level.value, DENSITY_COLOURS["unknown"])
        tip = _density_tip(v)
        zone = json.loads(v.zone_geojson) if v.zone_geojson else None
        if zone:
            folium.GeoJson(zone, style_function=lambda _f, c=colour: {"color": c, "weight": 1, "fillColor": c,
                                                                      "fillOpacity": 0.45},
                           tooltip=tip).add_to(group)
        else:
            folium.CircleMarker((v.lat, v.lon), radius=10, color=colour, fill=True, fill_color=colour,
                                fill_opacity=0.6, weight=1, tooltip=tip, class_name="crowd-density").add_to(group)
    return group


def blind_spot_layer(gaps: dict, *, name: str = "Blind spots (no camera)") -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=name, show=True)
    if gaps["features"]:
        fields = [f for f in ("incident_id", "rank", "area_m2") if f in gaps["features"][0]["properties"]]
        folium.GeoJson(gaps, style_function=lambda _f: {"color": "#ef6c00", "weight": 1, "fillColor": "#ff9800",
                                                        "fillOpacity": 0.35},
                       tooltip=folium.GeoJsonTooltip(fields) if fields else None).add_to(group)
    return group


SIGHTING_STATUS_COLOURS = {"unreviewed": "#1565c0", "confirmed": "#2e7d32", "rejected": "#757575"}


def sighting_path_layer(path: list) -> folium.FeatureGroup:
    """Missing-person search: the candidates in time order (``person_search.Candidate``) as
    numbered points joined by a dashed line (the probable path). Every stored string
    (camera key, colours) is escaped; the time order is the number."""
    group = folium.FeatureGroup(name="Probable path", show=True)
    pts = [(c.lat, c.lon) for c in path]
    if len(pts) >= 2:
        folium.PolyLine(pts, color="#1565c0", weight=3, opacity=0.8, dash_array="6 6").add_to(group)
    for i, c in enumerate(path, start=1):
        colour = SIGHTING_STATUS_COLOURS.get(c.status, "#1565c0")
        tip = (f"{i}. {_esc(c.captured_at.strftime('%Y-%m-%d %H:%M:%S'))} UTC · {_esc(c.camera_key)} · "
               f"upper {_esc(c.upper_colour)}, lower {_esc(c.lower_colour)} · score {c.score:.2f} · {_esc(c.status)}")
        if c.uncertainty_m:
            folium.Circle((c.lat, c.lon), radius=float(c.uncertainty_m), color=colour, weight=1, fill=False,
                          opacity=0.4).add_to(group)
        folium.CircleMarker((c.lat, c.lon), radius=7, color=colour, fill=True, fill_opacity=0.9,
                            tooltip=tip).add_to(group)
    return group
