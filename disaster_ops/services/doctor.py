"""``disaster-ops doctor``: is this installation ready for duty, and if not, what to fix.

Each check returns one :class:`CheckResult` (OK / WARN / FAIL, what was found, what to do).
Checks only read: the doctor never creates or migrates the database, never binds a drone's
port, and probes only the addresses the configuration and database name, each with a
bounded timeout (``timeout_s``) and a bounded count (``max_probes``).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from disaster_ops.config import Settings
from disaster_ops.redact import redact, redact_url

DISK_FAIL_BYTES = 1 * 2**30  # below this the watcher cannot keep snapshots for a shift
DISK_WARN_BYTES = 5 * 2**30
DRONE_STATE_STALE_S = 60.0  # a drone worker writes live state every second
_DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}


class CheckStatus(str, Enum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class CheckResult:
    """One line of the doctor's report."""

    name: str
    status: CheckStatus
    detail: str
    fix: str = ""

    def as_dict(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        return d


def _tcp_probe(host: str, port: int, timeout_s: float) -> str | None:
    """None when a TCP connection to host:port opens within ``timeout_s``, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _host_port(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    return (parts.hostname, port) if port else None


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def check_database(settings: Settings, *, timeout_s: float) -> CheckResult:
    import sqlalchemy as sa

    url = str(settings.database_url)
    shown = redact(url)
    path = _sqlite_path(url)
    if path is not None and not path.is_file():
        return CheckResult("database", CheckStatus.FAIL, f"{shown}: no database file yet",
                           "run: disaster-ops db upgrade (or set DISASTER_OPS_DATA_DIR / DATABASE_URL)")
    connect_args = {} if path is not None else {"connect_timeout": max(1, int(timeout_s))}
    try:
        eng = sa.create_engine(url, connect_args=connect_args)
        with eng.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        eng.dispose()
    except sa.exc.SQLAlchemyError as exc:  # any driver error: one redacted line
        return CheckResult("database", CheckStatus.FAIL, f"{shown}: {redact(str(exc).splitlines()[0])}",
                           "start the database server or fix DATABASE_URL")
    return CheckResult("database", CheckStatus.OK, f"{shown} reachable")


def check_migrations(settings: Settings) -> CheckResult:
    import sqlalchemy as sa

    from disaster_ops.storage import migrate

    head = migrate.head_revision()
    url = str(settings.database_url)
    path = _sqlite_path(url)
    if path is not None and not path.is_file():
        return CheckResult("migrations", CheckStatus.FAIL, f"no schema (head is {head})",
                           "run: disaster-ops db upgrade")
    try:
        eng = sa.create_engine(url)
        rev = migrate.current_revision(eng)
        eng.dispose()
    except sa.exc.SQLAlchemyError as exc:
        return CheckResult("migrations", CheckStatus.FAIL, f"cannot read the schema revision: "
                           f"{redact(str(exc).splitlines()[0])}", "fix the database check first")
    if rev == head:
        return CheckResult("migrations", CheckStatus.OK, f"at head {head}")
    return CheckResult("migrations", CheckStatus.FAIL, f"schema at {rev or 'none'}, head is {head}",
                       "run: disaster-ops db upgrade")


def check_models(settings: Settings) -> CheckResult:
    """The fire/smoke detector's weights exist and load (ONNX Runtime session); flood
    weights, when configured, exist."""
    from disaster_ops.detect.base import create_detector
    from disaster_ops.detect.config import DetectorConfig

    problems = []
    if settings.models.flood and not Path(settings.models.flood).is_file():
        problems.append(f"flood weights {settings.models.flood} not found")
    try:
        det = create_detector(DetectorConfig())
        name = getattr(det, "weights", None) or getattr(getattr(det, "meta", None), "raw", {}).get("name", "")
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime and torch raise their own types; any means "does not load"
        return CheckResult("models", CheckStatus.FAIL, f"detector does not load: {str(exc).splitlines()[0]}",
                           "set models.fire_smoke (DISASTER_OPS_MODELS__FIRE_SMOKE) to a weights file, or "
                           "reinstall the package to restore the shipped model")
    if problems:
        return CheckResult("models", CheckStatus.FAIL, "; ".join(problems),
                           "set models.flood (DISASTER_OPS_MODELS__FLOOD) to an existing file")
    return CheckResult("models", CheckStatus.OK, f"fire/smoke detector loads{f' ({name})' if name else ''}")


def _probe_all(targets: list[tuple[str, Callable[[], str | None]]], max_workers: int = 8) -> list[tuple[str, str]]:
    """Run the probes in parallel (each bounded by its own timeout); the failures by name."""
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(max_workers, len(targets))) as pool:
        results = list(pool.map(lambda t: (t[0], t[1]()), targets))
    return [(name, why) for name, why in results if why]


def check_cameras(*, engine, timeout_s: float, max_probes: int) -> CheckResult:
    """Cameras with a stream_url: a TCP connection to each stream's host (files: they exist)."""
    from sqlmodel import Session, select

    from disaster_ops.storage.models import Camera

    with Session(engine) as s:
        cams = list(s.exec(select(Camera).where(Camera.stream_url.is_not(None)).order_by(Camera.id)
                           .limit(max_probes + 1)))
    if not cams:
        return CheckResult("cameras", CheckStatus.OK, "no camera has a stream_url (nothing to watch)")
    skipped = len(cams) > max_probes
    cams = cams[:max_probes]
    targets = []
    for c in cams:
        url = c.stream_url or ""
        hp = _host_port(url)
        if hp is not None:
            targets.append((c.source_key, lambda hp=hp: _tcp_probe(hp[0], hp[1], timeout_s)))
        elif "://" not in url:
            targets.append((c.source_key, lambda url=url: None if Path(url).exists() else "file not found"))
        else:
            targets.append((c.source_key, lambda url=url: f"cannot tell host and port of {redact_url(url)}"))
    down = _probe_all(targets)
    n = len(targets)
    more = f" (first {max_probes} checked)" if skipped else ""
    if not down:
        return CheckResult("cameras", CheckStatus.OK, f"{n} stream(s) reachable{more}")
    listed = ", ".join(f"{k} ({why})" for k, why in down[:5]) + (" ..." if len(down) > 5 else "")
    status = CheckStatus.FAIL if len(down) == n else CheckStatus.WARN
    return CheckResult("cameras", status, f"{len(down)} of {n} stream(s) unreachable{more}: {listed}",
                       "check the camera's network and stream_url (cameras import updates it)")


def check_drones(*, engine, timeout_s: float, max_probes: int, now: datetime | None = None) -> CheckResult:
    """Registered drones: live state written recently by their worker; TCP links answer."""
    from sqlmodel import Session, select

    from disaster_ops.storage.models import Drone, DroneState

    now = now or datetime.now(UTC)
    with Session(engine) as s:
        rows = s.exec(select(Drone, DroneState).join(DroneState, DroneState.drone_id == Drone.id, isouter=True)
                      .order_by(Drone.name).limit(max_probes)).all()
    if not rows:
        return CheckResult("drones", CheckStatus.OK, "no drone registered")
    issues: list[str] = []
    bad: set[str] = set()
    targets = []
    for d, st in rows:
        if st is None:
            bad.add(d.name)
            issues.append(f"{d.name} (never heard from)")
        else:
            age_s = (now - st.updated_at).total_seconds()
            if age_s > DRONE_STATE_STALE_S or not st.link_ok:
                bad.add(d.name)
                issues.append(f"{d.name} (last live state {age_s:.0f} s ago{', link lost' if not st.link_ok else ''})")
        kind, _, rest = d.connection.partition(":")
        if kind == "tcp" and ":" in rest:
            host, _, port = rest.rpartition(":")
            if port.isdigit():
                targets.append((d.name, lambda h=host, p=int(port): _tcp_probe(h, p, timeout_s)))
    for name, why in _probe_all(targets):
        bad.add(name)
        issues.append(f"{name} (tcp link: {why})")
    if not issues:
        return CheckResult("drones", CheckStatus.OK, f"{len(rows)} drone(s) with a live link")
    return CheckResult("drones", CheckStatus.WARN, f"{len(bad)} of {len(rows)} drone(s) not live: "
                       + ", ".join(issues[:5]),
                       "start its worker: disaster-ops drone-worker --name NAME --connect CONNECTION")


def check_tiles(settings: Settings, *, timeout_s: float) -> CheckResult:
    import os

    tiles = settings.map.tiles
    if tiles == "boundaries":
        return CheckResult("tiles", CheckStatus.OK, "shipped boundaries only (works offline)")
    if tiles == "osm":
        return CheckResult("tiles", CheckStatus.WARN, "public OpenStreetMap tiles: the map needs internet access",
                           "for offline use set map.tiles to a local tile server URL or 'boundaries'")
    if tiles == "vworld":
        if not os.environ.get("VWORLD_API_KEY"):
            return CheckResult("tiles", CheckStatus.FAIL, "map.tiles is vworld but VWORLD_API_KEY is not set",
                               "export VWORLD_API_KEY=... (the key is never stored in the settings file)")
        return CheckResult("tiles", CheckStatus.OK, "VWorld WMTS (key set)")
    hp = _host_port(tiles.replace("{", "").replace("}", ""))
    if hp is None:
        return CheckResult("tiles", CheckStatus.FAIL, f"map.tiles {tiles!r} is not a tile URL template",
                           "use boundaries, osm, vworld or http://HOST:PORT/{z}/{x}/{y}.png")
    why = _tcp_probe(hp[0], hp[1], timeout_s)
    if why:
        return CheckResult("tiles", CheckStatus.FAIL, f"tile server {hp[0]}:{hp[1]}: {why}",
                           "start the local tile server or fix map.tiles")
    return CheckResult("tiles", CheckStatus.OK, f"tile server {hp[0]}:{hp[1]} answers")


def check_disk(settings: Settings) -> CheckResult:
    d = Path(settings.data_dir).resolve()
    probe = d
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    gib = free / 2**30
    if free < DISK_FAIL_BYTES:
        return CheckResult("disk", CheckStatus.FAIL, f"{gib:.1f} GiB free at {d}",
                           "free space or move data_dir (DISASTER_OPS_DATA_DIR) to a larger disk")
    if free < DISK_WARN_BYTES:
        return CheckResult("disk", CheckStatus.WARN, f"{gib:.1f} GiB free at {d}",
                           "snapshots and logs fill the disk during an incident: free some space")
    return CheckResult("disk", CheckStatus.OK, f"{gib:.1f} GiB free at {d}")


def run_checks(settings: Settings, *, timeout_s: float = 2.0, max_probes: int = 20,
               models: bool = True) -> list[CheckResult]:
    """Every check, in the order an operator fixes them."""
    import sqlalchemy as sa

    results = [check_database(settings, timeout_s=timeout_s), check_migrations(settings)]
    schema_ok = all(r.status is CheckStatus.OK for r in results)
    if models:
        results.append(check_models(settings))
    if schema_ok:
        eng = sa.create_engine(str(settings.database_url))
        try:
            results.append(check_cameras(engine=eng, timeout_s=timeout_s, max_probes=max_probes))
            results.append(check_drones(engine=eng, timeout_s=timeout_s, max_probes=max_probes))
        finally:
            eng.dispose()
    else:
        for name in ("cameras", "drones"):
            results.append(CheckResult(name, CheckStatus.WARN, "not checked: the database is not ready",
                                       "fix the database and migrations first"))
    results.append(check_tiles(settings, timeout_s=timeout_s))
    results.append(check_disk(settings))
    return results
