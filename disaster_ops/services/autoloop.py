"""The loop closed by itself: a new CCTV incident → its blind spots → a gap mission → (only
where a manager enabled it for the drone) dispatched and released to that drone.

:class:`AutoLoop` is ticked by a long-running process (the headless demo, or any
supervisor). Each step acts as ``Principal.system("autoloop")`` and is audited as such:
planning uses the product's planner with its flight-safety rules
(``services/missions.plan_gap_survey``); dispatch happens only for drones whose row in
``drone_aerial`` has ``auto_dispatch`` set by a manager (``aerial_view.set_auto_dispatch``),
only to a drone that has no unfinished mission, and only when the mission passes the
same pre-flight check as a manager's dispatch. The aerial worker then turns what
the drone sees into detections of the same incidents (or new ones).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.errors import InputError
from disaster_ops.services import audit
from disaster_ops.services.aerial_view import auto_dispatch_drones
from disaster_ops.services.drones import set_mission_status
from disaster_ops.services.missions import (
    incident_area,
    plan_gap_survey,
    preflight_mission,
    request_flight,
)
from disaster_ops.services.roles import Principal
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Detection, Drone, DroneAerial, Incident, MissionStatus
from disaster_ops.storage.models import Mission as MissionRow

logger = logging.getLogger(__name__)
SYSTEM = Principal.system("autoloop")
UNFINISHED = (MissionStatus.PLANNED, MissionStatus.ASSIGNED, MissionStatus.UPLOADING, MissionStatus.UPLOADED,
              MissionStatus.ACTIVE, MissionStatus.PAUSED)
BUSY = tuple(s.value for s in UNFINISHED if s is not MissionStatus.PLANNED)


@dataclass
class AutoLoopResult:
    planned: list[int] = field(default_factory=list)  # mission ids
    dispatched: list[tuple[int, str]] = field(default_factory=list)  # (mission id, drone)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (incident id, why)


class AutoLoop:
    """Plans (and where allowed dispatches) a gap survey for each new CCTV incident, once."""

    def __init__(self, *, engine: Engine | None = None, radius_m: float = 150.0, alt_rel_m: float = 80.0,
                 home_latlon: tuple[float, float] | None = None) -> None:
        self.engine = engine or get_engine()
        self.radius_m, self.alt_rel_m, self.home_latlon = radius_m, alt_rel_m, home_latlon
        self._skipped: set[int] = set()

    def _new_cctv_incidents(self, s: Session) -> list[int]:
        planned = select(MissionRow.incident_id).where(MissionRow.incident_id.is_not(None))
        q = (select(Incident.id).join(Detection, Detection.incident_id == Incident.id)
             .where(Detection.source_kind == "cctv", Incident.status.in_(["new", "confirmed"]),
                    Incident.id.not_in(planned)).distinct().order_by(Incident.id))
        return list(s.exec(q))

    def _idle_drone(self, s: Session) -> str | None:
        for name in auto_dispatch_drones(engine=self.engine):
            d = s.exec(select(Drone).where(Drone.name == name)).first()
            busy = s.exec(select(MissionRow.id).where(MissionRow.drone_id == d.id,
                                                      MissionRow.status.in_(BUSY))).first()
            if busy is None:
                return name
        return None

    def tick(self) -> AutoLoopResult:
        out = AutoLoopResult()
        with Session(self.engine) as s:
            incidents = self._new_cctv_incidents(s)
        for inc_id in incidents:
            if inc_id in self._skipped:
                continue
            try:
                with Session(self.engine) as s:
                    drone = self._idle_drone(s)
                # Launch from the drone that would fly it (its live position or home), else the
                # configured launch point: the planner's fence, no-fly, sortie and check rules apply.
                plan = plan_gap_survey(incident_area(inc_id, radius_m=self.radius_m, engine=self.engine),
                                       principal=SYSTEM, alt_rel_m=self.alt_rel_m, incident_id=inc_id,
                                       drone_names=[drone] if drone else None,
                                       launch_latlon=self.home_latlon, engine=self.engine)
            except InputError as exc:  # nothing uncovered, or no safe plan: say so once
                self._mark_skipped(inc_id, str(exc))
                out.skipped.append((inc_id, str(exc)))
                continue
            out.planned += plan.mission_ids
            logger.info("autoloop: incident %d → missions %s", inc_id, plan.mission_ids)
            for mission_id in plan.mission_ids:
                with Session(self.engine) as s:
                    drone = self._idle_drone(s)
                if drone is None:
                    break
                why = self._dispatch(mission_id, drone)
                if why:
                    out.skipped.append((inc_id, why))
                    break
                out.dispatched.append((mission_id, drone))
        return out

    def _mark_skipped(self, incident_id: int, why: str) -> None:
        """Remember (for this process) and audit an incident with nothing to plan."""
        self._skipped.add(incident_id)
        with session_scope(self.engine) as s:
            audit.record(s, principal=SYSTEM, action="mission.skip", object_type="incident",
                         object_id=incident_id, details={"reason": why[:200]})

    def _dispatch(self, mission_id: int, drone_name: str) -> str | None:
        """Assign to a drone whose operator enabled auto-dispatch, then release it to fly.

        The pre-flight check that ``missions.assign`` runs for a manager runs here too; a
        failing mission stays planned (audited with every violation). Returns why not, or None."""
        check = preflight_mission(mission_id, drone_name, engine=self.engine)
        if not check.ok:
            with session_scope(self.engine) as s:
                audit.record(s, principal=SYSTEM, action="mission.preflight_failed", object_type="mission",
                             object_id=mission_id, details={"drone": drone_name, **check.to_dict()})
            return f"mission {mission_id} fails the pre-flight check for {drone_name}: {check.summary()}"
        with session_scope(self.engine) as s:
            d = s.exec(select(Drone).where(Drone.name == drone_name)).first()
            setting = s.get(DroneAerial, d.id)
            if setting is None or not setting.auto_dispatch:  # re-checked inside the transaction
                return "auto-dispatch switched off"
            row = s.get(MissionRow, mission_id)
            row.drone_id = d.id
            set_mission_status(s, mission_id, MissionStatus.ASSIGNED, principal=SYSTEM,
                               note=f"auto-dispatch to {drone_name} (enabled by {setting.auto_dispatch_by})")
        request_flight(mission_id, principal=SYSTEM, engine=self.engine)
        logger.info("autoloop: mission %d dispatched to %s", mission_id, drone_name)
        return None
