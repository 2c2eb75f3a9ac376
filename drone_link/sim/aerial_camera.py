"""A synthetic aerial camera: what the simulated drone's camera would see, with ground truth.

A :class:`GroundScene` is a geo-referenced ground image of an area (procedural texture:
fields, roads, roofs) with hazards planted at known ground coordinates (real fire
patches, see ``sample_data/aerial/README.md``). :func:`render` draws the image a pinhole
camera at a given pose sees of that flat ground (a perspective warp: for a plane, the
ground→image map is a homography, so it is exact), sky above the horizon, and each
fire as an upright flame column standing on its ground point (the patch drawn over the
column's image extent: end-on from straight above, rising above the point in an
oblique view). The truth an accuracy test compares with is the centre of the column's
base on the ground.

:class:`SimAerialCamera` follows a :class:`~drone_link.sim.vehicle.SimVehicle`: on its own
thread it renders the camera view from the vehicle's current position and heading with a
stabilised gimbal (pitch held in the earth frame), serves it as HTTP multipart MJPEG
(``http://127.0.0.1:PORT/video.mjpg``, what OpenCV/FFmpeg, VLC and browsers read) with
each part stamped with the time the pose it shows was read (``X-Timestamp``, unix
seconds, as mjpg-streamer stamps its frames: rendering and encoding take tens of
milliseconds, more on a loaded machine, and the drone moves meanwhile), and
sends the gimbal attitude as ``MOUNT_STATUS`` next to the vehicle's telemetry. With
``telemetry_port`` it also forwards the pose messages (``GLOBAL_POSITION_INT``,
``ATTITUDE``, ``MOUNT_STATUS``) to a second UDP port, as a companion computer or
MAVProxy ``--out`` would, so a video worker can listen while the drone worker keeps
the command link.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

from geo.aerial import aerial_pose
from geo.camera_model import CameraIntrinsics
from geo.crs import LocalFrame
from geo.projection import PinholePose

logger = logging.getLogger(__name__)
SKY_BGR = (235, 206, 170)


@dataclass(frozen=True)
class PlantedHazard:
    """A hazard planted on the ground: a ``kind`` patch (a side view) of ``size_m`` (longer side) standing at lat/lon."""

    kind: str
    lat: float
    lon: float
    size_m: float
    patch: Path


class GroundScene:
    """A north-up ground image centred on ``center_lat, center_lon``, ``m_per_px`` metres per pixel."""

    def __init__(self, texture: np.ndarray, *, center_lat: float, center_lon: float, m_per_px: float,
                 hazards: tuple[PlantedHazard, ...] = ()) -> None:
        self.texture = texture
        self.center_lat, self.center_lon, self.m_per_px = center_lat, center_lon, m_per_px
        self.frame = LocalFrame.tangent(center_lat, center_lon)
        self.hazards: tuple[PlantedHazard, ...] = ()
        self._patches: dict[PlantedHazard, np.ndarray] = {}
        self._cut_px: dict[PlantedHazard, int] = {}  # longer side of each patch as cut (its size_m)
        for hz in hazards:
            self.plant(hz)

    @property
    def size_m(self) -> tuple[float, float]:
        h, w = self.texture.shape[:2]
        return w * self.m_per_px, h * self.m_per_px

    def latlon_to_px(self, lat, lon) -> np.ndarray:
        """Texture pixel (x right = east, y down = south) of lat/lon points, shape (N, 2)."""
        e, n = self.frame.to_xy_m(np.atleast_1d(lat), np.atleast_1d(lon))
        h, w = self.texture.shape[:2]
        return np.column_stack([w / 2.0 + np.asarray(e) / self.m_per_px, h / 2.0 - np.asarray(n) / self.m_per_px])

    def plant(self, hazard: PlantedHazard) -> None:
        """Add a hazard; :func:`render` draws it as a flame column standing on its ground point.

        A patch is a labelled flame box cut from a CCTV frame, and some boxes hold floor
        below the flame (up to a fifth of the box); those rows are cut off here
        (:func:`flame_base_row`), so the flame itself stands on the ground point and does
        not float above it on an upright strip of floor.
        """
        patch = cv2.imread(str(hazard.patch), cv2.IMREAD_COLOR)
        if patch is None:
            raise ValueError(f"{hazard.patch}: not a readable image")
        if not hazard.size_m > 0:
            raise ValueError(f"hazard size_m must be > 0, got {hazard.size_m}")
        (cx, cy), = self.latlon_to_px(hazard.lat, hazard.lon)
        h, w = self.texture.shape[:2]
        if not (0 <= cx < w and 0 <= cy < h):
            raise ValueError(f"hazard at {hazard.lat:.6f},{hazard.lon:.6f} lies outside the ground image")
        self.hazards = (*self.hazards, hazard)
        self._cut_px[hazard] = max(patch.shape[:2])
        self._patches[hazard] = patch[: flame_base_row(patch) + 1]


# A patch pixel is flame when bright and coloured, or white-hot (HSV, OpenCV's 0-255 scale).
FLAME_MIN_VALUE, FLAME_MIN_SATURATION, FLAME_WHITE_VALUE = 200, 60, 235


def flame_base_row(patch: np.ndarray, *, min_px: int = 2) -> int:
    """The lowest row of a flame patch (BGR) with at least ``min_px`` flame pixels; the last
    row when none has (the whole patch is then taken as the flame)."""
    hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
    flame = (hsv[..., 2] >= FLAME_MIN_VALUE) & ((hsv[..., 1] >= FLAME_MIN_SATURATION)
                                                | (hsv[..., 2] >= FLAME_WHITE_VALUE))
    rows = np.nonzero(flame.sum(axis=1) >= min_px)[0]
    return int(rows.max()) if rows.size else patch.shape[0] - 1


def synthetic_texture(width_px: int, height_px: int, *, m_per_px: float, seed: int = 7) -> np.ndarray:
    """Vegetation-like ground (fine canopy texture, slow hue changes) with grey, blue and
    green roofs, and sensor noise. Flat, untextured areas are avoided on purpose: a
    detector trained on real frames reads large smooth patches as haze or water."""
    rng = np.random.default_rng(seed)
    lw, lh = max(2, width_px // 160), max(2, height_px // 160)
    low = cv2.resize(rng.random((lh, lw)).astype(np.float32), (width_px, height_px), interpolation=cv2.INTER_CUBIC)
    grass, meadow = np.array([55, 105, 70], np.float32), np.array([60, 100, 95], np.float32)
    tex = grass + (meadow - grass) * np.clip(low, 0.0, 1.0)[..., None]
    canopy = cv2.GaussianBlur(rng.standard_normal((height_px, width_px), dtype=np.float32), (0, 0), 3)
    tex += (canopy * 40.0)[..., None] * np.array([0.6, 1.0, 0.7], np.float32)
    roofs = [(110, 110, 115), (125, 108, 92), (100, 115, 100)]  # BGR: grey, blue-grey, green; nothing red
    lo_px, hi_px = max(2, int(8 / m_per_px)), max(3, int(16 / m_per_px))
    for _ in range(int(width_px * height_px * m_per_px * m_per_px / 1500)):
        bw, bh = rng.integers(lo_px, hi_px, 2)
        bx, by = rng.integers(0, max(1, width_px - bw)), rng.integers(0, max(1, height_px - bh))
        tex[by:by + bh, bx:bx + bw] = roofs[rng.integers(len(roofs))]
    tex += rng.standard_normal(tex.shape, dtype=np.float32) * 12.0
    return np.clip(tex, 0, 255).astype(np.uint8)


def build_scene(center_lat: float, center_lon: float, *, size_m: float = 1200.0, m_per_px: float = 0.25,
                hazards: tuple[PlantedHazard, ...] = (), seed: int = 7) -> GroundScene:
    """A synthetic ground image around a point with the given hazards planted."""
    n = round(size_m / m_per_px)
    scene = GroundScene(synthetic_texture(n, n, m_per_px=m_per_px, seed=seed), center_lat=center_lat,
                        center_lon=center_lon, m_per_px=m_per_px)
    for h in hazards:
        scene.plant(h)
    return scene


def render(scene: GroundScene, pose: PinholePose) -> np.ndarray:
    """The BGR image the camera ``pose`` sees of the scene's flat ground (sky above the horizon)."""
    intr = pose.intrinsics
    w, h = intr.width_px, intr.height_px
    us, vs = np.meshgrid(np.linspace(0, w, 9), np.linspace(0, h, 9))
    u, v = us.ravel(), vs.ravel()
    d = pose.rays_enu(u, v)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    ok = d[:, 2] < -math.sin(math.radians(2.0))  # rays well below the horizon
    out = np.empty((h, w, 3), np.uint8)
    out[:] = SKY_BGR
    if ok.sum() < 4:
        _draw_hazards(scene, pose, out)
        return out
    g = pose.pixel_to_ground(u[ok], v[ok], check_image=False)
    src = scene.latlon_to_px(g.lat, g.lon).astype(np.float32)
    dst = np.column_stack([u[ok], v[ok]]).astype(np.float32)
    hom, _ = cv2.findHomography(src, dst, 0)
    if hom is None:
        _draw_hazards(scene, pose, out)
        return out
    warped = cv2.warpPerspective(scene.texture, hom, (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=(70, 90, 80))
    # Pixels whose ray misses the ground (sky) keep the sky colour.
    vv = np.arange(h, dtype=float)
    col = pose.rays_enu(np.full(h, w / 2.0), vv)
    below = col[:, 2] / np.linalg.norm(col, axis=1) < -math.sin(math.radians(0.5))
    out[below] = warped[below]
    _draw_hazards(scene, pose, out)
    return out


def hazard_volume_m(hazard: PlantedHazard, patch_shape: tuple[int, ...], *, cut_px: int | None = None
                    ) -> tuple[float, float]:
    """``(base_diameter_m, height_m)`` of a planted fire: the patch is a side view of the flame,
    the longer side of the patch as cut (``cut_px``, default the patch's own) ``size_m``, so
    its width is the burning base and its height the flame's."""
    ph, pw = patch_shape[:2]
    k = hazard.size_m / (cut_px or max(ph, pw))
    return pw * k, ph * k


def _draw_hazards(scene: GroundScene, pose: PinholePose, img: np.ndarray) -> None:
    """Each fire as an upright flame column standing on its ground point (a cylinder of the
    patch's base width and height). The patch is drawn over the column's image extent
    along the image direction of the vertical: its bottom edge is the near edge of the
    burning base, its top the far edge of the column's top, its width the column's
    width. So an oblique view shows the flame rising above its ground point, and a view
    from above shows it leaning away from the nadir point (relief displacement) or, right
    under the camera, end-on over the point."""
    intr = pose.intrinsics

    def px(e_m: float, n_m: float, up_m: float) -> np.ndarray | None:
        c = np.array([e_m, n_m, up_m - pose.height_m]) @ pose.R
        if c[2] <= 1.0:
            return None
        return np.array([intr.fx_px * c[0] / c[2] + intr.cx_px, intr.fy_px * c[1] / c[2] + intr.cy_px])

    for hz in scene.hazards:
        patch = scene._patches[hz]
        base_m, height_m = hazard_volume_m(hz, patch.shape, cut_px=scene._cut_px.get(hz))
        e, n = (float(v) for v in pose.frame.to_xy_m(hz.lat, hz.lon))
        b, t = px(e, n, 0.0), px(e, n, height_m)
        if b is None or t is None:
            continue  # (partly) behind the camera
        axis = b - t  # world-down along the column in the image
        g = axis / np.linalg.norm(axis) if np.linalg.norm(axis) > 0.5 else np.array([0.0, 1.0])
        p = np.array([-g[1], g[0]])
        # Radii (px) of the base and the top from the horizontal disc's extent across the view.
        horiz = np.array([-math.cos(math.atan2(e, n)), math.sin(math.atan2(e, n))]) if (e or n) else np.array([1.0, 0.0])
        ends = []
        for up_m in (0.0, height_m):
            q = px(e + horiz[0] * base_m / 2, n + horiz[1] * base_m / 2, up_m)
            c0 = px(e, n, up_m)
            if q is None or c0 is None:
                break
            r = float(np.linalg.norm(q - c0))
            d = pose.rays_enu(np.array([c0[0]]), np.array([c0[1]]))[0]
            sin_dep = max(0.0, -d[2] / float(np.linalg.norm(d)))
            ends.append((c0, r, sin_dep))
        if len(ends) < 2:
            continue
        (cb, rb, sb), (ct, rt, st) = ends
        near = cb + g * rb * sb  # near edge of the burning base
        far = ct - g * rt * st  # far edge of the column's top
        if float(np.dot(near - far, g)) < 2.0:
            far = near - g * 2.0 * max(rb, rt)
        dst = np.float32([far - p * rt, far + p * rt, near + p * rb, near - p * rb])
        ph, pw = patch.shape[:2]
        src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
        x0, y0 = np.floor(dst.min(axis=0)).astype(int)
        x1, y1 = np.ceil(dst.max(axis=0)).astype(int)
        if x1 - x0 < 2 or y1 - y0 < 2 or x1 - x0 > 4 * img.shape[1] or y1 - y0 > 4 * img.shape[0]:
            continue
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(img.shape[1], x1), min(img.shape[0], y1)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        m = cv2.getPerspectiveTransform(src, dst - np.float32([cx0, cy0]))
        size = (cx1 - cx0, cy1 - cy0)
        warped = cv2.warpPerspective(patch, m, size, flags=cv2.INTER_AREA)
        mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, size, flags=cv2.INTER_NEAREST)
        roi = img[cy0:cy1, cx0:cx1]
        roi[mask > 0] = warped[mask > 0]


@dataclass
class CameraSpec:
    """The simulated camera: image size, lens and gimbal (stabilised, pitch in the earth frame)."""

    width_px: int = 640
    height_px: int = 480
    hfov_deg: float = 84.0
    gimbal_pitch_deg: float = -90.0
    gimbal_yaw_deg: float = 0.0  # relative to the nose
    fps: float = 5.0
    jpeg_quality: int = 90

    @property
    def intrinsics(self) -> CameraIntrinsics:
        return CameraIntrinsics.from_hfov(hfov_deg=self.hfov_deg, width_px=self.width_px, height_px=self.height_px)


class _MjpegHub:
    """The newest JPEG and a condition the HTTP handlers wait on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.jpeg: bytes | None = None
        self.stamp_s: float | None = None
        self.seq = 0
        self.closed = False

    def publish(self, jpeg: bytes, stamp_s: float | None = None) -> None:
        with self.cond:
            self.jpeg, self.stamp_s, self.seq = jpeg, stamp_s, self.seq + 1
            self.cond.notify_all()


def _handler(hub: _MjpegHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/video.mjpg", "/"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            seen = -1
            try:
                while True:
                    with hub.cond:
                        hub.cond.wait_for(lambda s=seen: hub.closed or hub.seq != s, timeout=2.0)
                        if hub.closed:
                            return
                        jpeg, stamp, seen = hub.jpeg, hub.stamp_s, hub.seq
                    if jpeg is None:
                        continue
                    stamp_hdr = b"" if stamp is None else b"X-Timestamp: %.6f\r\n" % stamp
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                     + str(len(jpeg)).encode() + b"\r\n" + stamp_hdr + b"\r\n" + jpeg + b"\r\n")
            except (BrokenPipeError, ConnectionResetError, OSError):
                return

    return Handler


class MjpegServer:
    """HTTP multipart MJPEG on ``127.0.0.1:port`` (``/video.mjpg``); ``stop()`` cuts every client."""

    def __init__(self, port: int, *, host: str = "127.0.0.1") -> None:
        self.hub = _MjpegHub()
        self.host, self.port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/video.mjpg"

    def start(self) -> MjpegServer:
        self.hub.closed = False
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((self.host, self.port), _handler(self.hub))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"mjpeg-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.hub.cond:
            self.hub.closed = True
            self.hub.cond.notify_all()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def publish(self, jpeg: bytes, stamp_s: float | None = None) -> None:
        """Serve ``jpeg`` as the newest frame, stamped ``stamp_s`` (its capture time, unix s) when given."""
        self.hub.publish(jpeg, stamp_s)


class SimAerialCamera:
    """Renders the simulated vehicle's camera view and streams it with the gimbal telemetry."""

    def __init__(self, vehicle, scene: GroundScene, spec: CameraSpec | None = None, *, http_port: int,
                 telemetry_port: int | None = None, telemetry_hz: float = 10.0) -> None:
        self.vehicle, self.scene = vehicle, scene
        self.spec = spec or CameraSpec()
        self.server = MjpegServer(http_port)
        self.telemetry_port, self.telemetry_hz = telemetry_port, telemetry_hz
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.frames = 0
        self._sock: socket.socket | None = None
        self._mav = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> SimAerialCamera:
        self._stop.clear()
        self.server.start()
        if self.telemetry_port:
            from drone_link.link._mav import encoder

            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._mav = encoder(system_id=self.vehicle.cfg.sysid, component_id=154)
        for target, name in ((self._video_loop, "video"), (self._telemetry_loop, "gimbal")):
            t = threading.Thread(target=target, name=f"sim-camera-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(3.0)
        self.server.stop()
        if self._sock:
            self._sock.close()

    # ------------------------------------------------------------------ truth
    def true_state(self) -> tuple[float, float, float, float, float]:
        """(lat, lon, alt_rel_m, yaw_deg, roll_deg/pitch) of the vehicle now, read under its lock."""
        v = self.vehicle
        with v._lock:
            lat, lon = v._latlon()
            return lat, lon, v.kin.alt_rel_m, v.kin.yaw_deg, v.kin.pitch_deg

    def camera_pose(self, state: tuple[float, float, float, float, float] | None = None) -> PinholePose | None:
        lat, lon, alt, yaw, _ = state or self.true_state()
        if alt < 1.0:
            return None
        s = self.spec
        return aerial_pose(lat=lat, lon=lon, alt_agl_m=alt, yaw_deg=(yaw + s.gimbal_yaw_deg) % 360.0,
                           gimbal_pitch_deg=s.gimbal_pitch_deg, intrinsics=s.intrinsics)

    # ------------------------------------------------------------------ loops
    def render_now(self) -> np.ndarray:
        return self.capture()[0]

    def capture(self) -> tuple[np.ndarray, float]:
        """The camera's view now and its capture time (wall clock, s): the moment the
        vehicle's pose was read, before rendering and encoding take their time."""
        v = self.vehicle
        with v._lock:  # the pose and its time together (no other thread's turn between them)
            lat, lon = v._latlon()
            t_s = time.time()
            state = (lat, lon, v.kin.alt_rel_m, v.kin.yaw_deg, v.kin.pitch_deg)
        pose = self.camera_pose(state)
        if pose is None:  # on the ground: the camera sees the pad
            return np.full((self.spec.height_px, self.spec.width_px, 3), 80, np.uint8), t_s
        return render(self.scene, pose), t_s

    def _video_loop(self) -> None:
        period = 1.0 / self.spec.fps
        nxt = time.monotonic()
        while not self._stop.is_set():
            img, t_s = self.capture()
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, self.spec.jpeg_quality])
            if ok:
                self.server.publish(buf.tobytes(), stamp_s=t_s)
                self.frames += 1
            nxt += period
            self._stop.wait(max(0.0, nxt - time.monotonic()))

    def _mount_status(self):
        from drone_link.link._mav import mavlink2

        s = self.spec
        return mavlink2.MAVLink_mount_status_message(0, 0, round(s.gimbal_pitch_deg * 100), 0,
                                                     round(s.gimbal_yaw_deg * 100))

    def _telemetry_loop(self) -> None:
        from drone_link.link._mav import mavlink2

        period = 1.0 / self.telemetry_hz
        v = self.vehicle
        while not self._stop.wait(period):
            with v._lock:
                v._send(self._mount_status())  # next to the vehicle's own telemetry
                if self._mav is None:
                    continue
                lat, lon = v._latlon()
                k = v.kin
                t_ms = int(v.sim_time_s * 1000) & 0xFFFFFFFF
                msgs = [
                    mavlink2.MAVLink_global_position_int_message(
                        t_ms, int(lat * 1e7), int(lon * 1e7), int((v.cfg.home_alt_amsl_m + k.alt_rel_m) * 1000),
                        int(k.alt_rel_m * 1000), int(k.vn_m_s * 100), int(k.ve_m_s * 100), int(-k.vu_m_s * 100),
                        int(k.yaw_deg * 100) % 36000),
                    mavlink2.MAVLink_attitude_message(t_ms, math.radians(k.roll_deg), math.radians(k.pitch_deg),
                                                      math.radians((k.yaw_deg + 180.0) % 360.0 - 180.0), 0, 0, 0),
                    self._mount_status(),
                ]
            for m in msgs:
                try:
                    self._sock.sendto(m.pack(self._mav), ("127.0.0.1", self.telemetry_port))
                except OSError:
                    pass


def place_vehicle(vehicle, *, lat: float, lon: float, alt_rel_m: float, yaw_deg: float = 0.0) -> None:
    """Put the simulated vehicle in a hover (armed, LOITER) at a point: for tests and benchmarks
    that need the camera over a place without flying there first."""
    from drone_link.link.commands import CopterMode

    with vehicle._lock:
        e, n = vehicle._en(lat, lon)
        k = vehicle.kin
        k.e_m, k.n_m, k.alt_rel_m, k.yaw_deg = e, n, alt_rel_m, yaw_deg % 360.0
        k.ve_m_s = k.vn_m_s = k.vu_m_s = 0.0
        vehicle.sim_time_s = max(vehicle.sim_time_s, vehicle.cfg.boot_s)
        vehicle.armed = True
        vehicle.mode = CopterMode.STABILIZE
        vehicle.set_mode(CopterMode.LOITER, reason="placed")
