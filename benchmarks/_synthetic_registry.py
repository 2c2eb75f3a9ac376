"""A synthetic Gyeonggi-scale camera registry, clustered like the real registries.

The real Busan and Daejeon standard-data registries (``/work/shared/data/cctv_registry``)
give the point pattern: their locations as metre offsets from each city's median,
including the many rows that share one coordinate and the multi-camera rows
(``카메라대수``). That pattern is replanted around the 31 Gyeonggi city centres in
proportion to population, until the requested camera count is reached. View
parameters follow the real mix: about half the rows are 360° / rotating cameras
(disc of ``ptz_range_m``), the rest fixed cameras with a random heading.
If the real files are absent a seeded clustered pattern is used instead.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from geo.sectors import Cameras

REGISTRY_DIR = Path("/work/shared/data/cctv_registry")

# (name, lat, lon, population in thousands), approximate city centres.
GYEONGGI_CITIES = [
    ("Suwon", 37.263, 127.029, 1190), ("Yongin", 37.241, 127.178, 1070), ("Goyang", 37.658, 126.832, 1080),
    ("Hwaseong", 37.200, 126.831, 900), ("Seongnam", 37.420, 127.127, 920), ("Bucheon", 37.503, 126.766, 800),
    ("Namyangju", 37.636, 127.216, 730), ("Ansan", 37.322, 126.831, 640), ("Pyeongtaek", 36.992, 127.113, 580),
    ("Anyang", 37.394, 126.957, 550), ("Siheung", 37.380, 126.803, 510), ("Paju", 37.760, 126.780, 490),
    ("Gimpo", 37.615, 126.716, 480), ("Uijeongbu", 37.738, 127.034, 460), ("Gwangju", 37.429, 127.255, 390),
    ("Hanam", 37.539, 127.215, 330), ("Gwangmyeong", 37.479, 126.865, 280), ("Gunpo", 37.362, 126.935, 270),
    ("Yangju", 37.785, 127.046, 240), ("Osan", 37.150, 127.077, 230), ("Icheon", 37.272, 127.435, 220),
    ("Anseong", 37.008, 127.280, 190), ("Guri", 37.594, 127.130, 190), ("Uiwang", 37.345, 126.968, 160),
    ("Pocheon", 37.895, 127.200, 150), ("Yangpyeong", 37.492, 127.488, 120), ("Yeoju", 37.298, 127.637, 110),
    ("Dongducheon", 37.904, 127.061, 90), ("Gwacheon", 37.429, 126.988, 80), ("Gapyeong", 37.831, 127.510, 60),
    ("Yeoncheon", 38.096, 127.075, 40),
]
M_PER_DEG_LAT = 111_320.0


def _real_pattern() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx_m, dy_m, camera_count) of real registry rows relative to their city's median."""
    dxs, dys, counts = [], [], []
    for path in sorted(REGISTRY_DIR.glob("*.csv")):
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        lat = np.array([float(r.get("WGS84위도") or "nan") for r in rows])
        lon = np.array([float(r.get("WGS84경도") or "nan") for r in rows])
        cnt = np.array([int(float(r.get("카메라대수") or 1)) for r in rows])
        ok = np.isfinite(lat) & np.isfinite(lon) & (lat > 30) & (lon > 120)
        lat, lon, cnt = lat[ok], lon[ok], np.clip(cnt[ok], 1, 8)
        lat0, lon0 = np.median(lat), np.median(lon)
        dx = (lon - lon0) * M_PER_DEG_LAT * np.cos(np.radians(lat0))
        dy = (lat - lat0) * M_PER_DEG_LAT
        keep = np.hypot(dx, dy) < 25_000
        dxs.append(dx[keep]); dys.append(dy[keep]); counts.append(cnt[keep])
    if not dxs:
        raise FileNotFoundError(REGISTRY_DIR)
    return np.concatenate(dxs), np.concatenate(dys), np.concatenate(counts)


def _fallback_pattern(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = 20_000
    centres = rng.normal(0, 4000, size=(60, 2))
    pick = rng.integers(0, 60, n)
    xy = centres[pick] + rng.normal(0, 600, size=(n, 2))
    return xy[:, 0], xy[:, 1], rng.choice([1, 1, 1, 2, 2, 3], n)


def synthetic_registry(n_cameras: int = 170_000, *, seed: int = 7, fixed_fov_deg: float = 60.0,
                       fixed_range_m: float = 50.0, ptz_range_m: float = 100.0,
                       disc_fraction: float = 0.5) -> Cameras:
    """``n_cameras`` cameras around the Gyeonggi city centres (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    try:
        pdx, pdy, pcnt = _real_pattern()
    except FileNotFoundError:
        pdx, pdy, pcnt = _fallback_pattern(rng)
    pops = np.array([c[3] for c in GYEONGGI_CITIES], dtype=float)
    share = pops / pops.sum()
    lats, lons, heads, fovs, rngs = [], [], [], [], []
    total = 0
    for (name, clat, clon, pop), frac in zip(GYEONGGI_CITIES, share):
        want = round(frac * n_cameras)
        scale = np.sqrt(pop / 1000.0) * 0.8 + 0.2  # smaller towns: tighter clusters
        got = 0
        while got < want:
            i = rng.integers(0, pdx.size, 4096)
            cnt = pcnt[i]
            rows_lat = clat + pdy[i] * scale / M_PER_DEG_LAT
            rows_lon = clon + pdx[i] * scale / (M_PER_DEG_LAT * np.cos(np.radians(clat)))
            # Real registries round coordinates; keep ~1 m rounding so co-located rows stay co-located.
            rows_lat = np.round(rows_lat, 5)
            rows_lon = np.round(rows_lon, 5)
            is_disc = rng.random(i.size) < disc_fraction
            lat = np.repeat(rows_lat, cnt)
            lon = np.repeat(rows_lon, cnt)
            disc = np.repeat(is_disc, cnt)
            head = rng.uniform(0.0, 360.0, lat.size)
            lats.append(lat); lons.append(lon); heads.append(head)
            fovs.append(np.where(disc, 360.0, fixed_fov_deg))
            rngs.append(np.where(disc, ptz_range_m, fixed_range_m))
            got += lat.size
        total += got
    cams = Cameras(np.concatenate(lats), np.concatenate(lons), np.concatenate(heads),
                   np.concatenate(fovs), np.concatenate(rngs))
    return cams.subset(rng.permutation(len(cams))[:n_cameras])
