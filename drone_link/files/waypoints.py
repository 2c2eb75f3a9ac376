"""``QGC WPL 110`` ``.waypoints`` files (Mission Planner, MAVProxy, QGroundControl).

Tab-separated, one item a line after the header: index, current, frame,
command, param1..4, lat (param5), lon (param6), alt (param7), autocontinue.
Line 0 is the home position (AMSL, frame 0), as ArduPilot stores item 0. The
format holds the flight plan only (no geofence, no rally points).
"""

from __future__ import annotations

import math
from pathlib import Path

from drone_link.files.errors import MAX_FILE_BYTES, MissionFileError, read_text
from drone_link.files.validate import MAX_ITEMS, command_problem, float32_problem, frame_problem
from drone_link.mission import Cmd, Frame, Mission, MissionItem

HEADER = "QGC WPL 110"


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "nan"
    return repr(float(v))


def waypoints_text(mission: Mission) -> str:
    """The ``.waypoints`` text for ``mission`` (home on line 0)."""
    if mission.home_lat_deg is None or mission.home_lon_deg is None:
        raise ValueError("a .waypoints file needs the mission's home position")
    home = MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL, mission.home_lat_deg, mission.home_lon_deg,
                       mission.home_alt_amsl_m)
    lines = [HEADER]
    for i, it in enumerate([home, *mission.items]):
        fields = [str(i), "1" if i == 0 else "0", str(int(it.frame)), str(int(it.command)),
                  *(_fmt(p) for p in it.params), f"{it.lat_deg:.8f}", f"{it.lon_deg:.8f}",
                  _fmt(it.alt_m), "1" if it.autocontinue else "0"]
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


def write_waypoints(mission: Mission, path: str | Path) -> Path:
    """Write the flight plan of ``mission`` as ``QGC WPL 110``; returns the path."""
    path = Path(path)
    path.write_text(waypoints_text(mission), encoding="utf-8")
    return path


def read_waypoints(path: str | Path, *, cruise_speed_m_s: float = 10.0,
                   max_bytes: int = MAX_FILE_BYTES) -> Mission:
    """Read a ``QGC WPL 110`` file; :class:`MissionFileError` names the line and field.

    Values are checked as they are read (finite float32 params, lat/lon ranges, MAV_CMD
    and MAV_FRAME values the dialect defines, at most 65,535 items).
    """
    path = Path(path)
    text = read_text(path, max_bytes=max_bytes)
    rows = text.splitlines()
    if not rows or not rows[0].strip().startswith("QGC WPL"):
        raise MissionFileError(path, f"first line must be '{HEADER}'", line=1)
    if rows[0].split()[-1] != "110":
        raise MissionFileError(path, f"unsupported version {rows[0].split()[-1][:20]!r}", line=1,
                               field="version")
    items: list[MissionItem] = []
    home: MissionItem | None = None
    expected = 0
    for ln, row in enumerate(rows[1:], start=2):
        if not row.strip():
            continue
        f = row.split("\t") if "\t" in row else row.split()
        if len(f) != 12:
            raise MissionFileError(path, f"expected 12 tab-separated fields, got {len(f)}", line=ln)
        idx = _int(path, ln, "index", f[0])
        if idx != expected:
            raise MissionFileError(path, f"index {idx} out of sequence (expected {expected})",
                                   line=ln, field="index")
        expected += 1
        if idx > MAX_ITEMS:
            raise MissionFileError(path, f"more than {MAX_ITEMS} items", line=ln, field="index")
        frame = _int(path, ln, "frame", f[2])
        if frame_problem(frame):
            raise MissionFileError(path, str(frame_problem(frame)), line=ln, field="frame")
        command = _int(path, ln, "command", f[3])
        if command_problem(command):
            raise MissionFileError(path, str(command_problem(command)), line=ln, field="command")
        names = ("param1", "param2", "param3", "param4", "lat", "lon", "alt")
        p = [_float(path, ln, name, v, allow_nan=k < 4) for k, (name, v) in enumerate(zip(names, f[4:11]))]
        if not (-90 <= p[4] <= 90 and -180 <= p[5] <= 180):
            raise MissionFileError(path, f"lat/lon out of range: {p[4]}, {p[5]}", line=ln,
                                   field="lat/lon")
        auto = _int(path, ln, "autocontinue", f[11])
        item = MissionItem(command, frame, p[4], p[5], p[6], p[0], p[1], p[2], p[3],
                           autocontinue=bool(auto))
        if idx == 0:
            home = item
        else:
            items.append(item)
    if home is None:
        raise MissionFileError(path, "no home line (index 0)", line=2)
    return Mission(items=items, home_lat_deg=home.lat_deg, home_lon_deg=home.lon_deg,
                   home_alt_amsl_m=home.alt_m, cruise_speed_m_s=cruise_speed_m_s)


def _int(path: Path, line: int, field: str, v: str) -> int:
    try:
        n = int(float(v)) if "." in v else int(v)
    except (ValueError, OverflowError):
        raise MissionFileError(path, f"not an integer: {v[:40]!r}", line=line, field=field) from None
    if not -(2**31) <= n < 2**31:
        raise MissionFileError(path, f"integer {v[:40]} out of range", line=line, field=field)
    return n


def _float(path: Path, line: int, field: str, v: str, *, allow_nan: bool = False) -> float:
    try:
        f = float(v)
    except ValueError:
        raise MissionFileError(path, f"not a number: {v[:40]!r}", line=line, field=field) from None
    bad = float32_problem(f, allow_nan=allow_nan)
    if bad:
        raise MissionFileError(path, bad, line=line, field=field)
    return f
