"""QGroundControl ``.plan`` files (JSON, plan version 1, mission version 2).

Written as QGroundControl writes them: ``SimpleItem`` mission items with
``params`` [p1..p4, lat, lon, alt] (NaN as ``null``), ``Altitude`` and
``AltitudeMode`` on positioned items, ``plannedHomePosition`` [lat, lon, alt AMSL];
``geoFence`` polygons/circles with ``inclusion`` flags (version 2); ``rallyPoints``
[lat, lon, alt] (version 2). Reading a file written here gives back the same
:class:`~drone_link.mission.Mission`. Format reference: QGC developer guide,
"Plan File Format".
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from drone_link.files.errors import MAX_FILE_BYTES, MissionFileError, read_text
from drone_link.files.validate import (
    MAX_ITEMS,
    command_problem,
    float32_problem,
    frame_problem,
    latlon_problem,
)
from drone_link.mission import Cmd, Frame, Mission, MissionItem, MissionType

FIRMWARE_TYPES = {"ardupilot": 3, "px4": 12, "generic": 0}
VEHICLE_TYPES = {"copter": 2, "plane": 1, "rover": 10, "vtol": 20, "generic": 0}
_VEHICLE_FROM_MAV_TYPE = {1: "plane", 2: "copter", 3: "copter", 4: "copter", 13: "copter",
                          14: "copter", 15: "copter", 10: "rover", 19: "vtol", 20: "vtol",
                          21: "vtol", 22: "vtol"}
# QGC AltitudeMode (QGroundControlQmlGlobal::AltMode): 0 mixed, 1 relative to home, 2 AMSL,
# 3 AMSL calculated from terrain (frame GLOBAL, "Altitude" = AGL, "AMSLAltAboveTerrain" = AMSL),
# 4 terrain frame (GLOBAL_TERRAIN_ALT: the vehicle follows its own terrain data)
ALT_MODE_MIXED, ALT_MODE_RELATIVE, ALT_MODE_AMSL = 0, 1, 2
ALT_MODE_CALC_ABOVE_TERRAIN, ALT_MODE_TERRAIN_FRAME = 3, 4
_ALT_MODE = {Frame.GLOBAL_RELATIVE_ALT: 1, Frame.GLOBAL_RELATIVE_ALT_INT: 1, Frame.GLOBAL: 2,
             Frame.GLOBAL_INT: 2, Frame.GLOBAL_TERRAIN_ALT: 4, Frame.GLOBAL_TERRAIN_ALT_INT: 4}
_FENCE_POLY = (Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION)
_FENCE_CIRCLE = (Cmd.NAV_FENCE_CIRCLE_INCLUSION, Cmd.NAV_FENCE_CIRCLE_EXCLUSION)


# --------------------------------------------------------------------------- writing
def plan_to_dict(mission: Mission, *, firmware: str = "ardupilot",
                 ground_station: str = "disaster-ops") -> dict[str, Any]:
    """The ``.plan`` JSON document for ``mission``."""
    if mission.home_lat_deg is None or mission.home_lon_deg is None:
        raise ValueError("a .plan needs the mission's planned home position")
    items = []
    for i, it in enumerate(mission.items):
        d: dict[str, Any] = {
            "autoContinue": bool(it.autocontinue),
            "command": int(it.command),
            "doJumpId": i + 1,
            "frame": int(it.frame),
            "params": [_num(v) for v in (*it.params, it.lat_deg, it.lon_deg, it.alt_m)],
            "type": "SimpleItem",
        }
        if int(it.frame) in _ALT_MODE:
            if it.alt_agl_m is not None and _ALT_MODE[Frame(int(it.frame))] == ALT_MODE_AMSL:
                # QGC "calculated above terrain": frame GLOBAL, params[6] AMSL from the terrain
                d["AMSLAltAboveTerrain"] = float(it.alt_m)
                d["Altitude"] = float(it.alt_agl_m)
                d["AltitudeMode"] = ALT_MODE_CALC_ABOVE_TERRAIN
            else:
                d["AMSLAltAboveTerrain"] = None
                d["Altitude"] = float(it.alt_m)
                d["AltitudeMode"] = _ALT_MODE[Frame(int(it.frame))]
        items.append(d)
    return {
        "fileType": "Plan",
        "geoFence": _fence_to_dict(mission.fence),
        "groundStation": ground_station,
        "mission": {
            "cruiseSpeed": float(mission.cruise_speed_m_s),
            "firmwareType": FIRMWARE_TYPES.get(firmware, 0),
            "globalPlanAltitudeMode": _global_alt_mode(items),
            "hoverSpeed": float(mission.hover_speed_m_s),
            "items": items,
            "plannedHomePosition": [float(mission.home_lat_deg), float(mission.home_lon_deg),
                                    float(mission.home_alt_amsl_m)],
            "vehicleType": VEHICLE_TYPES.get(mission.vehicle, 0),
            "version": 2,
        },
        "rallyPoints": {"points": [[float(r.lat_deg), float(r.lon_deg), float(r.alt_m)]
                                   for r in mission.rally],
                        "version": 2},
        "version": 1,
    }


def _global_alt_mode(items: list[dict[str, Any]]) -> int:
    """The plan-wide mode QGC shows: terrain-calculated if any item is, else the one mode used."""
    modes = {d["AltitudeMode"] for d in items if "AltitudeMode" in d and d["command"] != Cmd.NAV_TAKEOFF}
    if ALT_MODE_CALC_ABOVE_TERRAIN in modes:
        return ALT_MODE_CALC_ABOVE_TERRAIN
    if len(modes) == 1:
        return modes.pop()
    return ALT_MODE_MIXED if modes else ALT_MODE_RELATIVE


def write_plan(mission: Mission, path: str | Path, *, firmware: str = "ardupilot") -> Path:
    """Write ``mission`` as a QGroundControl ``.plan`` file; returns the path."""
    path = Path(path)
    path.write_text(json.dumps(plan_to_dict(mission, firmware=firmware), indent=4,
                               allow_nan=False) + "\n", encoding="utf-8")
    return path


def _num(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


def _fence_to_dict(fence: list[MissionItem]) -> dict[str, Any]:
    polygons, circles = [], []
    i = 0
    while i < len(fence):
        it = fence[i]
        if int(it.command) in _FENCE_POLY:
            n = round(it.param1)
            group = fence[i:i + n]
            if n < 3 or len(group) < n or any(int(g.command) != int(it.command) for g in group):
                raise ValueError(f"fence item {i}: polygon of {n} vertices is incomplete")
            polygons.append({"inclusion": int(it.command) == Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                             "polygon": [[float(g.lat_deg), float(g.lon_deg)] for g in group],
                             "version": 1})
            i += n
        elif int(it.command) in _FENCE_CIRCLE:
            circles.append({"circle": {"center": [float(it.lat_deg), float(it.lon_deg)],
                                       "radius": float(it.param1)},
                            "inclusion": int(it.command) == Cmd.NAV_FENCE_CIRCLE_INCLUSION,
                            "version": 1})
            i += 1
        else:
            raise ValueError(f"fence item {i}: command {int(it.command)} is not a fence item")
    return {"circles": circles, "polygons": polygons, "version": 2}


# --------------------------------------------------------------------------- reading
def read_plan(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> Mission:
    """Read a QGroundControl ``.plan`` file; :class:`MissionFileError` names the bad field.

    Every value is checked as it is read (finite float32 numbers, lat/lon ranges, MAV_CMD
    and MAV_FRAME values the dialect defines, at most 65,535 items), so a mission that
    reads without error can be packed into MAVLink messages.
    """
    path = Path(path)
    text = read_text(path, max_bytes=max_bytes)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MissionFileError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, deep nesting
        raise MissionFileError(path, f"not usable JSON: {str(exc)[:120]}") from None
    return plan_from_dict(doc, path=path)


def plan_from_dict(doc: Any, *, path: str | Path = "<plan>") -> Mission:
    r = _Reader(path)
    r.expect(isinstance(doc, dict), "", "top level must be a JSON object")
    r.expect(doc.get("fileType") == "Plan", "fileType", f"must be \"Plan\", got {doc.get('fileType')!r}")
    r.expect(doc.get("version") == 1, "version", f"unsupported plan version {doc.get('version')!r}")
    m = doc.get("mission")
    r.expect(isinstance(m, dict), "mission", "missing or not an object")
    r.expect(m.get("version") == 2, "mission.version", f"unsupported {m.get('version')!r}")
    home = m.get("plannedHomePosition")
    r.expect(isinstance(home, list) and len(home) == 3, "mission.plannedHomePosition",
             "must be [lat, lon, alt]")
    items_doc = m.get("items")
    r.expect(isinstance(items_doc, list), "mission.items", "missing or not a list")
    items: list[MissionItem] = []
    for i, d in enumerate(items_doc):
        field = f"mission.items[{i}]"
        if isinstance(d, dict) and d.get("type") == "ComplexItem":
            items.extend(_complex_items(r, d, field))
        else:
            items.append(_item(r, d, field))
        r.expect(len(items) <= MAX_ITEMS, "mission.items", f"more than {MAX_ITEMS} items")
    home_lat = r.number(home[0], "mission.plannedHomePosition[0]")
    home_lon = r.number(home[1], "mission.plannedHomePosition[1]")
    bad = latlon_problem(home_lat, home_lon)
    r.expect(bad is None, "mission.plannedHomePosition", str(bad))
    cruise = r.number(m.get("cruiseSpeed", 10.0), "mission.cruiseSpeed")
    hover = r.number(m.get("hoverSpeed", 5.0), "mission.hoverSpeed")
    r.expect(0 <= cruise <= 200, "mission.cruiseSpeed", f"{cruise} m/s outside [0, 200]")
    r.expect(0 <= hover <= 200, "mission.hoverSpeed", f"{hover} m/s outside [0, 200]")
    vehicle_type = m.get("vehicleType")
    mission = Mission(
        items=items,
        fence=_fence_from_dict(r, doc.get("geoFence")),
        rally=_rally_from_dict(r, doc.get("rallyPoints")),
        home_lat_deg=home_lat,
        home_lon_deg=home_lon,
        home_alt_amsl_m=r.number(home[2], "mission.plannedHomePosition[2]"),
        cruise_speed_m_s=cruise,
        hover_speed_m_s=hover,
        vehicle=_VEHICLE_FROM_MAV_TYPE.get(vehicle_type, "generic")
        if isinstance(vehicle_type, int) else "generic",
    )
    return mission


class _Reader:
    def __init__(self, path: str | Path) -> None:
        self.path = path

    def expect(self, ok: bool, field: str, reason: str) -> None:
        if not ok:
            raise MissionFileError(self.path, reason, field=field or None)

    def number(self, v: Any, field: str, *, allow_null: bool = False) -> float:
        """A finite float32-representable number (``null`` -> NaN where allowed)."""
        if v is None and allow_null:
            return float("nan")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise MissionFileError(self.path, f"expected a number, got {str(v)[:40]!r}", field=field)
        try:
            f = float(v)
        except OverflowError:
            f = math.inf
        bad = float32_problem(f)
        if bad:
            raise MissionFileError(self.path, bad, field=field)
        return f


def _complex_items(r: _Reader, d: dict, field: str) -> list[MissionItem]:
    """A QGC survey / corridor scan: the SimpleItems QGC generated for it (``Items``).

    QGC saves the generated waypoints and camera items of transect-style complex
    items, so they can be flown as they are; the survey polygon is not re-planned.
    """
    ts = d.get("TransectStyleComplexItem")
    sub = ts.get("Items") if isinstance(ts, dict) else None
    r.expect(isinstance(sub, list), f"{field}.TransectStyleComplexItem.Items",
             f"unsupported complex item {d.get('complexItemType')!r} (no generated Items); "
             "re-save it from QGroundControl as waypoints")
    return [_item(r, s, f"{field}.TransectStyleComplexItem.Items[{k}]") for k, s in enumerate(sub)]


def _item(r: _Reader, d: Any, field: str) -> MissionItem:
    r.expect(isinstance(d, dict), field, "not an object")
    kind = d.get("type")
    r.expect(kind == "SimpleItem", f"{field}.type",
             f"only SimpleItem is supported, got {kind!r} (re-save complex items as waypoints)")
    params = d.get("params")
    r.expect(isinstance(params, list) and len(params) == 7, f"{field}.params",
             "must be a list of 7 numbers")
    p = [r.number(v, f"{field}.params[{k}]", allow_null=True) for k, v in enumerate(params)]
    cmd = d.get("command")
    r.expect(isinstance(cmd, int) and not isinstance(cmd, bool) and 0 <= cmd < 65536,
             f"{field}.command", f"not a MAV_CMD number: {str(cmd)[:40]!r}")
    r.expect(command_problem(cmd) is None, f"{field}.command", str(command_problem(cmd)))
    frame = d.get("frame")
    r.expect(isinstance(frame, int) and not isinstance(frame, bool) and 0 <= frame < 256,
             f"{field}.frame", f"not a MAV_FRAME number: {str(frame)[:40]!r}")
    r.expect(frame_problem(frame) is None, f"{field}.frame", str(frame_problem(frame)))
    lat, lon, alt = (0.0 if math.isnan(v) else v for v in p[4:7])
    r.expect(-90 <= lat <= 90 and -180 <= lon <= 180, f"{field}.params", "lat/lon out of range")
    agl = None
    if d.get("AltitudeMode") == ALT_MODE_CALC_ABOVE_TERRAIN and d.get("Altitude") is not None:
        agl = r.number(d.get("Altitude"), f"{field}.Altitude")
    return MissionItem(int(cmd), int(frame), lat, lon, alt, p[0], p[1], p[2], p[3],
                       autocontinue=bool(d.get("autoContinue", True)), alt_agl_m=agl)


def _fence_from_dict(r: _Reader, g: Any) -> list[MissionItem]:
    if g is None:
        return []
    r.expect(isinstance(g, dict), "geoFence", "not an object")
    r.expect(isinstance(g.get("polygons", []), list), "geoFence.polygons", "not a list")
    r.expect(isinstance(g.get("circles", []), list), "geoFence.circles", "not a list")
    out: list[MissionItem] = []
    for i, poly in enumerate(g.get("polygons", [])):
        f = f"geoFence.polygons[{i}]"
        r.expect(isinstance(poly, dict) and isinstance(poly.get("polygon"), list), f,
                 "needs a 'polygon' list")
        verts = poly["polygon"]
        r.expect(len(verts) >= 3, f"{f}.polygon", "needs at least 3 vertices")
        cmd = Cmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION if poly.get("inclusion", True) \
            else Cmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION
        for k, v in enumerate(verts):
            r.expect(isinstance(v, list) and len(v) >= 2, f"{f}.polygon[{k}]", "must be [lat, lon]")
            lat, lon = r.number(v[0], f"{f}.polygon[{k}][0]"), r.number(v[1], f"{f}.polygon[{k}][1]")
            r.expect(latlon_problem(lat, lon) is None, f"{f}.polygon[{k}]", str(latlon_problem(lat, lon)))
            out.append(MissionItem(cmd, Frame.GLOBAL, lat, lon, 0.0,
                                   param1=float(len(verts)), mission_type=MissionType.FENCE))
        r.expect(len(out) <= MAX_ITEMS, "geoFence", f"more than {MAX_ITEMS} fence items")
    for i, circ in enumerate(g.get("circles", [])):
        f = f"geoFence.circles[{i}]"
        r.expect(isinstance(circ, dict) and isinstance(circ.get("circle"), dict), f,
                 "needs a 'circle' object")
        c = circ["circle"]
        center = c.get("center")
        r.expect(isinstance(center, list) and len(center) == 2, f"{f}.circle.center",
                 "must be [lat, lon]")
        radius = r.number(c.get("radius"), f"{f}.circle.radius")
        r.expect(radius > 0, f"{f}.circle.radius", "must be positive")
        cmd = Cmd.NAV_FENCE_CIRCLE_INCLUSION if circ.get("inclusion", True) \
            else Cmd.NAV_FENCE_CIRCLE_EXCLUSION
        lat, lon = r.number(center[0], f"{f}.circle.center[0]"), r.number(center[1], f"{f}.circle.center[1]")
        r.expect(latlon_problem(lat, lon) is None, f"{f}.circle.center", str(latlon_problem(lat, lon)))
        out.append(MissionItem(cmd, Frame.GLOBAL, lat, lon, 0.0, param1=radius,
                               mission_type=MissionType.FENCE))
        r.expect(len(out) <= MAX_ITEMS, "geoFence", f"more than {MAX_ITEMS} fence items")
    return out


def _rally_from_dict(r: _Reader, g: Any) -> list[MissionItem]:
    if g is None:
        return []
    r.expect(isinstance(g, dict) and isinstance(g.get("points", []), list), "rallyPoints",
             "must be an object with a 'points' list")
    out = []
    for i, p in enumerate(g.get("points", [])):
        f = f"rallyPoints.points[{i}]"
        r.expect(isinstance(p, list) and len(p) == 3, f, "must be [lat, lon, alt]")
        lat, lon = r.number(p[0], f + "[0]"), r.number(p[1], f + "[1]")
        r.expect(latlon_problem(lat, lon) is None, f, str(latlon_problem(lat, lon)))
        out.append(MissionItem(Cmd.NAV_RALLY_POINT, Frame.GLOBAL_RELATIVE_ALT, lat, lon,
                               r.number(p[2], f + "[2]"), mission_type=MissionType.RALLY))
        r.expect(len(out) <= MAX_ITEMS, "rallyPoints", f"more than {MAX_ITEMS} rally points")
    return out
