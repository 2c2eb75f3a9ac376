"""Roles and what each may do. Checked in services, not only hidden in the UI, so a
responder cannot dispatch a drone whatever page or script they use."""

from __future__ import annotations

from enum import Enum

from disaster_ops.errors import PermissionDenied


class Role(str, Enum):
    MANAGER = "manager"  # disaster manager: decides and dispatches
    PILOT = "pilot"  # drone pilot: receives and flies missions
    RESPONDER = "responder"  # field responder: sees and acknowledges incidents


class Action(str, Enum):
    IMPORT_CAMERAS = "cameras.import"
    PLAN_MISSION = "mission.plan"
    DISPATCH_DRONE = "drone.dispatch"
    FLY_MISSION = "mission.fly"
    CONFIRM_INCIDENT = "incident.confirm"
    ACK_INCIDENT = "incident.ack"
    VIEW = "view"


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.MANAGER: frozenset(Action),
    Role.PILOT: frozenset({Action.VIEW, Action.FLY_MISSION, Action.ACK_INCIDENT, Action.PLAN_MISSION}),
    Role.RESPONDER: frozenset({Action.VIEW, Action.ACK_INCIDENT}),
}


def allowed(role: Role | str, action: Action) -> bool:
    return action in PERMISSIONS[Role(role)]


def require(role: Role | str, action: Action) -> None:
    """Raise :class:`PermissionDenied` unless ``role`` may do ``action``."""
    if not allowed(role, action):
        raise PermissionDenied(f"role {Role(role).value!r} may not {action.value}")
