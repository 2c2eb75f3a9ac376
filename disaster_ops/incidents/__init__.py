"""Incidents: fusing ground-projected detections from CCTV and drones into map incidents."""

from disaster_ops.incidents.fusion import FusionPolicy, GroundDetection, match_incident
from disaster_ops.incidents.lifecycle import IncidentTransitionError, check_transition

__all__ = ["FusionPolicy", "GroundDetection", "IncidentTransitionError", "check_transition",
           "match_incident"]
