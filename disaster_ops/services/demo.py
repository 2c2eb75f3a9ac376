"""Demo seeding: the sample data shipped in ``sample_data/``."""

from __future__ import annotations

import itertools
from pathlib import Path

from disaster_ops.services.cameras import import_registry
from disaster_ops.services.roles import Principal, Role

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
DEMO_HOME = (35.1020, 129.0330)  # simulated drone's home: Busan Jung-gu, inside the sample cameras' area


def sample_registries() -> list[Path]:
    """Camera registry files in sample_data/ (CSV with 'cctv' in the name, or cameras*.geojson)."""
    return sorted([*SAMPLE_DIR.glob("*cctv*.csv"), *SAMPLE_DIR.glob("cameras*.geojson")])


def has_replay_cameras() -> bool:
    """Whether any seeded camera has a stream to replay."""
    from disaster_ops.services.watch import cameras_to_watch

    return bool(cameras_to_watch())


# Demo accounts, one per role. DEMO ONLY: the passwords are public (printed and in the README).
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("admin", "admin", "demo-admin-2026", None),
    ("manager", "manager", "demo-manager-2026", None),
    ("pilot", "pilot", "demo-pilot-2026", None),
    ("responder", "responder", "demo-responder-2026", "junggu-fire"),
)


DEMO_AGENCY = "junggu-fire"


def seed_demo_users() -> list[str]:
    """Create the demo accounts that do not exist yet (an existing account is never reset)."""
    from disaster_ops.services.agencies import create_agency, list_agencies
    from disaster_ops.services.auth import ensure_user

    seeder = Principal(name="local:demo", role=Role.ADMIN)
    lines = []
    if DEMO_AGENCY not in {a.name for a in list_agencies()}:
        create_agency(DEMO_AGENCY, principal=seeder)  # shares everything, everywhere

    for name, role, password, agency in DEMO_USERS:
        ensure_user(name, password, role=role, agency=agency, principal=seeder)
        lines.append(f"demo account (demo only): {name:<10} password {password:<20} role {role}")
    return lines


def seed_sample_data(*, users: bool = True) -> list[str]:
    """Import every sample registry (idempotent: re-running updates, never duplicates) and
    create the demo accounts."""
    lines = seed_demo_users() if users else []
    for f in sample_registries():
        r = import_registry(f, principal=Principal.system("demo"))
        lines.append(f"seeded {f.name}: {r.imported} new, {r.updated} updated, {r.unchanged} unchanged, "
                     f"{r.skipped_count} skipped")
    return lines


AERIAL_PATCH_DIR = SAMPLE_DIR / "aerial"
AERIAL_HAZARD_SIZE_M = 30.0


def parse_hazard(text: str, index: int = 0):
    """``KIND,LAT,LON[,SIZE_M]`` → a planted hazard using the ``index``-th shipped patch of that kind."""
    from drone_link.sim.aerial_camera import PlantedHazard

    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise ValueError(f"expected KIND,LAT,LON[,SIZE_M], got {text!r}")
    kind = parts[0]
    patches = sorted(AERIAL_PATCH_DIR.glob(f"{kind}_*.png"))
    if not patches:
        raise ValueError(f"no {kind!r} patches in {AERIAL_PATCH_DIR} (kinds: fire)")
    try:
        lat, lon = float(parts[1]), float(parts[2])
        size_m = float(parts[3]) if len(parts) == 4 else AERIAL_HAZARD_SIZE_M
    except ValueError:
        raise ValueError(f"LAT, LON and SIZE_M must be numbers in {text!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < size_m <= 200):
        raise ValueError(f"out of range: {text!r}")
    return PlantedHazard(kind, lat, lon, size_m, patches[index % len(patches)])


def aerial_scene(center_lat: float, center_lon: float, hazards=(), *, size_m: float = 1200.0):
    """The synthetic ground the simulated drone's camera sees, hazards planted."""
    from drone_link.sim.aerial_camera import build_scene

    return build_scene(center_lat, center_lon, size_m=size_m, m_per_px=0.25, hazards=tuple(hazards))


DEMO_DRONE = "sim-1"
DEMO_VIEW_POINT = (35.10145, 129.03211)  # centre of the replay camera's view (demo-replay-1)


def demo_aerial_hazards(*, n: int = 2, radius_m: float = 150.0, alt_rel_m: float = 80.0, engine=None) -> list:
    """Fires to plant for the demo where the gap mission for the replay camera's incident
    will fly: the middle of the longest survey legs of a preview of that plan (the same
    safe planning path as ``missions.plan_gap_survey``, nothing stored), so the drone
    passes over them."""
    import math

    from disaster_ops.config import get_settings
    from disaster_ops.services import planning
    from disaster_ops.services.missions import coverage_gaps
    from drone_link.mission import Cmd
    from drone_link.planner import SurveySpec, camera_preset
    from drone_link.planner.geometry import safe_union
    from geo.aoi import PointRadius
    from geo.crs import LocalFrame

    lat0, lon0 = DEMO_VIEW_POINT
    cov = coverage_gaps(PointRadius(lat=lat0, lon=lon0, radius_m=radius_m), engine=engine, rank_from=(lat0, lon0))
    zones = [z.polygon_wgs84 for z in cov.zones[:10]]
    safety = get_settings().planning
    bounds = tuple(safe_union(zones).buffer(0.01).bounds)
    survey = SurveySpec(camera=camera_preset("mavic3e-wide"), alt_rel_m=alt_rel_m, max_alt_rel_m=safety.max_alt_agl_m)
    plan = planning.plan_survey(zones, survey, launches=[planning.Launch(*DEMO_HOME, "launch point")], safety=safety,
                                no_fly=planning.stored_no_fly(bounds, engine=engine),
                                terrain=planning.load_terrain(safety, bounds))
    f = LocalFrame.around(lat0, lon0)
    pts = [f.to_xy_m(it.lat_deg, it.lon_deg) for s in plan.sorties for it in s.mission.items
           if int(it.command) == Cmd.NAV_WAYPOINT and (it.lat_deg or it.lon_deg)]
    legs = sorted(((math.dist(a, b), a, b) for a, b in itertools.pairwise(pts)), key=lambda t: -t[0])
    out = []
    for i, (_d, a, b) in enumerate(legs[:n]):
        lat, lon = f.to_latlon((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0)
        out.append(parse_hazard(f"fire,{float(lat):.7f},{float(lon):.7f}", i))
    return out
