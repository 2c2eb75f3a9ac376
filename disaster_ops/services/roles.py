"""Roles, actions and the authenticated principal that every state-changing service takes.

Services never trust a role string handed to them by a page or a script: they take a
:class:`Principal`, which only authentication (``services/auth``: a user and password
checked against the user table, or the explicit local-admin mode of the CLI) or the
product's own automated components (:meth:`Principal.system`) produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from disaster_ops.errors import PermissionDenied


class Role(str, Enum):
    ADMIN = "admin"  # manages users and agencies; may do everything
    MANAGER = "manager"  # disaster manager: decides and dispatches
    PILOT = "pilot"  # drone pilot: receives and flies missions
    RESPONDER = "responder"  # field responder: sees and acknowledges incidents
    SYSTEM = "system"  # the product's own automated components (watcher, drone worker)


class Action(str, Enum):
    IMPORT_CAMERAS = "cameras.import"
    CONFIGURE_CAMERA = "camera.configure"
    IMPORT_AIRSPACE = "airspace.import"
    PLAN_MISSION = "mission.plan"
    DISPATCH_DRONE = "drone.dispatch"
    FLY_MISSION = "mission.fly"
    CONFIRM_INCIDENT = "incident.confirm"
    ACK_INCIDENT = "incident.ack"
    INGEST_DETECTIONS = "incident.ingest"
    VIEW_AUDIT = "audit.view"
    SEARCH_PEOPLE = "people.search"  # missing-person search over stored person sightings
    REVIEW_SIGHTING = "people.review"  # confirm or reject a sighting found by a search
    MANAGE_USERS = "users.manage"
    VIEW = "view"
    # Unblurred snapshots (faces visible). Everyone else, and every feed that leaves the
    # centre, gets the blurred copy (services/evidence.py).
    VIEW_RAW_EVIDENCE = "evidence.raw"


_MANAGER = frozenset(Action) - {Action.MANAGE_USERS, Action.INGEST_DETECTIONS}
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.MANAGER: _MANAGER,
    Role.PILOT: frozenset({Action.VIEW, Action.FLY_MISSION, Action.ACK_INCIDENT, Action.PLAN_MISSION}),
    Role.RESPONDER: frozenset({Action.VIEW, Action.ACK_INCIDENT}),
    # The watcher, publisher and feeds act as SYSTEM: they never see raw evidence.
    Role.SYSTEM: frozenset({Action.VIEW, Action.INGEST_DETECTIONS, Action.IMPORT_CAMERAS,
                            Action.PLAN_MISSION, Action.FLY_MISSION}),
}


@dataclass(frozen=True)
class Principal:
    """Who is acting: an authenticated user, the CLI's local admin, or a system component.

    ``name`` is what the audit trail records; ``agency`` scopes what the principal may see
    and receive (None: the operating centre itself).
    """

    name: str
    role: Role
    agency: str | None = None
    user_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))
        if not self.name:
            raise ValueError("a principal needs a name")

    @classmethod
    def system(cls, component: str) -> Principal:
        """The product's own component (``watcher``, ``worker:sim-1``, ``demo``)."""
        return cls(name=component, role=Role.SYSTEM)

    def may(self, action: Action) -> bool:
        return action in PERMISSIONS[self.role]


def allowed(principal: Principal, action: Action) -> bool:
    return principal.may(action)


def require(principal: Principal, action: Action) -> None:
    """Raise :class:`PermissionDenied` unless ``principal`` may do ``action``."""
    if not isinstance(principal, Principal):
        raise PermissionDenied(f"{action.value} needs an authenticated principal, got {type(principal).__name__}")
    if not principal.may(action):
        raise PermissionDenied(f"{principal.name} ({principal.role.value}) may not {action.value}")
