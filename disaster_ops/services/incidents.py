"""Incident service: ingest ground detections, list incidents, change their status.

``ingest`` is what the CCTV watcher and the drone video worker call. Each detection is
stored and joins (or opens) its incident in its own transaction: a crash in the middle
of a batch loses no detection already committed, and never leaves a detection without
its incident.

Rules (times in :class:`disaster_ops.config.IncidentRules`):

* fire and smoke at one place are one incident (``kinds`` lists both, ``kind`` is the
  primary one, fire);
* severity is recomputed from the evidence of the last ``severity_window_s`` on every
  detection and every :func:`sweep`, so it goes down as well as up;
* :func:`sweep` turns quiet incidents ``stale`` and then ``resolved``
  (:mod:`disaster_ops.incidents.lifecycle`); the watcher runs it, and so does
  ``disaster-ops incidents list``;
* a dismissal suppresses that hazard: for ``suppress_after_dismiss_s`` detections of the
  same kind group from the same camera, or within join distance of the dismissed area,
  are stored against the dismissed incident and raise nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.config import IncidentRules, get_settings
from disaster_ops.incidents import fusion
from disaster_ops.incidents.fusion import Candidate, FusionPolicy, GroundDetection
from disaster_ops.incidents.lifecycle import OPEN, check_transition, due_transition
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage import spatial
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Detection, Incident, IncidentStatus, utcnow
from disaster_ops.storage.txlock import serialise
from geo.crs import LocalFrame

# Degrees of latitude per metre, generously rounded up, for the bbox prefilter.
_DEG_PER_M = 1.0 / 100_000.0
RULES_PRINCIPAL = Principal.system("incident-rules")


@dataclass(frozen=True)
class IngestResult:
    detection_id: int
    incident_id: int
    created: bool
    suppressed: bool = False  # stored against a dismissed incident; nothing raised


def _bounds(geom: shapely.Geometry) -> dict:
    w, s, e, n = geom.bounds
    return {"min_lon": w, "min_lat": s, "max_lon": e, "max_lat": n}


def _geojson(geom: shapely.Geometry) -> str:
    return shapely.to_geojson(geom)


def _area_m2(geom_wgs84: shapely.Geometry) -> float:
    c = geom_wgs84.centroid
    return float(LocalFrame.around(c.y, c.x).geom_to_m(geom_wgs84).area)


def _near(bind, det: GroundDetection, policy: FusionPolicy):
    """The detection's kind group and the box prefilter of incidents it may join (bbox
    overlap; on PostGIS from the GiST index of ``incident.geom``)."""
    group = fusion.kinds_in_group(det.kind)
    pad = max(policy.distance_for(k) for k in group) * _DEG_PER_M * 2.0
    w, s, e, n = det.geometry_wgs84.bounds
    return group, (spatial.bbox_clause(bind, spatial.INCIDENTS, w - pad, s - pad, e + pad, n + pad),)


def _candidate(r: Incident) -> Candidate:
    return Candidate(r.id, r.kind, r.last_seen, shapely.from_geojson(r.geometry_geojson),
                     frozenset(r.kind_list))


def _candidates(session: Session, det: GroundDetection, policy: FusionPolicy) -> list[Incident]:
    group, box = _near(session.connection(), det, policy)
    q = select(Incident).where(
        Incident.kind.in_(sorted(group)),
        Incident.status.in_([st.value for st in OPEN]),
        *box,
        Incident.last_seen >= fusion.window(det.observed_at, policy),
    )
    return list(session.exec(q))


def _suppressing(session: Session, det: GroundDetection, policy: FusionPolicy) -> Incident | None:
    """A dismissed incident whose suppression covers this detection (same camera or area)."""
    group = fusion.kinds_in_group(det.kind)
    rows = list(session.exec(select(Incident).where(
        Incident.status == IncidentStatus.DISMISSED.value, Incident.kind.in_(sorted(group)),
        Incident.suppressed_until.is_not(None), Incident.suppressed_until > det.observed_at)))
    if not rows:
        return None
    same_cam = set(session.exec(select(Detection.incident_id).where(
        Detection.incident_id.in_([r.id for r in rows]), Detection.source_id == det.source_id,
        Detection.source_kind == det.source_kind)))
    for r in rows:
        if r.id in same_cam:
            return r
    by_id = {r.id: r for r in rows}
    far = fusion.FusionPolicy(join_distance_m=policy.join_distance_m,
                              default_join_distance_m=policy.default_join_distance_m,
                              join_window_s=float("inf"), point_radius_m=policy.point_radius_m)
    hit = fusion.match_incident(det, [_candidate(r) for r in rows], far)
    return by_id.get(hit) if hit is not None else None


def _severity(session: Session, inc: Incident, now: datetime, rules: IncidentRules) -> int:
    """Severity from the detections of the last ``severity_window_s`` before ``now``."""
    since = now - timedelta(seconds=rules.severity_window_s)
    row = session.exec(
        select(sa.func.max(Detection.confidence),
               sa.func.count(sa.distinct(Detection.source_kind + ":" + Detection.source_id)))
        .where(Detection.incident_id == inc.id, Detection.observed_at >= since,
               Detection.observed_at <= now)).one()
    conf, n_sources = row
    if not n_sources:
        return 1
    return fusion.severity(inc.kind, confidence=float(conf or 0.0), source_count=int(n_sources),
                           area_m2=_area_m2(shapely.from_geojson(inc.geometry_geojson)))


def _ingest_one(session: Session, det: GroundDetection, pol: FusionPolicy, rules: IncidentRules,
                principal: Principal) -> IngestResult:
    rows = _candidates(session, det, pol)
    by_id = {r.id: r for r in rows}
    hit = fusion.match_incident(det, [_candidate(r) for r in rows], pol)
    suppressed = False
    if hit is None:
        quiet = _suppressing(session, det, pol)
        if quiet is not None:
            inc, suppressed = quiet, True
    created = hit is None and not suppressed
    if created:
        geom = fusion.initial_geometry(det, pol)
        inc = Incident(kind=det.kind, kinds=det.kind, geometry_geojson=_geojson(geom), **_bounds(geom),
                       first_seen=det.observed_at, last_seen=det.observed_at, source_count=1, severity=1)
        session.add(inc)
        session.flush()
    elif not suppressed:
        inc = by_id[hit]
        geom = fusion.merged_geometry(shapely.from_geojson(inc.geometry_geojson), det, pol)
        inc.geometry_geojson = _geojson(geom)
        for k, v in _bounds(geom).items():
            setattr(inc, k, v)
        inc.last_seen = max(inc.last_seen, det.observed_at)
        inc.kinds = fusion.join_kinds(inc.kind_list, [det.kind])
        inc.kind = fusion.primary_kind(inc.kind_list)
        if IncidentStatus(inc.status) is IncidentStatus.STALE:  # new evidence: back to what it was
            back = IncidentStatus(inc.status_before_stale or IncidentStatus.NEW.value)
            audit.record(session, principal=RULES_PRINCIPAL, action="incident.status", object_type="incident",
                         object_id=inc.id, details={"from": "stale", "to": back.value, "why": "new detection"})
            inc.status, inc.status_before_stale = back, None
    row = Detection(
        source_kind=det.source_kind, source_id=det.source_id, observed_at=det.observed_at,
        kind=det.kind, confidence=det.confidence, bbox_json=json.dumps(list(det.bbox_px)),
        ground_lat=det.ground_lat, ground_lon=det.ground_lon,
        footprint_geojson=_geojson(det.footprint_wgs84) if det.footprint_wgs84 is not None else None,
        snapshot_path=det.snapshot_path, incident_id=inc.id, uncertainty_m=det.uncertainty_m,
    )
    session.add(row)
    session.flush()
    if not suppressed:
        inc.source_count = int(session.exec(
            select(sa.func.count(sa.distinct(Detection.source_kind + ":" + Detection.source_id)))
            .where(Detection.incident_id == inc.id)).one())
        inc.severity = _severity(session, inc, inc.last_seen, rules)
        session.add(inc)
    if created:
        audit.record(session, principal=principal, action="incident.create", object_type="incident",
                     object_id=inc.id, details={"kind": det.kind, "source": det.source_id})
    return IngestResult(row.id, inc.id, created, suppressed)


def ingest(detections: Iterable[GroundDetection], *, engine: Engine | None = None,
           policy: FusionPolicy | None = None, principal: Principal | None = None,
           rules: IncidentRules | None = None,
           guard: Callable[[Session, GroundDetection], None] | None = None) -> list[IngestResult]:
    """Store detections and fuse each into an incident (one transaction per detection).

    ``principal`` is the component that saw them (default: the CCTV watcher). Fusion of
    one kind group is serialised across processes (:mod:`disaster_ops.storage.txlock`):
    two workers that see the same fire at once make one incident with two sources.
    ``guard`` runs first in each detection's transaction and may raise to refuse it (a
    camera worker's lease check); detections stored before it raised stay stored.
    """
    principal = principal or Principal.system("watcher")
    require(principal, Action.INGEST_DETECTIONS)
    pol = policy or FusionPolicy()
    rules = rules or get_settings().incidents
    eng = engine or get_engine()
    out: list[IngestResult] = []
    for det in detections:
        with session_scope(eng) as session:
            serialise(session, "fusion:" + fusion.group_of(det.kind))
            if guard is not None:
                guard(session, det)
            out.append(_ingest_one(session, det, pol, rules, principal))
    return out


@dataclass(frozen=True)
class SweepChange:
    incident_id: int
    old_status: str
    new_status: str
    old_severity: int
    new_severity: int


def sweep(*, now: datetime | None = None, engine: Engine | None = None,
          rules: IncidentRules | None = None) -> list[SweepChange]:
    """Apply the quiet-time deadlines and re-grade severity of every open incident."""
    now = now or utcnow()
    rules = rules or get_settings().incidents
    changes: list[SweepChange] = []
    with session_scope(engine or get_engine()) as session:
        open_kinds = session.exec(select(Incident.kind).where(Incident.status.in_([s.value for s in OPEN]))
                                  .distinct()).all()
        for group in sorted({fusion.group_of(k) for k in open_kinds}):  # sorted: no deadlock with ingest
            serialise(session, "fusion:" + group)
        for inc in session.exec(select(Incident).where(Incident.status.in_([s.value for s in OPEN]))):
            old_status, old_sev = IncidentStatus(inc.status), inc.severity
            to = due_transition(old_status, inc.last_seen, now, rules)
            if to is IncidentStatus.STALE:
                inc.status_before_stale = old_status.value
            if to is not None:
                inc.status = to
                audit.record(session, principal=RULES_PRINCIPAL, action="incident.status", object_type="incident",
                             object_id=inc.id, details={"from": old_status.value, "to": to.value,
                                                        "why": f"no detection since {inc.last_seen.isoformat()}"})
            inc.severity = _severity(session, inc, now, rules)
            if to is not None or inc.severity != old_sev:
                session.add(inc)
                changes.append(SweepChange(inc.id, old_status.value, IncidentStatus(inc.status).value,
                                           old_sev, inc.severity))
    return changes


def list_incidents(*, engine: Engine | None = None, open_only: bool = True,
                   since: datetime | None = None, status: IncidentStatus | None = None) -> list[Incident]:
    with Session(engine or get_engine()) as session:
        q = select(Incident).order_by(Incident.last_seen.desc())
        if status is not None:
            q = q.where(Incident.status == IncidentStatus(status).value)
        if open_only:
            q = q.where(Incident.status.in_([s.value for s in OPEN]))
        if since:
            q = q.where(Incident.last_seen >= since)
        return list(session.exec(q))


@dataclass(frozen=True)
class NearIncident:
    """An incident within some distance of a place, and how far its area is from it."""

    incident: Incident
    distance_m: float


def incidents_near(lat: float, lon: float, radius_m: float, *, engine: Engine | None = None,
                   open_only: bool = True) -> list[NearIncident]:
    """Incidents whose area comes within ``radius_m`` of (lat, lon), nearest first (0 m:
    the point is inside). Distances in the local UTM zone; PostGIS answers with
    ``ST_DWithin`` on the indexed ``incident.geom``, other engines with the bbox columns and
    shapely, with the same result."""
    where = (Incident.__table__.c.status.in_([st.value for st in OPEN]),) if open_only else ()
    with Session(engine or get_engine()) as session:
        hits = spatial.within_m(session.connection(), spatial.INCIDENTS, shapely.Point(lon, lat), radius_m,
                                where=where)
        by_id = {i.id: i for i in session.exec(select(Incident).where(Incident.id.in_([i for i, _ in hits])))}
    return [NearIncident(by_id[i], d) for i, d in hits if i in by_id]


def get_incident(incident_id: int, *, engine: Engine | None = None) -> Incident | None:
    with Session(engine or get_engine()) as session:
        return session.get(Incident, incident_id)


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
        inc.status_before_stale = None
        if inc.status is IncidentStatus.DISMISSED:
            rules = get_settings().incidents
            inc.suppressed_until = utcnow() + timedelta(seconds=rules.suppress_after_dismiss_s)
        elif inc.suppressed_until is not None:
            inc.suppressed_until = None
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
