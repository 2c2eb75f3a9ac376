"""Missions for the zones no camera sees: gaps around an incident (or a drawn area) →
coverage plan → stored missions → assigned to a drone → flown by the pilot.

Planning is allowed to managers and pilots; assigning a drone (dispatch) to managers
only. Every step is audited.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import shapely
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.errors import InputError
from disaster_ops.services import audit
from disaster_ops.services.cameras import cameras_near
from disaster_ops.services.drones import record_mission, set_mission_status
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Drone, Incident, MissionStatus
from disaster_ops.storage.models import Mission as MissionRow
from drone_link.files import plan_to_dict
from drone_link.planner import SurveySpec, camera_preset, plan_coverage
from drone_link.planner.errors import PlanningError
from drone_link.planner.geometry import safe_union
from geo.aoi import PointRadius
from geo.coverage import CoverageResult, uncovered_zones
from geo.errors import GeoError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GapPlan:
    """Outcome of planning a gap survey."""

    coverage: CoverageResult
    mission_ids: list[int]
    report: dict


def incident_area(incident_id: int, *, radius_m: float, engine: Engine | None = None) -> PointRadius:
    with Session(engine or get_engine()) as s:
        inc = s.get(Incident, incident_id)
    if inc is None:
        raise InputError(f"no incident {incident_id}")
    c = shapely.from_geojson(inc.geometry_geojson).centroid
    return PointRadius(lat=c.y, lon=c.x, radius_m=radius_m)


def coverage_gaps(area, *, engine: Engine | None = None, min_area_m2: float = 100.0,
                  rank_from: tuple[float, float] | None = None) -> CoverageResult:
    """Zones of ``area`` (a PointRadius or a WGS84 polygon) that no camera in the database sees."""
    bounds = area.polygon_wgs84().bounds if isinstance(area, PointRadius) else shapely.bounds(area).tolist()
    cams = cameras_near(tuple(bounds), engine=engine)
    try:
        return uncovered_zones(area, cams, min_area_m2=min_area_m2, rank_from=rank_from)
    except GeoError as exc:
        raise InputError(str(exc)) from exc


def plan_gap_survey(area, *, principal: Principal, alt_rel_m: float = 80.0,
                    camera: str = "mavic3e-wide", max_zones: int = 10, incident_id: int | None = None,
                    home_latlon: tuple[float, float] | None = None, engine: Engine | None = None) -> GapPlan:
    """Plan a photo survey of the largest uncovered zones of ``area`` and store it."""
    require(principal, Action.PLAN_MISSION)
    rank_from = (area.lat, area.lon) if isinstance(area, PointRadius) else None
    cov = coverage_gaps(area, engine=engine, rank_from=rank_from)
    if not cov.zones:
        raise InputError("no uncovered zone in this area: cameras already see all of it")
    zones = [z.polygon_wgs84 for z in cov.zones[:max_zones]]
    home = home_latlon or (cov.zones[0].centroid_lat, cov.zones[0].centroid_lon)
    try:
        plan = plan_coverage(zones, SurveySpec(camera=camera_preset(camera), alt_rel_m=alt_rel_m),
                             home_latlon=home)
    except PlanningError as exc:
        raise InputError(str(exc)) from exc
    ids = []
    with session_scope(engine or get_engine()) as s:
        for i, sortie in enumerate(plan.sorties, start=1):
            name = (f"incident {incident_id} gaps" if incident_id else "area gaps") + \
                (f" sortie {i}" if len(plan.sorties) > 1 else "")
            row = record_mission(s, sortie.mission, name=name, plan_json=json.dumps(plan_to_dict(sortie.mission)),
                                 principal=principal)
            zone_union = safe_union(zones)
            row.zone_geojson = shapely.to_geojson(zone_union)
            row.min_lon, row.min_lat, row.max_lon, row.max_lat = zone_union.bounds
            row.incident_id = incident_id
            row.report_json = json.dumps(sortie.report.to_dict())
            s.add(row)
            s.flush()
            ids.append(row.id)
        audit.record(s, principal=principal, action="mission.plan", object_type="mission",
                     object_id=",".join(map(str, ids)),
                     details={"incident_id": incident_id, "zones": len(zones),
                              "uncovered_m2": round(cov.uncovered_area_m2, 1),
                              "covered_fraction": round(cov.covered_fraction, 4)})
    return GapPlan(cov, ids, plan.report.to_dict())


def assign(mission_id: int, drone_name: str, *, principal: Principal,
           engine: Engine | None = None) -> MissionRow:
    """Dispatch: give a planned mission to a drone (managers only)."""
    require(principal, Action.DISPATCH_DRONE)
    with session_scope(engine or get_engine()) as s:
        drone = s.exec(select(Drone).where(Drone.name == drone_name)).first()
        if drone is None:
            raise InputError(f"no drone named {drone_name!r}")
        row = s.get(MissionRow, mission_id)
        if row is None:
            raise InputError(f"no mission {mission_id}")
        if row.status not in (MissionStatus.PLANNED, MissionStatus.ASSIGNED, MissionStatus.DRAFT):
            raise InputError(f"mission {mission_id} is {row.status}; only planned missions can be assigned")
        row.drone_id = drone.id
        set_mission_status(s, mission_id, MissionStatus.ASSIGNED, principal=principal, note=f"drone {drone_name}")
        return row


def list_missions(*, drone_name: str | None = None, engine: Engine | None = None,
                  active_only: bool = False) -> list[MissionRow]:
    with Session(engine or get_engine()) as s:
        q = select(MissionRow).order_by(MissionRow.id.desc())
        if drone_name:
            q = q.join(Drone, Drone.id == MissionRow.drone_id).where(Drone.name == drone_name)
        if active_only:
            q = q.where(MissionRow.status.not_in([MissionStatus.COMPLETED.value, MissionStatus.ABORTED.value,
                                                  MissionStatus.FAILED.value]))
        return list(s.exec(q))


def plan_file(mission_id: int, *, engine: Engine | None = None) -> str:
    """The mission's QGroundControl ``.plan`` document (what a pilot downloads)."""
    with Session(engine or get_engine()) as s:
        row = s.get(MissionRow, mission_id)
    if row is None or not row.plan_json:
        raise InputError(f"mission {mission_id} has no plan")
    return json.dumps(json.loads(row.plan_json), indent=2)


def request_flight(mission_id: int, *, principal: Principal, engine: Engine | None = None) -> MissionRow:
    """Pilot releases an assigned mission to its drone's worker (upload, arm, take off, fly)."""
    require(principal, Action.FLY_MISSION)
    with session_scope(engine or get_engine()) as s:
        row = s.get(MissionRow, mission_id)
        if row is None:
            raise InputError(f"no mission {mission_id}")
        if row.drone_id is None or MissionStatus(row.status) is not MissionStatus.ASSIGNED:
            raise InputError(f"mission {mission_id} is {row.status}; a manager must dispatch it to a drone first")
        return set_mission_status(s, mission_id, MissionStatus.UPLOADING, principal=principal, note="fly requested")


def request_rtl(mission_id: int, *, principal: Principal, engine: Engine | None = None) -> MissionRow:
    """Abort an active mission: the drone's worker commands return-to-launch."""
    require(principal, Action.FLY_MISSION)
    with session_scope(engine or get_engine()) as s:
        row = s.get(MissionRow, mission_id)
        if row is None:
            raise InputError(f"no mission {mission_id}")
        if MissionStatus(row.status) not in (MissionStatus.UPLOADING, MissionStatus.UPLOADED, MissionStatus.ACTIVE):
            raise InputError(f"mission {mission_id} is {row.status}, not flying")
        return set_mission_status(s, mission_id, MissionStatus.ABORTED, principal=principal, note="RTL requested")
