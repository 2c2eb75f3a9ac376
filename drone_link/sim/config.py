"""Options of the simulated vehicle, with units and bounds checked on creation."""

from __future__ import annotations

from dataclasses import dataclass

from drone_link.errors import SimConfigError

DEFAULT_HOME = (37.5665, 126.9780, 38.0)  # Seoul City Hall plaza, ground AMSL


@dataclass(frozen=True)
class SimConfig:
    """How the simulated ArduCopter behaves.

    Time: ``speedup`` multiplies simulated time (flight, boot, battery). Protocol timers
    (item re-requests), telemetry rates and the GCS-loss failsafe stay in real seconds,
    because they are about the network, which is not accelerated.
    """

    port: int = 14550  # the GCS's UDP port the vehicle sends to (GCS listens: udpin)
    host: str = "127.0.0.1"
    sysid: int = 1
    home_lat_deg: float = DEFAULT_HOME[0]
    home_lon_deg: float = DEFAULT_HOME[1]
    home_alt_amsl_m: float = DEFAULT_HOME[2]
    loss: float = 0.0  # probability of dropping each datagram, each direction
    latency_s: float = 0.0  # one-way delay added to each datagram, each direction
    speedup: float = 1.0
    legacy: bool = False  # request with MISSION_REQUEST, reject *_INT frames (old ArduPilot)
    request_int: bool = False  # ArduPilot up to 4.7 requests with legacy MISSION_REQUEST
    mission_pace_s: float = 0.0  # real s between mission messages (ArduCopter 3.6 SITL: ~0.02-0.03)
    autopilot: str = "ardupilot"  # or "px4": PX4 mode numbers, no home item, MISSION_START arms-in-any-mode
    signing_key: bytes | None = None
    boot_s: float = 3.0  # simulated seconds until GPS 3D fix + EKF ready
    init_s: float = 0.3  # real seconds of autopilot init (HEARTBEAT BOOT; uploads then are lost)
    cruise_speed_m_s: float = 10.0
    climb_m_s: float = 2.5
    descent_m_s: float = 1.5
    accel_m_s2: float = 3.0
    wp_radius_m: float = 2.0
    rtl_alt_m: float = 15.0
    battery_pct: float = 100.0  # charge at start
    battery_minutes: float = 20.0  # hover endurance from 100 % to 0 %
    low_battery_pct: float = 20.0  # → RTL
    critical_battery_pct: float = 10.0  # → LAND
    gcs_failsafe_s: float = 5.0  # real seconds without GCS heartbeat → RTL (0 = off)
    request_timeout_s: float = 0.25  # real seconds before re-requesting a mission item
    upload_timeout_s: float = 8.0  # real seconds of silence before an upload is cancelled
    max_items: int = 1000
    stream_hz: float = 10.0  # position/attitude rate, real time
    seed: int | None = None

    def __post_init__(self) -> None:
        checks = [
            ("port", 1 <= self.port <= 65535, "must be 1..65535"),
            ("sysid", 1 <= self.sysid <= 254, "must be 1..254 (255 is the GCS)"),
            ("home", -90 <= self.home_lat_deg <= 90 and -180 <= self.home_lon_deg <= 180,
             "lat must be -90..90 and lon -180..180"),
            ("loss", 0.0 <= self.loss < 1.0, "must be in [0, 1)"),
            ("autopilot", self.autopilot in ("ardupilot", "px4"), "must be ardupilot or px4"),
            ("latency_s", 0.0 <= self.latency_s <= 5.0, "must be 0..5 s"),
            ("speedup", 0.1 <= self.speedup <= 200.0, "must be 0.1..200"),
            ("boot_s", self.boot_s >= 0, "must be >= 0"),
            ("cruise_speed_m_s", 0 < self.cruise_speed_m_s <= 40, "must be in (0, 40]"),
            ("battery_pct", 0 <= self.battery_pct <= 100, "must be 0..100"),
            ("battery_minutes", self.battery_minutes > 0, "must be > 0"),
            ("low_battery_pct", 0 <= self.critical_battery_pct <= self.low_battery_pct <= 100,
             "need 0 <= critical <= low <= 100"),
            ("gcs_failsafe_s", self.gcs_failsafe_s >= 0, "must be >= 0"),
            ("request_timeout_s", self.request_timeout_s > 0, "must be > 0"),
            ("max_items", 1 <= self.max_items <= 65535, "must be 1..65535"),
            ("stream_hz", 0.2 <= self.stream_hz <= 50, "must be 0.2..50"),
        ]
        for name, ok, reason in checks:
            if not ok:
                raise SimConfigError(name, reason)
        if self.signing_key is not None and len(self.signing_key) != 32:
            raise SimConfigError("signing_key", "must be 32 bytes (64 hex digits)")
