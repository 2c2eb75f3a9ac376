"""Mission files: QGroundControl ``.plan``, ``QGC WPL 110`` ``.waypoints``, GeoJSON/KML exports."""

from drone_link.files.errors import MissionFileError
from drone_link.files.qgc_plan import plan_from_dict, plan_to_dict, read_plan, write_plan
from drone_link.files.waypoints import read_waypoints, waypoints_text, write_waypoints

__all__ = [
           "MissionFileError",
           "plan_from_dict",
           "plan_to_dict",
           "read_plan",
           "read_waypoints",
           "waypoints_text",
           "write_plan",
           "write_waypoints",
]
