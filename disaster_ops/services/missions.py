"""Missions for the zones no camera sees and search missions: gaps around an incident (or
a drawn area), or a search datum → safe plan (``services.planning``: launch point, fence,
no-fly layer, sorties, waypoint limit, terrain, pre-flight check) → stored missions →
assigned to a drone after a fresh pre-flight check → flown by the pilot.

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

from disaster_ops.config import get_settings
from disaster_ops.errors import InputError
from disaster_ops.services import audit, planning
from disaster_ops.services.drones import record_mission, set_mission_status
from disaster_ops.services.mission_lifecycle import FLYING
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Drone, Incident, MissionStatus
from disaster_ops.storage.models import Mission as MissionRow
from drone_link.files import plan_from_dict, plan_to_dict
from drone_link.planner import SurveySpec, camera_preset
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


def coverage_gaps(area, *, engine: Engine | None = None, min_area_m2: float | None = None,
                  rank_from: tuple[float, float] | None = None) -> CoverageResult:
    """Zones of ``area`` (a PointRadius or a WGS84 polygon) that no camera in the database sees.

    Answered from the registry's coverage index (built once, cached, rebuilt when the
    camera table changes; :mod:`disaster_ops.services.coverage`).
    """
    from disaster_ops.services.coverage import db_index

    try:
        index = db_index(engine=engine, aoi=area)
        floor_m2 = get_settings().coverage.gap_min_area_m2 if min_area_m2 is None else min_area_m2
        return uncovered_zones(area, index, min_area_m2=floor_m2, rank_from=rank_from)
    except GeoError as exc:
        raise InputError(str(exc)) from exc
    except shapely.errors.GEOSException as exc:
        raise InputError(f"coverage of this area could not be computed ({str(exc).splitlines()[0]})") from exc


def plan_gap_survey(area, *, principal: Principal, alt_rel_m: float = 80.0,
                    camera: str = "mavic3e-wide", max_zones: int = 10, incident_id: int | None = None,
                    drone_names: list[str] | None = None,
                    launch_latlon: tuple[float, float] | None = None,
                    home_latlon: tuple[float, float] | None = None,
                    engine: Engine | None = None) -> GapPlan:
    """Plan a photo survey of the largest uncovered zones of ``area`` and store its sorties.

    Shares :func:`disaster_ops.services.planning.plan_survey` with ``disaster-ops plan``:
    launch from each chosen drone's live position or home (else ``launch_latlon``), geofence,
    the stored no-fly layer, battery sorties, the drones' waypoint limit, terrain when a DEM
    is configured, and a pre-flight check. ``alt_rel_m`` is above the launch point, or above
    the ground when a DEM is configured. ``home_latlon`` is the old name of ``launch_latlon``.
    """
    require(principal, Action.PLAN_MISSION)
    launch_latlon = launch_latlon or home_latlon
    rank_from = (area.lat, area.lon) if isinstance(area, PointRadius) else None
    cov = coverage_gaps(area, engine=engine, rank_from=rank_from)
    if not cov.zones:
        raise InputError("no uncovered zone in this area: cameras already see all of it")
    zones = [z.polygon_wgs84 for z in cov.zones[:max_zones]]
    safety = get_settings().planning
    if drone_names:
        launches = planning.launches_for(drone_names, launch_latlon=launch_latlon, engine=engine)
    elif launch_latlon is not None:
        launches = [planning.Launch(launch_latlon[0], launch_latlon[1], "launch point")]
    else:
        raise InputError("choose the drone(s) to fly it or give a launch point")
    bounds = _bounds_with(safe_union(zones), launches, safety.fence_margin_m)
    try:
        survey = SurveySpec(camera=camera_preset(camera), alt_rel_m=alt_rel_m,
                            max_alt_rel_m=safety.max_alt_agl_m)
    except (PlanningError, KeyError) as exc:
        raise InputError(str(exc)) from exc
    safe = planning.plan_survey(zones, survey, launches=launches, safety=safety,
                                no_fly=planning.stored_no_fly(bounds, engine=engine),
                                terrain=planning.load_terrain(safety, bounds))
    ids = _store(safe, name=f"incident {incident_id} gaps" if incident_id else "area gaps",
                 zone=safe_union(zones), incident_id=incident_id, principal=principal, engine=engine,
                 details={"incident_id": incident_id, "zones": len(zones),
                          "uncovered_m2": round(cov.uncovered_area_m2, 1),
                          "covered_fraction": round(cov.covered_fraction, 4)})
    report = safe.report.to_dict()
    report["notes"] = safe.notes
    return GapPlan(cov, ids, report)


def plan_search_mission(pattern: str, *, principal: Principal, incident_id: int | None = None,
                        datum_latlon: tuple[float, float] | None = None, radius_m: float = 300.0,
                        heading_deg: float = 0.0, alt_rel_m: float = 60.0, camera: str = "mavic3e-wide",
                        drone_name: str | None = None, launch_latlon: tuple[float, float] | None = None,
                        engine: Engine | None = None) -> list[int]:
    """Plan and store a search pattern (expanding-square, sector, parallel-track) around an
    incident or a last known position (``datum_latlon``), from the drone's position."""
    require(principal, Action.PLAN_MISSION)
    if (incident_id is None) == (datum_latlon is None):
        raise InputError("give exactly one of an incident and a last known position")
    if incident_id is not None:
        a = incident_area(incident_id, radius_m=radius_m, engine=engine)
        datum_latlon = (a.lat, a.lon)
    safety = get_settings().planning
    if drone_name:
        [launch] = planning.launches_for([drone_name], launch_latlon=launch_latlon, engine=engine)
    elif launch_latlon is not None:
        launch = planning.Launch(launch_latlon[0], launch_latlon[1], "launch point")
    else:
        raise InputError("choose the drone to fly it or give a launch point")
    lat, lon = datum_latlon
    reach_deg = (radius_m * 1.5 + safety.fence_margin_m) / 90_000.0
    bounds = (min(lon - reach_deg, launch.lon), min(lat - reach_deg, launch.lat),
              max(lon + reach_deg, launch.lon), max(lat + reach_deg, launch.lat))
    try:
        survey = SurveySpec(camera=camera_preset(camera), alt_rel_m=alt_rel_m,
                            max_alt_rel_m=safety.max_alt_agl_m)
    except (PlanningError, KeyError) as exc:
        raise InputError(str(exc)) from exc
    safe = planning.plan_search(pattern, lat, lon, survey, launch=launch, safety=safety,
                                no_fly=planning.stored_no_fly(bounds, engine=engine), radius_m=radius_m,
                                heading_deg=heading_deg, terrain=planning.load_terrain(safety, bounds))
    area = safe.coverage.frame.geom_to_wgs84(safe.coverage.area_m)
    return _store(safe, name=f"{pattern} search" + (f" incident {incident_id}" if incident_id else ""),
                  zone=area, incident_id=incident_id, principal=principal, engine=engine,
                  details={"pattern": pattern, "datum": [lat, lon], "radius_m": radius_m})


def parse_latlon(text: str | None) -> tuple[float, float] | None:
    """``"35.10,129.03"`` → (lat, lon); empty → None; anything else → :class:`InputError`."""
    if not text or not text.strip():
        return None
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"launch point: expected lat,lon in degrees, got {text!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"launch point: {lat},{lon} is not a WGS84 position")
    return lat, lon


def _bounds_with(area, launches, margin_m: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = area.bounds
    for lc in launches:
        x0, y0, x1, y1 = min(x0, lc.lon), min(y0, lc.lat), max(x1, lc.lon), max(y1, lc.lat)
    pad = margin_m / 90_000.0 + 0.002
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def _store(safe: planning.SafePlan, *, name: str, zone, incident_id: int | None, principal: Principal,
           engine: Engine | None, details: dict) -> list[int]:
    ids = []
    many = len(safe.sorties) > 1
    with session_scope(engine or get_engine()) as s:
        for i, sortie in enumerate(safe.sorties, start=1):
            who = f" {sortie.launch.drone_name}" if sortie.launch.drone_name else ""
            row = record_mission(s, sortie.mission, name=name + (f"{who} sortie {i}" if many else who),
                                 plan_json=json.dumps(plan_to_dict(sortie.mission)), principal=principal)
            row.zone_geojson = shapely.to_geojson(zone)
            row.min_lon, row.min_lat, row.max_lon, row.max_lat = zone.bounds
            row.incident_id = incident_id
            row.report_json = json.dumps({**sortie.summary(), "sortie": i, "sortie_count": len(safe.sorties),
                                          "notes": safe.notes, "no_fly_considered": safe.no_fly_names})
            s.add(row)
            s.flush()
            ids.append(row.id)
        audit.record(s, principal=principal, action="mission.plan", object_type="mission",
                     object_id=",".join(map(str, ids)), details={**details, "sorties": len(ids)})
    return ids


def preflight_mission(mission_id: int, drone_name: str, *, engine: Engine | None = None):
    """The pre-flight check of a stored mission for ``drone_name`` (a PreflightResult)."""
    with Session(engine or get_engine()) as s:
        row = s.get(MissionRow, mission_id)
    if row is None or not row.plan_json:
        raise InputError(f"no mission {mission_id} with a plan")
    mission = plan_from_dict(json.loads(row.plan_json), path=f"mission {mission_id}")
    safety = get_settings().planning
    [launch] = planning.launches_for([drone_name], engine=engine,
                                     launch_latlon=(mission.home_lat_deg, mission.home_lon_deg))
    bounds = (row.min_lon, row.min_lat, row.max_lon, row.max_lat)
    bounds = _bounds_with(shapely.box(*bounds), [launch], safety.fence_margin_m)
    return planning.check_mission(mission, launch=launch, safety=safety,
                                  no_fly=planning.stored_no_fly(bounds, engine=engine),
                                  terrain=planning.load_terrain(safety, bounds))


def assign(mission_id: int, drone_name: str, *, principal: Principal,
           engine: Engine | None = None) -> MissionRow:
    """Dispatch: give a planned mission to a drone (managers only), if it passes the pre-flight check.

    The check runs against that drone (waypoint memory, battery, position) and the
    airspace layer as stored *now*; a failing mission is refused with every violation.
    """
    require(principal, Action.DISPATCH_DRONE)
    with Session(engine or get_engine()) as s:
        if s.exec(select(Drone).where(Drone.name == drone_name)).first() is None:
            raise InputError(f"no drone named {drone_name!r}")
    check = preflight_mission(mission_id, drone_name, engine=engine)
    if not check.ok:
        with session_scope(engine or get_engine()) as s:
            audit.record(s, principal=principal, action="mission.preflight_failed", object_type="mission",
                         object_id=mission_id, details={"drone": drone_name, **check.to_dict()})
        raise InputError(f"mission {mission_id} fails the pre-flight check for {drone_name}: {check.summary()}")
    with session_scope(engine or get_engine()) as s:
        drone = s.exec(select(Drone).where(Drone.name == drone_name)).first()
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
        if MissionStatus(row.status) not in FLYING:
            raise InputError(f"mission {mission_id} is {row.status}, not flying")
        return set_mission_status(s, mission_id, MissionStatus.ABORTED, principal=principal, note="RTL requested")


def request_pause(mission_id: int, *, principal: Principal, engine: Engine | None = None) -> MissionRow:
    """Hold a flying mission: the drone's worker stops its launch before the next step that
    moves the vehicle, or sends BRAKE / DO_PAUSE_CONTINUE to an airborne one (within 1 s)."""
    require(principal, Action.FLY_MISSION)
    with session_scope(engine or get_engine()) as s:
        return set_mission_status(s, mission_id, MissionStatus.PAUSED, principal=principal, note="pause requested",
                                  expected={MissionStatus.UPLOADING, MissionStatus.UPLOADED,
                                            MissionStatus.ACTIVE})


def request_resume(mission_id: int, *, principal: Principal, engine: Engine | None = None) -> MissionRow:
    """Continue a paused mission (the worker continues the launch or sends AUTO / continue)."""
    require(principal, Action.FLY_MISSION)
    with session_scope(engine or get_engine()) as s:
        return set_mission_status(s, mission_id, MissionStatus.ACTIVE, principal=principal, note="resume requested",
                                  expected=MissionStatus.PAUSED)


def progress(row: MissionRow) -> tuple[int, int] | None:
    """``(items reached, items in the mission)`` once the drone reports where it is in it."""
    if row.current_seq is None:
        return None
    try:
        total = len(json.loads(row.items_json or "[]"))
    except ValueError:
        return None
    return (min(int(row.current_seq), total), total) if total else None
