"""Domain tables (SQLModel). One database is the integration point between processes.

Geometry is stored as GeoJSON text (WGS84, ``[lon, lat]``) plus bounding-box columns
(``min_lon``, ``min_lat``, ``max_lon``, ``max_lat``) so plain SQLite and PostgreSQL both
filter by area with ordinary indexes; spatial work itself happens in :mod:`geo`.
Timestamps are timezone-aware UTC. Schema changes go through Alembic
(``disaster_ops/migrations``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timestamps are UTC and timezone-aware on both sides, on every engine.

    SQLite has no time zone type: values are stored as UTC text and come back naive,
    so they are re-labelled UTC on load. Naive datetimes are refused on write."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kw):
    """A timezone-aware UTC timestamp column."""
    return Field(sa_type=UTCDateTime(), **kw)


class CameraStatus(str, Enum):
    ONLINE = "online"
    STALE = "stale"  # watched, but no new frame for a while, or a frozen picture
    OFFLINE = "offline"
    UNKNOWN = "unknown"  # never watched
    DISABLED = "disabled"


class SourceKind(str, Enum):
    CCTV = "cctv"
    DRONE = "drone"


class IncidentStatus(str, Enum):
    NEW = "new"
    CONFIRMED = "confirmed"
    RESPONDING = "responding"
    STALE = "stale"  # open, but no detection for a while; auto-resolves if it stays quiet
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class MissionStatus(str, Enum):
    DRAFT = "draft"
    PLANNED = "planned"
    ASSIGNED = "assigned"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"


class Camera(SQLModel, table=True):
    """A fixed CCTV camera: where it is and what part of the ground it sees."""

    __tablename__ = "camera"
    # Covering index of the dashboard's per-view counts (migration 0003_auth).
    __table_args__ = (sa.Index("ix_camera_lat_lon_status", "lat", "lon", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(index=True, unique=True, max_length=200,
                            description="Stable key: registry 관리번호, or a hash of operator+address+position.")
    name: str = Field(default="", max_length=300)
    operator: str = Field(default="", max_length=200)
    purpose: str = Field(default="", max_length=100)
    address: str = Field(default="", max_length=400)
    lat: float = Field(index=True)
    lon: float = Field(index=True)
    heading_deg: float = 0.0
    fov_deg: float = 60.0
    range_m: float = 50.0
    camera_count: int = 1
    mount_height_m: float = 6.0
    tilt_deg: float = 30.0
    stream_url: str | None = Field(default=None, max_length=1000)
    calibration: str | None = Field(default=None, description="JSON: homography or pose calibration from geo.")
    detect_config: str | None = Field(default=None, description="JSON: per-camera detection settings "
                                      "(kinds, thresholds, ROI, exclusion masks).")
    image_hfov_deg: float | None = Field(default=None, description="Lens horizontal field of view when it "
                                         "differs from the coverage fov (PTZ cameras), degrees.")
    status: CameraStatus = Field(default=CameraStatus.UNKNOWN, sa_type=sa.String(20))
    last_frame_at: datetime | None = _ts(default=None)
    last_error: str | None = Field(default=None, max_length=500, description="Why the stream last failed.")
    health_expires_at: datetime | None = _ts(
        default=None, description="The watcher's status holds until then (heartbeat); after it readers derive "
                                  "stale/offline from last_frame_at.")
    view_source: str = Field(default="default", max_length=40,
                             description="How heading/FOV were obtained: registry text, number, default, manual.")
    imported_from: str | None = Field(default=None, max_length=500)
    retention_days: int | None = Field(default=None, description="Registry 보관일수: how long footage, person "
                                       "crops and people-incident snapshots of this camera are kept, days "
                                       "(None: the retention.default_days setting). Migration 0006_privacy.")
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class Detection(SQLModel, table=True):
    """One hazard seen by one source in one frame."""

    __tablename__ = "detection"

    id: int | None = Field(default=None, primary_key=True)
    source_kind: SourceKind = Field(index=True, sa_type=sa.String(20))
    source_id: str = Field(index=True, max_length=200, description="Camera source_key or drone name.")
    observed_at: datetime = _ts(default_factory=utcnow, index=True)
    kind: str = Field(index=True, max_length=40, description="fire, smoke, flood, ...")
    confidence: float = 0.0
    bbox_json: str = Field(default="[]", description="Pixel box [x1, y1, x2, y2] as JSON.")
    ground_lat: float | None = None
    ground_lon: float | None = None
    footprint_geojson: str | None = None
    uncertainty_m: float | None = Field(default=None, description="The hazard is within this of the ground "
                                        "point (camera direction unknown: PTZ / 360°), metres.")
    snapshot_path: str | None = Field(default=None, max_length=1000)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)


class Incident(SQLModel, table=True):
    """A hazard on the map, fused from one or more detections."""

    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True, max_length=40, description="Primary kind (fire over smoke).")
    kinds: str = Field(default="", max_length=200, description="Every kind seen, comma-separated, sorted.")
    status: IncidentStatus = Field(default=IncidentStatus.NEW, index=True, sa_type=sa.String(20))
    severity: int = Field(default=1, ge=1, le=5)
    geometry_geojson: str = Field(description="Incident area or point, GeoJSON geometry.")
    min_lon: float = Field(index=True)
    min_lat: float = Field(index=True)
    max_lon: float
    max_lat: float
    first_seen: datetime = _ts(default_factory=utcnow)
    last_seen: datetime = _ts(default_factory=utcnow, index=True)
    source_count: int = 1
    acknowledged_by: str | None = Field(default=None, max_length=200)
    note: str | None = None
    status_before_stale: str | None = Field(default=None, max_length=20)
    suppressed_until: datetime | None = _ts(default=None, description="Dismissed: detections of its kinds "
                                            "from its cameras or area join it silently until then.")

    @property
    def kind_list(self) -> list[str]:
        return [k for k in (self.kinds or self.kind).split(",") if k]


class Drone(SQLModel, table=True):
    """A vehicle the product can dispatch (real or simulated)."""

    __tablename__ = "drone"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    connection: str = Field(max_length=300, description="MAVLink connection string, e.g. udpin:0.0.0.0:14550.")
    system_id: int = 1
    autopilot: str = Field(default="ardupilot", max_length=40)
    signing_key_ref: str | None = Field(default=None, max_length=300,
                                        description="Where the signing key lives (env var or file), never the key.")
    max_waypoints: int = 700
    endurance_min: float = 25.0
    created_at: datetime = _ts(default_factory=utcnow)
    home_lat_deg: float | None = Field(default=None, description="Launch point when no live position is known.")
    home_lon_deg: float | None = None


class Mission(SQLModel, table=True):
    """A planned coverage or search mission and its life cycle."""

    __tablename__ = "mission"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=200)
    zone_geojson: str = Field(description="Area the mission covers (GeoJSON geometry).")
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    items_json: str = Field(default="[]", description="Mission items (drone_link MissionItem as JSON).")
    plan_json: str | None = Field(default=None, description="QGroundControl .plan document.")
    status: MissionStatus = Field(default=MissionStatus.PLANNED, index=True, sa_type=sa.String(20))
    drone_id: int | None = Field(default=None, foreign_key="drone.id", index=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    created_by: str = Field(default="system", max_length=100)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)
    current_seq: int | None = None
    report_json: str | None = Field(default=None, description="Planner report: distance, time, photos, GSD.")


class AirspaceZone(SQLModel, table=True):
    """A zone of the operator's imported airspace layer (no-fly or restricted), WGS84 polygon."""

    __tablename__ = "airspace_zone"

    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(index=True, unique=True, max_length=500,
                            description="Source file name + zone name: re-importing a file updates its zones.")
    name: str = Field(max_length=200, index=True)
    kind: str = Field(default="no_fly", max_length=20, description="no_fly or restricted.")
    geometry_geojson: str = Field(description="Zone polygon, GeoJSON geometry (WGS84).")
    min_lon: float = Field(index=True)
    min_lat: float = Field(index=True)
    max_lon: float
    max_lat: float
    lower_m: float | None = Field(default=None, description="Floor, metres AGL (None: ground).")
    upper_m: float | None = Field(default=None, description="Ceiling, metres AGL (None: unlimited).")
    source: str = Field(default="", max_length=500)
    imported_by: str = Field(default="system", max_length=100)
    imported_at: datetime = _ts(default_factory=utcnow)


class DroneState(SQLModel, table=True):
    """Latest telemetry per drone (one row per drone, overwritten)."""

    __tablename__ = "drone_state"

    drone_id: int = Field(foreign_key="drone.id", primary_key=True)
    updated_at: datetime = _ts(default_factory=utcnow)
    lat: float | None = None
    lon: float | None = None
    alt_rel_m: float | None = None
    alt_amsl_m: float | None = None
    heading_deg: float | None = None
    ground_speed_m_s: float | None = None
    roll_deg: float | None = None
    pitch_deg: float | None = None
    battery_pct: float | None = None
    voltage_v: float | None = None
    mode: str | None = Field(default=None, max_length=40)
    armed: bool = False
    mission_seq: int | None = None
    link_ok: bool = False
    last_status_text: str | None = Field(default=None, max_length=200)


class AuditEvent(SQLModel, table=True):
    """Who did what, when: every state-changing action of a user or a process."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(default_factory=utcnow, index=True)
    actor: str = Field(max_length=100, index=True, description="User name or process (e.g. cli, watcher).")
    role: str | None = Field(default=None, max_length=40)
    action: str = Field(max_length=100, index=True)
    object_type: str = Field(default="", max_length=60)
    object_id: str | None = Field(default=None, max_length=200)
    details_json: str | None = None


class Agency(SQLModel, table=True):
    """An agency we share the picture with (police, fire service, military, a city).

    Its sharing rule says what it receives: incidents whose area meets ``region_geojson``
    (None: everywhere), of ``kinds`` (comma list; None: every kind), with severity at
    least ``min_severity``, and snapshots/video links only when ``include_media``. Users
    belong to an agency by its ``name`` (``Principal.agency``)."""

    __tablename__ = "agency"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    region_geojson: str | None = Field(default=None, description="Region (WGS84 Polygon/MultiPolygon GeoJSON).")
    kinds: str | None = Field(default=None, max_length=400, description="Comma list of incident kinds; None = all.")
    min_severity: int = Field(default=1, ge=1, le=5)
    include_media: bool = Field(default=False, description="Snapshots and video links are shared.")
    token_hash: str | None = Field(default=None, max_length=64,
                                   description="SHA-256 (hex) of the GIS feed API token; never the token.")
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class CapMessage(SQLModel, table=True):
    """One CAP 1.2 message issued for an incident: the ledger that chains
    Alert -> Update -> Cancel with ``<references>``."""

    __tablename__ = "cap_message"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    seq: int = Field(description="1 for the Alert, then one more per Update/Cancel.")
    identifier: str = Field(unique=True, max_length=200)
    sent: datetime = _ts(index=True)
    msg_type: str = Field(max_length=10, description="Alert, Update or Cancel.")
    fingerprint: str = Field(max_length=64, description="Hash of what the message says; a change issues an Update.")
    xml: str


class ShareDelivery(SQLModel, table=True):
    """Last state pushed to one sink for one agency and one object (so a restart sends
    ``update``/``end`` with the right ``before``, not ``new`` again)."""

    __tablename__ = "share_delivery"
    __table_args__ = (sa.UniqueConstraint("sink", "agency", "object_key", name="uq_share_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    sink: str = Field(max_length=100)
    agency: str = Field(max_length=100)
    object_key: str = Field(max_length=200, description="incident:ID, camera:KEY or drone:NAME.")
    fingerprint: str = Field(max_length=64)
    state_json: str
    ended: bool = False
    updated_at: datetime = _ts(default_factory=utcnow)


class DroneAerial(SQLModel, table=True):
    """A drone's camera: its video URL and auto-dispatch setting, and what it sees now
    (camera footprint, recent track, whether the last frame could be georeferenced).
    One row per drone; the aerial worker overwrites the live part."""

    __tablename__ = "drone_aerial"

    drone_id: int = Field(foreign_key="drone.id", primary_key=True)
    video_url: str | None = Field(default=None, max_length=1000,
                                  description="Drone video (RTSP, udp://, .sdp, HTTP MJPEG, file).")
    auto_dispatch: bool = Field(default=False, description="Let the product dispatch gap missions to this drone.")
    auto_dispatch_by: str | None = Field(default=None, max_length=100, description="Who enabled auto-dispatch.")
    updated_at: datetime = _ts(default_factory=utcnow)
    frame_at: datetime | None = _ts(default=None)
    georeferenced: bool = False
    reason: str | None = Field(default=None, max_length=200, description="Why the last frame is un-georeferenced.")
    footprint_geojson: str | None = Field(default=None, description="Camera footprint on the ground (GeoJSON).")
    track_geojson: str | None = Field(default=None, description="Recent positions (GeoJSON LineString).")
    frames: int = 0
    frames_unreferenced: int = 0
    detections: int = 0


class User(SQLModel, table=True):
    """A person who logs in: name, argon2 password hash, role and agency.

    ``agency`` is a plain agency name (the sharing rules of the agencies are keyed by it);
    None means the operating centre itself. ``failed_logins`` counts consecutive wrong
    passwords; at the limit the account is locked until ``locked_until``."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    password_hash: str = Field(max_length=300, description="argon2id hash (PHC string); never the password.")
    role: str = Field(max_length=20, description="admin, manager, pilot or responder.")
    agency: str | None = Field(default=None, max_length=200)
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = _ts(default=None)
    last_login_at: datetime | None = _ts(default=None)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class CameraLease(SQLModel, table=True):
    """Which camera worker may run a camera (``disaster-ops watch --workers/--cluster``).

    The coordinator grants a lease by raising ``token`` (a fencing token: it never goes
    down); a worker writes a camera's detections only while the row still names it with
    the token it was given, checked in the same transaction as the write. So a worker
    that was declared dead but still runs can never store a detection after its camera
    moved on. ``expires_at`` is renewed by the worker; a lease past it is free."""

    __tablename__ = "camera_lease"

    camera_key: str = Field(primary_key=True, max_length=200, description="Camera source_key.")
    worker_id: str | None = Field(default=None, max_length=200, index=True)
    token: int = Field(default=0, description="Fencing token; raised on every grant.")
    granted_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts(default_factory=utcnow)
    lag_s: float | None = Field(default=None, description="How far behind its schedule the worker last ran, s.")


class WatchWorker(SQLModel, table=True):
    """A camera worker's heartbeat: where it runs, how many cameras, how far behind."""

    __tablename__ = "watch_worker"

    worker_id: str = Field(primary_key=True, max_length=200)
    node: str = Field(default="", max_length=200, description="Host name / Ray node id.")
    pid: int = 0
    state: str = Field(default="running", max_length=20, description="running or stopped.")
    started_at: datetime = _ts(default_factory=utcnow)
    heartbeat_at: datetime = _ts(default_factory=utcnow)
    cameras: int = 0
    frames: int = 0
    reports: int = 0
    lag_s: float = Field(default=0.0, description="How late the last sampling tick started, s.")
    tick_s: float = Field(default=0.0, description="How long the last tick took, s.")


class SightingStatus(str, Enum):
    """An operator's verdict on one person sighting (missing-person search)."""

    UNREVIEWED = "unreviewed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class PersonSighting(SQLModel, table=True):
    """One tracked person seen by one camera or drone: at most one row per track per
    ``sightings_every_s`` (missing-person search, ``services/person_search``).

    Compact by design (a million rows are a few hundred MB): the ground position, the
    pixel box, the dominant clothing colours and build as text (readable, filterable), and
    the packed appearance vector (``people.appearance``, :data:`VECTOR_BYTES` bytes) that the
    search scores with numpy. The person crop is a JPEG under the data dir, referenced by
    ``crop_path``; retention deletes rows and crops by ``camera_key`` and ``captured_at``.
    """

    __tablename__ = "person_sighting"
    __table_args__ = (sa.Index("ix_person_sighting_lat_lon", "lat", "lon"),
                      sa.Index("ix_person_sighting_status", "status"))

    id: int | None = Field(default=None, primary_key=True)
    source_kind: SourceKind = Field(sa_type=sa.String(20), description="cctv or drone.")
    camera_key: str = Field(index=True, max_length=200, description="Camera source_key, or drone:NAME.")
    captured_at: datetime = _ts(index=True, description="When the frame was captured (UTC).")
    track_id: int = Field(description="The person's track id on that camera/drone (ByteTrack).")
    x1: float
    y1: float
    x2: float
    y2: float
    lat: float = Field(description="Ground position of the person's feet (WGS84); the pole when uncalibrated.")
    lon: float
    uncertainty_m: float | None = Field(default=None, description="The person is within this of lat/lon, m.")
    confidence: float = 0.0
    upper_colour: str = Field(default="", max_length=12, description="Dominant named colour of the torso.")
    lower_colour: str = Field(default="", max_length=12, description="Dominant named colour of the legs.")
    build: str = Field(default="", max_length=10, description="slim, medium or broad (box aspect).")
    feature_version: int = Field(default=1, description="people.appearance.FEATURE_VERSION of attrs.")
    attrs: bytes = Field(sa_type=sa.LargeBinary(), description="Packed uint8 appearance vector.")
    crop_path: str | None = Field(default=None, max_length=1000, description="Person crop JPEG (data dir).")
    status: SightingStatus = Field(default=SightingStatus.UNREVIEWED, sa_type=sa.String(20))
    reviewed_by: str | None = Field(default=None, max_length=100)
    reviewed_at: datetime | None = _ts(default=None)
    review_note: str | None = Field(default=None, max_length=500)


class PersonSightingPack(SQLModel, table=True):
    """A column-packed copy of up to a few thousand consecutive sightings (by id) that
    missing-person search scores without reading them row by row: ids, times, ground
    points, build codes and appearance vectors as little-endian arrays, plus the time span
    and ground box for the prefilter. ``person_sighting`` stays the record (status, crop,
    box); rows deleted there are dropped from their pack by ``sightings.compact_packs``
    and never returned by a search."""

    __tablename__ = "person_sighting_pack"

    id: int | None = Field(default=None, primary_key=True)
    id_lo: int = Field(unique=True, description="First sighting id in the pack.")
    id_hi: int = Field(index=True, description="Last sighting id in the pack.")
    n: int = Field(description="Sightings in the pack.")
    first_at: datetime = _ts(index=True)
    last_at: datetime = _ts(index=True)
    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float
    ids: bytes = Field(sa_type=sa.LargeBinary(), description="int64 sighting ids.")
    t_s: bytes = Field(sa_type=sa.LargeBinary(), description="float64 capture times, Unix seconds.")
    lat: bytes = Field(sa_type=sa.LargeBinary(), description="float64 latitudes.")
    lon: bytes = Field(sa_type=sa.LargeBinary(), description="float64 longitudes.")
    builds: bytes = Field(sa_type=sa.LargeBinary(), description="uint8 build codes (0 none, 1 slim, 2 medium, 3 broad).")
    attrs: bytes = Field(sa_type=sa.LargeBinary(), description="n x VECTOR_BYTES uint8 appearance vectors.")


class PeopleDensity(SQLModel, table=True):
    """The newest crowd density a camera's crowding detector measured (one row per camera,
    overwritten): the map's density layer. Migration 0006_privacy."""

    __tablename__ = "people_density"

    camera_key: str = Field(primary_key=True, max_length=200)
    observed_at: datetime = _ts(default_factory=utcnow, index=True)
    count: int = 0
    area_m2: float | None = Field(default=None, description="Ground area of the counted zone, m².")
    density_per_m2: float | None = Field(default=None, description="Persons per m² (None: area unknown).")
    zone_geojson: str | None = Field(default=None, description="The counted zone on the ground (WGS84 "
                                     "GeoJSON polygon), when the camera's ground projection gives one.")
