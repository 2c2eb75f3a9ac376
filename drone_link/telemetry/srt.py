"""DJI per-frame ``.SRT`` subtitles as an offline pose source (times: video seconds).

DJI drones write one subtitle per video frame (or per second on older models) with the
position, heights and, on newer models, the gimbal attitude, e.g.::

    12
    00:00:00,400 --> 00:00:00,433
    <font size="28">FrameCnt: 12, DiffTime: 33ms
    2024-05-01 10:32:15.401
    [iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [focal_len: 24.00] [latitude: 35.102012]
    [longitude: 129.033017] [rel_alt: 80.012 abs_alt: 118.400] [gb_yaw: -12.3 gb_pitch: -90.0 gb_roll: 0.0] </font>

and on Phantom-era models ``GPS(129.0330,35.1020,19) ... H 80.00m``. ``rel_alt`` (or
``H``) is taken as the height above the ground; ``gb_yaw`` is the gimbal's absolute
heading. Subtitles without a gimbal attitude give position only: the camera attitude must
then come from elsewhere (``--mount fixed`` with a stated pitch is refused without a yaw).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from drone_link.telemetry.pose import GimbalSample, GimbalYawFrame, PoseTrack

_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{1,3})")
_KV = re.compile(r"([A-Za-z_]+)\s*:\s*(-?\d+(?:\.\d+)?)")
_GPS = re.compile(r"GPS\s*\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)")
_H = re.compile(r"\bH\s+(-?[\d.]+)\s*m")
MAX_SRT_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class SrtRecord:
    t_s: float  # start of the subtitle, video seconds
    lat_deg: float
    lon_deg: float
    rel_alt_m: float
    gimbal: GimbalSample | None


def _secs(h, m, s, ms) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000.0


def parse_srt(path: Path) -> list[SrtRecord]:
    """Records of a DJI ``.SRT``; ValueError naming the file and subtitle when one is unusable."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such subtitle file")
    if path.stat().st_size > MAX_SRT_BYTES:
        raise ValueError(f"{path}: larger than {MAX_SRT_BYTES // 2**20} MiB; not a DJI subtitle file")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    out: list[SrtRecord] = []
    for n, block in enumerate(re.split(r"\r?\n\s*\r?\n", text.strip()), start=1):
        m = _TIME.search(block)
        if not m:
            continue
        t_s = _secs(*m.groups()[:4])
        body = block[m.end():]
        kv = {k.lower(): float(v) for k, v in _KV.findall(body)}
        lat, lon = kv.get("latitude"), kv.get("longitude", kv.get("longtitude"))
        alt = kv.get("rel_alt")
        g = _GPS.search(body)
        if (lat is None or lon is None) and g:
            lon, lat = float(g.group(1)), float(g.group(2))
        h = _H.search(body)
        if alt is None and h:
            alt = float(h.group(1))
        if lat is None or lon is None or alt is None:
            raise ValueError(f"{path}: subtitle {n} (at {t_s:.3f} s): no latitude/longitude/rel_alt")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"{path}: subtitle {n}: position out of range ({lat}, {lon})")
        gimbal = None
        if "gb_pitch" in kv and "gb_yaw" in kv:
            gimbal = GimbalSample(kv["gb_pitch"], kv.get("gb_roll", 0.0), kv["gb_yaw"], GimbalYawFrame.EARTH)
        out.append(SrtRecord(t_s, lat, lon, alt, gimbal))
    if not out:
        raise ValueError(f"{path}: no DJI telemetry subtitles found")
    return out


def load_srt(path: Path, track: PoseTrack) -> int:
    """Fill ``track`` from a DJI ``.SRT`` (times: video seconds); returns the record count."""
    records = parse_srt(path)
    for r in records:
        track.add_position(r.t_s, lat_deg=r.lat_deg, lon_deg=r.lon_deg, alt_agl_m=r.rel_alt_m)
        if r.gimbal is not None:
            track.add_gimbal(r.t_s, r.gimbal)
    return len(records)
