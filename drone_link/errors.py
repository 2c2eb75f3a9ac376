"""Exceptions of the MAVLink link and the simulated vehicle.

One small hierarchy (like ``shapely.errors``): callers catch :class:`DroneLinkError`
and show its one-line message; the attributes keep the detail for logs and tests.
"""

from __future__ import annotations

from typing import Any


class DroneLinkError(Exception):
    """Base class: anything that went wrong talking to a vehicle."""


class ConnectionStringError(DroneLinkError, ValueError):
    """A connection string that cannot be opened (bad scheme, host, port or device)."""

    def __init__(self, connection: str, reason: str) -> None:
        self.connection = connection
        self.reason = reason
        super().__init__(f"connection {connection!r}: {reason}")


class HeartbeatTimeout(DroneLinkError):
    """No HEARTBEAT from a vehicle within the deadline (vehicle off, wrong port, wrong key)."""

    def __init__(self, connection: str, timeout_s: float, *, rejected: int = 0) -> None:
        self.connection = connection
        self.timeout_s = timeout_s
        self.rejected = rejected
        hint = f"; {rejected} message(s) rejected for a bad signature" if rejected else ""
        super().__init__(f"no heartbeat on {connection} within {timeout_s:g} s{hint}")


class LinkLost(DroneLinkError):
    """Heartbeats stopped arriving while an operation waited for the vehicle."""


class MissionTransferError(DroneLinkError):
    """A mission, fence or rally transfer that did not end with success.

    ``result`` is a :class:`drone_link.link.transfer.Result`, ``step`` the
    :class:`drone_link.link.transfer.Step` the transaction was in.
    """

    def __init__(self, result: Any, step: Any, *, mission_type: int = 0, detail: str = "") -> None:
        self.result = result
        self.step = step
        self.mission_type = mission_type
        self.detail = detail
        kind = {0: "mission", 1: "fence", 2: "rally"}.get(int(mission_type), str(mission_type))
        name = getattr(result, "name", str(result)).lower()
        step_name = getattr(step, "name", str(step)).lower()
        extra = f": {detail}" if detail else ""
        super().__init__(f"{kind} transfer failed ({name}) at step {step_name}{extra}")


class MissionMismatch(DroneLinkError):
    """The mission read back from the vehicle differs from the one uploaded."""

    def __init__(self, mission_type: int, index: int, reason: str) -> None:
        self.mission_type = mission_type
        self.index = index
        self.reason = reason
        super().__init__(f"verify failed for mission_type {mission_type} item {index}: {reason}")


class CommandRejected(DroneLinkError):
    """The vehicle answered a command with a COMMAND_ACK other than ACCEPTED, or not at all.

    ``result`` is a :class:`drone_link.link.commands.CommandResult` (``TIMEOUT`` when no
    acknowledgement came after all retries); ``text`` is the last STATUSTEXT seen,
    which usually says why (e.g. ``PreArm: EKF not ready``).
    """

    def __init__(self, command: int, result: Any, *, text: str = "", what: str = "") -> None:
        self.command = int(command)
        self.result = result
        self.text = text
        name = getattr(result, "name", str(result)).lower()
        label = what or f"MAV_CMD {self.command}"
        why = f" ({text})" if text else ""
        super().__init__(f"{label} rejected: {name}{why}")


class OperationTimeout(DroneLinkError):
    """A condition (mode, altitude, EKF ready, landing) was not reached within its deadline."""

    def __init__(self, what: str, timeout_s: float) -> None:
        self.what = what
        self.timeout_s = timeout_s
        super().__init__(f"timed out after {timeout_s:g} s waiting for {what}")


class SimConfigError(DroneLinkError, ValueError):
    """Bad simulated-vehicle option (field and reason)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"sim option {field}: {reason}")


class MissionValidationError(DroneLinkError, ValueError):
    """A mission that must not be sent: ``list_name`` (mission/fence/rally/home), item, field."""

    def __init__(self, list_name: str, index: int, field: str, reason: str) -> None:
        self.list_name = list_name
        self.index = index
        self.field = field
        self.reason = reason
        super().__init__(f"{list_name} item {index} field {field}: {reason}")


class RequestStorm(MissionTransferError):
    """The vehicle kept re-requesting one item without progress: upload cut off."""
