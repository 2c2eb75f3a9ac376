"""Detections from CCTV and drones fuse into incidents; status changes obey roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import shapely
from sqlmodel import Session, select

from disaster_ops.errors import PermissionDenied
from disaster_ops.incidents import GroundDetection, IncidentTransitionError
from disaster_ops.services import incidents as svc
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.models import AuditEvent, IncidentStatus
from geo.crs import LocalFrame

T0 = datetime(2026, 8, 10, 3, 0, tzinfo=UTC)
BASE = (35.1030, 129.0330)  # Busan Jung-gu


def _offset(north_m: float, east_m: float) -> tuple[float, float]:
    f = LocalFrame.around(*BASE)
    x, y = f.to_xy_m(*BASE)
    lat, lon = f.to_latlon(x + east_m, y + north_m)
    return float(lat), float(lon)


def det(kind="fire", north_m=0.0, east_m=0.0, minutes=0.0, source="cam-1", source_kind="cctv",
        conf=0.8, footprint=None):
    lat, lon = _offset(north_m, east_m)
    return GroundDetection(source_kind=source_kind, source_id=source, observed_at=T0 + timedelta(minutes=minutes),
                           kind=kind, confidence=conf, bbox_px=(10, 10, 50, 60), ground_lat=lat,
                           ground_lon=lon, footprint_wgs84=footprint)


def test_nearby_detections_from_cctv_and_drone_join_one_incident(engine):
    r1 = svc.ingest([det()], engine=engine)[0]
    r2 = svc.ingest([det(north_m=60, minutes=2, source="drone-1", source_kind="drone")], engine=engine)[0]
    r3 = svc.ingest([det(north_m=20, east_m=30, minutes=3, source="cam-2")], engine=engine)[0]
    assert r1.created and not r2.created and not r3.created
    assert r1.incident_id == r2.incident_id == r3.incident_id
    [inc] = svc.list_incidents(engine=engine)
    assert inc.source_count == 3
    assert inc.severity >= 3  # three independent sources
    assert len(svc.detections_of(inc.id, engine=engine)) == 3
    # The incident area grew to include both detections.
    area = shapely.from_geojson(inc.geometry_geojson)
    assert area.contains(shapely.Point(*reversed(_offset(60, 0))))


@pytest.mark.parametrize("second, joins", [
    (dict(north_m=100), True),          # within 150 m
    (dict(north_m=400), False),         # too far for fire
    (dict(kind="smoke"), True),         # fire and its smoke at one place: one incident
    (dict(kind="flood"), False),        # another hazard
    (dict(minutes=120), False),         # too long after
])
def test_join_rules(engine, second, joins):
    a = svc.ingest([det()], engine=engine)[0]
    b = svc.ingest([det(**second)], engine=engine)[0]
    assert (a.incident_id == b.incident_id) is joins


def test_flood_footprint_polygon_becomes_incident_area(engine):
    f = LocalFrame.around(*BASE)
    x, y = f.to_xy_m(*BASE)
    water = f.geom_to_wgs84(shapely.box(x - 50, y - 20, x + 50, y + 20))
    r = svc.ingest([det(kind="flood", footprint=water)], engine=engine)[0]
    [inc] = svc.list_incidents(engine=engine)
    assert inc.id == r.incident_id and inc.kind == "flood"
    area_m2 = f.geom_to_m(shapely.from_geojson(inc.geometry_geojson)).area
    assert area_m2 == pytest.approx(4000, rel=0.02)


def test_roles_and_lifecycle_with_audit(engine):
    inc_id = svc.ingest([det()], engine=engine)[0].incident_id
    with pytest.raises(PermissionDenied):
        svc.set_status(inc_id, "confirmed", principal=Principal("lee", Role.RESPONDER), engine=engine)
    svc.acknowledge(inc_id, principal=Principal("lee", Role.RESPONDER), engine=engine)
    svc.set_status(inc_id, IncidentStatus.CONFIRMED, principal=Principal("park", Role.MANAGER), engine=engine)
    with pytest.raises(IncidentTransitionError):
        svc.set_status(inc_id, "new", principal=Principal("park", Role.MANAGER), engine=engine)
    svc.set_status(inc_id, "resolved", principal=Principal("park", Role.MANAGER), engine=engine)
    assert svc.list_incidents(engine=engine) == []
    assert len(svc.list_incidents(engine=engine, open_only=False)) == 1
    with Session(engine) as s:
        actions = [(e.actor, e.action) for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == [("watcher", "incident.create"), ("lee", "incident.ack"),
                       ("park", "incident.status"), ("park", "incident.status")]


def test_bad_detection_is_rejected_before_storage():
    with pytest.raises(ValueError):
        GroundDetection(source_kind="cctv", source_id="c", observed_at=datetime(2026, 1, 1), kind="fire",
                        confidence=0.5, bbox_px=(0, 0, 1, 1), ground_lat=35, ground_lon=129)
    with pytest.raises(ValueError):
        det(conf=1.5)


def test_services_refuse_a_bare_role_string(engine):
    """Roles are enforced on an authenticated principal: a role string proves nothing."""
    inc_id = svc.ingest([det()], engine=engine)[0].incident_id
    with pytest.raises(PermissionDenied, match="authenticated principal"):
        svc.set_status(inc_id, "confirmed", principal="manager", engine=engine)
    with pytest.raises(PermissionDenied):
        svc.ingest([det()], engine=engine, principal=Principal("lee", Role.RESPONDER))
