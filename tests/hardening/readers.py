"""Every input reader the fuzz tests and ``benchmarks/fuzz.py`` drive, with the error
types that count as a *clean* refusal (one line naming file, row or field: exit 2).

``read(kind, path)`` reads one file as the product does and returns how many records it
produced; anything other than the listed error types is a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from disaster_ops.detect.errors import DetectError
from disaster_ops.errors import InputError
from drone_link.files.errors import MissionFileError
from drone_link.planner.errors import PlanningError
from geo.errors import GeoError

REPO = Path(__file__).resolve().parents[2]
CLEAN_ERRORS: tuple[type[BaseException], ...] = (InputError, MissionFileError, GeoError, DetectError,
                                                 PlanningError)


def _registry(path: Path) -> int:
    from disaster_ops.registry import CameraRecord, read_registry
    from disaster_ops.registry.schema import checked_record

    _, _, rows = read_registry(path)
    n = 0
    for r in rows:
        if isinstance(r, CameraRecord):
            assert checked_record(str(path), 0, r) is r  # every record a reader yields is in range
            n += 1
    return n


def _aoi(path: Path) -> int:
    from drone_link.files.zones import read_polygons
    from geo.aoi import load_aoi

    try:
        load_aoi(path, max_area_km2=2000.0)
    except GeoError:
        pass  # clean; the zone reader must refuse or accept the same file on its own terms
    return len(read_polygons(path))


def _airspace(path: Path) -> int:
    from drone_link.files.airspace import read_airspace

    return len(read_airspace(path))


def _plan(path: Path) -> int:
    from drone_link.files.qgc_plan import read_plan

    m = read_plan(path)
    return len(m.items) + len(m.fence) + len(m.rally)


def _waypoints(path: Path) -> int:
    from drone_link.files.waypoints import read_waypoints

    return len(read_waypoints(path).items)


def _image(path: Path) -> int:
    from disaster_ops.detect.frames import read_image, to_bgr

    img = read_image(path)
    to_bgr(img, source=str(path))
    return 1


def _tlog(path: Path) -> int:
    from drone_link.telemetry.mavlink_feed import read_tlog
    from drone_link.telemetry.pose import PoseTrack

    try:
        return read_tlog(path, PoseTrack()).positions
    except ValueError as exc:  # read_tlog's refusal: clean only when it names the file on one line
        if str(path) not in str(exc):
            raise
        raise InputError(str(exc)) from exc


def tlog_seed() -> bytes:
    """A small real ``.tlog``: pymavlink-encoded pose messages, each behind the 8-byte
    big-endian microsecond timestamp a ground station writes."""
    import struct

    from pymavlink.dialects.v20 import ardupilotmega as mav

    enc = mav.MAVLink(None, srcSystem=1, srcComponent=1)
    out = bytearray()
    t_us = 1_700_000_000_000_000
    for i in range(12):
        msgs = [mav.MAVLink_heartbeat_message(2, 3, 0, 0, 4, 3),
                mav.MAVLink_global_position_int_message(i * 200, 351000000 + i * 10, 1290300000 + i * 10,
                                                        80000, 60000, 0, 0, 0, 9000),
                mav.MAVLink_attitude_message(i * 200, 0.01, -0.02, 1.5, 0, 0, 0)]
        for m in msgs:
            out += struct.pack(">Q", t_us) + m.pack(enc)
            t_us += 50_000
    return bytes(out)


READERS: dict[str, tuple[str, Callable[[Path], int]]] = {
    # kind: (file suffix, reader)
    "registry_csv": (".csv", _registry),
    "registry_geojson": (".geojson", _registry),
    "aoi": (".geojson", _aoi),
    "airspace": (".geojson", _airspace),
    "plan": (".plan", _plan),
    "waypoints": (".waypoints", _waypoints),
    "detect_image": (".jpg", _image),
    "tlog": (".tlog", _tlog),
}


def seeds() -> dict[str, list[bytes]]:
    """Valid files of each kind, from the repository's sample data and writers."""
    import json

    from drone_link.files.qgc_plan import plan_to_dict
    from drone_link.files.waypoints import waypoints_text
    from drone_link.mission import Cmd, Frame, Mission, MissionItem

    busan = (REPO / "sample_data" / "busan_junggu_cctv_2024.csv").read_bytes().splitlines(keepends=True)
    plain = (b"id,name,lat,lon,heading_deg,fov_deg,range_m,stream_url\n"
             b"c1,gate,35.1,129.03,90,60,50,rtsp://10.0.0.1/live\nc2,river,35.11,129.04,,,,\n")
    geo = (REPO / "sample_data" / "cameras_demo.geojson").read_bytes()
    aoi = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                      "geometry": {"type": "Polygon", "coordinates": [[[129.03, 35.10], [129.035, 35.10],
                                                                       [129.035, 35.104], [129.03, 35.10]]]}}]})
    airspace = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature",
                           "properties": {"name": "서울 P-73 비행금지구역", "floor_m": 0, "ceiling_m": 500},
                           "geometry": {"type": "Polygon", "coordinates": [[[126.97, 37.52], [126.99, 37.52],
                                                                            [126.99, 37.54], [126.97, 37.52]]]}}]},
                          ensure_ascii=False)
    mission = Mission(items=[MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, 35.1, 129.03, 40.0),
                             MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT, 35.101, 129.031, 40.0),
                             MissionItem(Cmd.DO_SET_CAM_TRIGG_DIST, Frame.MISSION, param1=20.0),
                             MissionItem(Cmd.NAV_RETURN_TO_LAUNCH, Frame.MISSION)],
                      fence=[MissionItem(Cmd.NAV_FENCE_CIRCLE_INCLUSION, Frame.GLOBAL, 35.1, 129.03, 0.0,
                                         param1=500.0)],
                      home_lat_deg=35.1, home_lon_deg=129.03, home_alt_amsl_m=12.0)
    images = sorted((REPO / "tests" / "fixtures" / "detect").rglob("*.jpg"))[:2]
    import cv2
    import numpy as np

    png = cv2.imencode(".png", np.full((48, 64, 3), 120, np.uint8))[1].tobytes()
    return {
        "registry_csv": [b"".join(busan[:30]), plain],
        "registry_geojson": [geo],
        "aoi": [aoi.encode()],
        "airspace": [airspace.encode()],
        "plan": [json.dumps(plan_to_dict(mission)).encode()],
        "waypoints": [waypoints_text(mission).encode()],
        "detect_image": [p.read_bytes() for p in images] + [png],
        "tlog": [tlog_seed()],
    }
