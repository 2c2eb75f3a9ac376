"""MAVLink 2 ground-control link: connections, mission/fence/rally transfers, commands, telemetry."""

from drone_link.link.client import DroneLink, LinkOptions, MissionProgress, TransferReport
from drone_link.link.commands import CommandResult, CopterMode, mode_name, mode_number
from drone_link.link.connection import ConnectionSpec, Transport, parse_connection
from drone_link.link.telemetry import Telemetry
from drone_link.link.transfer import (
    FrameStyle,
    MissionClear,
    MissionDownload,
    MissionUpload,
    Result,
    Step,
)

__all__ = [
    "CommandResult", "ConnectionSpec", "CopterMode", "DroneLink", "FrameStyle", "LinkOptions",
    "MissionClear", "MissionDownload", "MissionProgress", "MissionUpload", "Result", "Step",
    "Telemetry", "TransferReport", "Transport", "mode_name", "mode_number", "parse_connection",
]
