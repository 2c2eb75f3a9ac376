"""Incident service: ingest ground detections, list incidents, change their status.

``ingest`` is what the CCTV watcher and the drone video worker call: every detection is
stored, and joins or opens an incident in the same transaction, so a crash never leaves
a detection without its incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.incidents import fusion
from disaster_ops.incidents.fusion import Candidate, FusionPolicy, GroundDetection
from disaster_ops.incidents.lifecycle import OPEN, check_transition
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Detection, Incident, IncidentStatus, utcnow
from geo.crs import LocalFrame

# Degrees of latitude per metre, generously rounded up, for the bbox prefilter.
_DEG_PER_M = 1.0 / 100_000.0


@dataclass(frozen=True)
class IngestResult:
    detection_id: int
    incident_id: int
    created: bool


def _bounds(geom: shapely.Geometry) -> dict:
    w, s, e, n = geom.bounds
    return {"min_lon": w, "min_lat": s, "max_lon": e, "max_lat": n}


def _geojson(geom: shapely.Geometry) -> str:
    return shapely.to_geojson(geom)


def _area_m2(geom_wgs84: shapely.Geometry) -> float:
    c = geom_wgs84.centroid
    return float(LocalFrame.around(c.y, c.x).geom_to_m(geom_wgs84).area)


def _candidates(session: Session, det: GroundDetection, policy: FusionPolicy) -> list[Incident]:
    pad = policy.distance_for(det.kind) * _DEG_PER_M * 2.0
    w, s, e, n = det.geometry_wgs84.bounds
    q = select(Incident).where(
        Incident.kind == det.kind,
        Incident.status.in_([st.value for st in OPEN]),
        Incident.max_lon >= w - pad, Incident.min_lon <= e + pad,
        Incident.max_lat >= s - pad, Incident.min_lat <= n + pad,
        Incident.last_seen >= fusion.window(det.observed_at, policy),
    )
    return list(session.exec(q))


def ingest(detections: Iterable[GroundDetection], *, engine: Engine | None = None,
           policy: FusionPolicy | None = None, principal: Principal | None = None) -> list[IngestResult]:
    """Store detections and fuse each into an incident (one transaction).

    ``principal`` is the component that saw them (default: the CCTV watcher).
    """
    principal = principal or Principal.system("watcher")
    require(principal, Action.INGEST_DETECTIONS)
    pol = policy or FusionPolicy()
    out: list[IngestResult] = []
    with session_scope(engine or get_engine()) as session:
        for det in detections:
            rows = _candidates(session, det, pol)
            by_id = {r.id: r for r in rows}
            cands = [Candidate(r.id, r.kind, r.last_seen, shapely.from_geojson(r.geometry_geojson))
                     for r in rows]
            hit = fusion.match_incident(det, cands, pol)
            created = hit is None
            if created:
                geom = fusion.initial_geometry(det, pol)
                inc = Incident(kind=det.kind, geometry_geojson=_geojson(geom), **_bounds(geom),
                               first_seen=det.observed_at, last_seen=det.observed_at, source_count=1,
                               severity=fusion.severity(det.kind, confidence=det.confidence,
                                                        source_count=1, area_m2=_area_m2(geom)))
                session.add(inc)
                session.flush()
            else:
                inc = by_id[hit]
                geom = fusion.merged_geometry(shapely.from_geojson(inc.geometry_geojson), det, pol)
                inc.geometry_geojson = _geojson(geom)
                for k, v in _bounds(geom).items():
                    setattr(inc, k, v)
                inc.last_seen = max(inc.last_seen, det.observed_at)
            row = Detection(
                source_kind=det.source_kind, source_id=det.source_id, observed_at=det.observed_at,
                kind=det.kind, confidence=det.confidence, bbox_json=json.dumps(list(det.bbox_px)),
                ground_lat=det.ground_lat, ground_lon=det.ground_lon,
                footprint_geojson=_geojson(det.footprint_wgs84) if det.footprint_wgs84 is not None else None,
                snapshot_path=det.snapshot_path, incident_id=inc.id,
            )
            session.add(row)
            session.flush()
            if not created:
                n_sources = session.exec(
                    select(sa.func.count(sa.distinct(Detection.source_kind + ":" + Detection.source_id)))
                    .where(Detection.incident_id == inc.id)).one()
                inc.source_count = int(n_sources)
                inc.severity = max(inc.severity, fusion.severity(
                    det.kind, confidence=det.confidence, source_count=inc.source_count,
                    area_m2=_area_m2(geom)))
                session.add(inc)
            else:
                audit.record(session, principal=principal, action="incident.create", object_type="incident",
                             object_id=inc.id, details={"kind": det.kind, "source": det.source_id})
            out.append(IngestResult(row.id, inc.id, created))
    return out


def list_incidents(*, engine: Engine | None = None, open_only: bool = True,
                   since: datetime | None = None) -> list[Incident]:
    with Session(engine or get_engine()) as session:
        q = select(Incident).order_by(Incident.last_seen.desc())
        if open_only:
            q = q.where(Incident.status.in_([s.value for s in OPEN]))
        if since:
            q = q.where(Incident.last_seen >= since)
        return list(session.exec(q))


def detections_of(incident_id: int, *, engine: Engine | None = None) -> list[Detection]:
    with Session(engine or get_engine()) as session:
        return list(session.exec(select(Detection).where(Detection.incident_id == incident_id)
                                 .order_by(Detection.observed_at)))


def set_status(incident_id: int, status: IncidentStatus | str, *, principal: Principal,
               note: str | None = None, engine: Engine | None = None) -> Incident:
    """Confirm, dismiss, mark responding or resolved (managers; pilots/responders may not)."""
    require(principal, Action.CONFIRM_INCIDENT)
    with session_scope(engine or get_engine()) as session:
        inc = session.get(Incident, incident_id)
        if inc is None:
            raise KeyError(f"no incident {incident_id}")
        check_transition(inc.status, status)
        old = inc.status
        inc.status = IncidentStatus(status)
        if note:
            inc.note = note
        session.add(inc)
        audit.record(session, principal=principal, action="incident.status",
                     object_type="incident", object_id=incident_id,
                     details={"from": str(getattr(old, "value", old)), "to": inc.status.value, "note": note})
        return inc


def acknowledge(incident_id: int, *, principal: Principal, engine: Engine | None = None) -> Incident:
    """A field responder (or anyone who may view) acknowledges seeing the incident marker."""
    require(principal, Action.ACK_INCIDENT)
    with session_scope(engine or get_engine()) as session:
        inc = session.get(Incident, incident_id)
        if inc is None:
            raise KeyError(f"no incident {incident_id}")
        inc.acknowledged_by = principal.name
        session.add(inc)
        audit.record(session, principal=principal, action="incident.ack",
                     object_type="incident", object_id=incident_id, details={"at": utcnow().isoformat()})
        return inc
