"""Common operating picture: the data the map shows, as typed records (no UI here)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from disaster_ops.services.cameras import BBox, list_cameras
from disaster_ops.services.incidents import list_incidents


@dataclass(frozen=True)
class CameraMarker:
    id: int
    name: str
    lat: float
    lon: float
    heading_deg: float
    fov_deg: float
    range_m: float
    status: str
    view_source: str
    purpose: str


def camera_markers(*, bbox: BBox | None = None, engine: Engine | None = None,
                   limit: int = 20000) -> list[CameraMarker]:
    """Cameras to draw (capped so the browser stays responsive)."""
    return [
        CameraMarker(c.id, c.name, c.lat, c.lon, c.heading_deg, c.fov_deg, c.range_m,
                     str(getattr(c.status, "value", c.status)), c.view_source, c.purpose)
        for c in list_cameras(bbox=bbox, engine=engine, limit=limit)
    ]


def map_center(markers: list[CameraMarker], default=(35.1028, 129.0327)) -> tuple[float, float]:
    """Mean position of the markers (Busan Jung-gu when there are none)."""
    if not markers:
        return default
    return (sum(m.lat for m in markers) / len(markers), sum(m.lon for m in markers) / len(markers))


@dataclass(frozen=True)
class IncidentMarker:
    id: int
    kind: str
    status: str
    severity: int
    geometry_geojson: str
    lat: float
    lon: float
    last_seen_utc: str
    source_count: int
    acknowledged_by: str | None


def incident_markers(*, engine: Engine | None = None, open_only: bool = True) -> list[IncidentMarker]:
    """Incidents to draw, newest first."""
    out = []
    for i in list_incidents(engine=engine, open_only=open_only):
        out.append(IncidentMarker(
            i.id, i.kind, str(getattr(i.status, "value", i.status)), i.severity, i.geometry_geojson,
            (i.min_lat + i.max_lat) / 2.0, (i.min_lon + i.max_lon) / 2.0,
            i.last_seen.strftime("%Y-%m-%d %H:%M:%S UTC"), i.source_count, i.acknowledged_by))
    return out
