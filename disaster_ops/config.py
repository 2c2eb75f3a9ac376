"""Typed settings (pydantic-settings).

Sources, highest priority first: environment variables with prefix ``DISASTER_OPS_``
(nested sections with ``__``, e.g. ``DISASTER_OPS_CAMERA_DEFAULTS__RANGE_M=80``), a TOML
file (``DISASTER_OPS_CONFIG`` or ``./disaster-ops.toml``), then the defaults below.
``DATABASE_URL`` (without prefix) is honoured too, as most deployments set it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("disaster-ops.toml")


class CameraDefaults(BaseModel):
    """View parameters used when a registry row does not say (most Korean rows do not)."""

    model_config = ConfigDict(extra="forbid")

    heading_deg: float = Field(0.0, ge=0.0, lt=360.0, description="Heading clockwise from true north, degrees.")
    fov_deg: float = Field(60.0, gt=0.0, le=360.0, description="Horizontal field of view of a fixed camera, degrees.")
    range_m: float = Field(50.0, gt=0.0, le=2000.0, description="Useful detection range, metres.")
    ptz_range_m: float = Field(100.0, gt=0.0, le=5000.0, description="Range of a rotating (PTZ / 360°) camera, metres.")
    mount_height_m: float = Field(6.0, gt=0.0, le=200.0, description="Mount height above ground, metres.")
    tilt_deg: float = Field(30.0, ge=0.0, le=90.0, description="Tilt below the horizon, degrees.")


class ModelPaths(BaseModel):
    """Detector weights. Relative paths resolve against the package's shipped models."""

    model_config = ConfigDict(extra="forbid")

    fire_smoke: str | None = Field(None, description="Fire/smoke detector weights (ONNX or .pt); None = shipped default.")
    flood: str | None = Field(None, description="Flood segmentation weights; None = shipped default.")


class PlanningSafety(BaseModel):
    """Safety margins every planned mission (dashboard or CLI) gets, and the terrain model."""

    model_config = ConfigDict(extra="forbid")

    fence_margin_m: float = Field(100.0, ge=10.0, le=5000.0,
                                  description="Geofence = area and launch points grown by this, metres.")
    airspace_margin_m: float = Field(20.0, ge=0.0, le=1000.0,
                                     description="Distance kept from every no-fly zone, metres.")
    reserve_share: float = Field(0.25, ge=0.0, lt=0.9, description="Battery share kept in reserve (0..0.9).")
    max_alt_agl_m: float = Field(150.0, gt=0.0, le=500.0,
                                 description="Altitude cap above ground, metres (Korea: 150 m).")
    dem_path: str | None = Field(None, description="GeoTIFF DEM (metres AMSL) for terrain following; "
                                 "None = altitudes relative to the launch point.")
    dem_crs: str | None = Field(None, description="CRS of the DEM when the file has none or a "
                                "user-defined one you want to override, e.g. EPSG:5186.")
    min_clearance_m: float = Field(30.0, gt=0.0, le=500.0,
                                   description="Minimum height over the DEM ground anywhere on the path, metres.")
    max_climb_m_s: float = Field(2.5, gt=0.0, le=20.0, description="Climb rate limit along the path, m/s.")
    max_descent_m_s: float = Field(1.5, gt=0.0, le=20.0, description="Descent rate limit along the path, m/s.")
    launch_tolerance_m: float = Field(100.0, gt=0.0, le=10000.0,
                                      description="A drone further than this from a mission's launch "
                                      "point fails the pre-flight check, metres.")


class IncidentRules(BaseModel):
    """How incidents age, clear and stay quiet after a dismissal (all seconds)."""

    model_config = ConfigDict(extra="forbid")

    stale_after_s: float = Field(600.0, gt=0, le=7 * 86400,
                                 description="An open incident with no new detection for this long turns stale, s.")
    resolve_after_s: float = Field(3600.0, gt=0, le=30 * 86400,
                                   description="A stale incident quiet this long (since its last detection) is "
                                               "resolved automatically, s. Responding incidents are never "
                                               "auto-resolved.")
    suppress_after_dismiss_s: float = Field(1800.0, ge=0, le=30 * 86400,
                                            description="After a dismissal, detections of the same kind from the "
                                                        "same camera or area are stored against the dismissed "
                                                        "incident instead of raising a new one, for this long, s.")
    severity_window_s: float = Field(300.0, gt=0, le=86400,
                                     description="Severity is computed from the detections of this last window, "
                                                 "so it goes down when the evidence does, s.")

    @model_validator(mode="after")
    def _order(self) -> IncidentRules:
        if self.resolve_after_s < self.stale_after_s:
            raise ValueError("resolve_after_s must be >= stale_after_s")
        return self


class CameraHealthRules(BaseModel):
    """When a watched camera counts as stale or offline (all seconds)."""

    model_config = ConfigDict(extra="forbid")

    stale_after_s: float = Field(15.0, gt=0, le=3600, description="No new frame for this long: stale, s.")
    frozen_after_s: float = Field(30.0, gt=0, le=3600,
                                  description="Frames arrive but the picture has not changed for this long: "
                                              "stale (frozen picture), s.")
    offline_after_s: float = Field(60.0, gt=0, le=86400, description="No frame for this long: offline, s.")
    heartbeat_ttl_s: float = Field(30.0, gt=0, le=3600,
                                   description="A status written by the watcher holds this long; after it, "
                                               "readers see the camera stale, then offline (the watcher died), s.")

    @model_validator(mode="after")
    def _order(self) -> CameraHealthRules:
        if self.offline_after_s < self.stale_after_s:
            raise ValueError("offline_after_s must be >= stale_after_s")
        return self


class Limits(BaseModel):
    """Resource limits on what users hand in: every limit fails with one clear line
    (exit code 2) naming the limit and the setting that raises it."""

    model_config = ConfigDict(extra="forbid")

    registry_max_bytes: int = Field(256 * 2**20, gt=0, description="Largest registry file, bytes (the national Korean file is ~60 MB).")
    registry_max_rows: int = Field(1_000_000, gt=0, description="Most rows (or GeoJSON features) in one registry file.")
    registry_max_field_chars: int = Field(1000, gt=0, description="Longest text field in a registry row, characters.")
    aoi_max_bytes: int = Field(64 * 2**20, gt=0, description="Largest AOI / zone GeoJSON file, bytes.")
    aoi_max_vertices: int = Field(100_000, gt=3, description="Most polygon vertices in an AOI or zone file.")
    aoi_max_area_km2: float = Field(2_000.0, gt=0, description="Largest area `coverage` and `plan` accept, km².")
    plan_max_photos: int = Field(20_000, gt=0, description="Most photos one planned survey may take.")
    plan_max_waypoints: int = Field(2_000, gt=0, description="Most waypoints in one planned mission.")
    mission_file_max_bytes: int = Field(32 * 2**20, gt=0, description="Largest .plan / .waypoints file, bytes.")


class CoverageSettings(BaseModel):
    """Blind spots (zones no camera sees): one floor for the CLI, the dashboard and missions."""

    model_config = ConfigDict(extra="forbid")

    gap_min_area_m2: float = Field(100.0, ge=0.0, le=1e6,
                                   description="Blind spots smaller than this are dropped (slivers between "
                                               "camera views; 100 m² is a 10 m x 10 m square), m². "
                                               "Example: DISASTER_OPS_COVERAGE__GAP_MIN_AREA_M2=25.")
    union_workers: int = Field(0, ge=0, le=64,
                               description="Processes (or threads) that share the union of the camera views "
                                           "when a coverage index is built; 0 = min(CPU cores, 4), 1 = no "
                                           "extra process. More workers cut the wait, not the CPU time, "
                                           "count. Example: DISASTER_OPS_COVERAGE__UNION_WORKERS=1.")


class AuthSettings(BaseModel):
    """Logging in: lock-out, session expiry, password rules, optional OIDC (``st.login``)."""

    model_config = ConfigDict(extra="forbid")

    max_failed_logins: int = Field(5, ge=1, le=100, description="Consecutive wrong passwords before lock-out.")
    lockout_s: float = Field(900.0, gt=0, le=86400, description="How long a locked account stays locked, seconds.")
    session_idle_s: float = Field(1800.0, gt=0, le=7 * 86400,
                                  description="Dashboard sessions expire after this long without a user action, seconds.")
    min_password_length: int = Field(10, ge=8, le=200, description="Shortest password accepted, characters.")
    oidc_provider: str | None = Field(None, description="Name of an [auth.NAME] provider in Streamlit's "
                                      "secrets.toml; shows 'Log in with ...' (st.login). None: passwords only.")


class MapSettings(BaseModel):
    """Where the base map comes from. Every asset and the fallback background ship with the product."""

    model_config = ConfigDict(extra="forbid")

    tiles: str = Field("osm", description="Base map: 'boundaries' (shipped outlines only), 'osm' "
                       "(public OpenStreetMap), 'vworld' (national WMTS, key in VWORLD_API_KEY), or a tile URL "
                       "template such as http://127.0.0.1:8080/{z}/{x}/{y}.png (local tile server).")
    tiles_attribution: str = Field("", description="Attribution shown for a custom tile URL.")
    vworld_layer: str = Field("Base", description="VWorld WMTS layer: Base, Satellite, Hybrid, gray, midnight.")
    live_refresh_s: float = Field(10.0, ge=2.0, le=600.0, description="Live layers refresh period, seconds.")
    max_individual_cameras: int = Field(2500, ge=100, le=50_000, description="More cameras than this in view "
                                        "are drawn as counts on a grid, whatever the zoom.")


class RetentionSettings(BaseModel):
    """How long person images (people-incident snapshots, person crops) are kept per camera."""

    model_config = ConfigDict(extra="forbid")

    default_days: int = Field(30, ge=1, le=3650,
                              description="Days kept for a camera whose registry row gives no 보관일수 (and "
                                          "for images of unknown cameras), days. "
                                          "Example: DISASTER_OPS_RETENTION__DEFAULT_DAYS=14.")
    interval_s: float = Field(3600.0, ge=10.0, le=7 * 86400.0,
                              description="How often the watcher runs retention, seconds. "
                                          "Example: DISASTER_OPS_RETENTION__INTERVAL_S=600.")


class AerialPeopleSettings(BaseModel):
    """Person detection on drone video (missing-person search sightings). Off unless
    configured: it stores crops of people (privacy: an operator turns it on, as a camera's
    people kinds are), and on a 2-core box it costs hazard frames."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Run the person detector + tracker on every drone's georeferenced "
                                             "frames and store sightings. Example: DISASTER_OPS_AERIAL_PEOPLE__ENABLED=1.")
    every_n_frames: int = Field(2, ge=1, le=100, description="Run it on at most every N-th georeferenced sampled "
                                                            "frame (frames). Example: "
                                                            "DISASTER_OPS_AERIAL_PEOPLE__EVERY_N_FRAMES=3.")
    sightings_every_s: float = Field(2.0, ge=0.0, le=3600.0, description="One sighting per track at most this often, "
                                                                        "s (video time); 0 stores none. Example: "
                                                                        "DISASTER_OPS_AERIAL_PEOPLE__SIGHTINGS_EVERY_S=5.")


class Settings(BaseSettings):
    """Effective configuration of one process."""

    model_config = SettingsConfigDict(
        env_prefix="DISASTER_OPS_",
        env_nested_delimiter="__",
        extra="forbid",
        populate_by_name=True,
    )

    data_dir: Path = Field(Path("var"), description="Where the database, snapshots and caches live.")
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DISASTER_OPS_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; default: SQLite file <data_dir>/disaster_ops.db (WAL).",
    )
    sqlite_busy_timeout_s: float = Field(30.0, gt=0, le=600, description="SQLite busy timeout, seconds.")
    camera_defaults: CameraDefaults = Field(default_factory=CameraDefaults)
    models: ModelPaths = Field(default_factory=ModelPaths)
    planning: PlanningSafety = Field(default_factory=PlanningSafety)
    incidents: IncidentRules = Field(default_factory=IncidentRules)
    camera_health: CameraHealthRules = Field(default_factory=CameraHealthRules)
    limits: Limits = Field(default_factory=Limits)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    coverage: CoverageSettings = Field(default_factory=CoverageSettings)
    map: MapSettings = Field(default_factory=MapSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    aerial_people: AerialPeopleSettings = Field(default_factory=AerialPeopleSettings)
    log_level: str | None = Field(None, description="Level of the product's log on standard error: DEBUG, "
                                  "INFO, WARNING or ERROR (the CLI's --quiet / --verbose override it). "
                                  "Default: INFO for the long-running commands (watch, drone-worker, "
                                  "aerial, sim-drone, share serve), WARNING for the others. "
                                  "Example: DISASTER_OPS_LOG_LEVEL=DEBUG.")

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str | None) -> str | None:
        if v is None or not str(v).strip():
            return None
        v = str(v).strip().upper()
        if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        self.data_dir = Path(self.data_dir).expanduser()
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'disaster_ops.db').as_posix()}"
        return self

    @property
    def is_sqlite(self) -> bool:
        return str(self.database_url).startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("DISASTER_OPS_CONFIG", DEFAULT_CONFIG_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; call ``get_settings.cache_clear()`` after env changes)."""
    return Settings()
