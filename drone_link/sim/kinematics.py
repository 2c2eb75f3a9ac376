"""Point-mass multicopter kinematics in a local east/north/up frame (metres, seconds).

Enough physics for a believable demo and for tests: acceleration-limited horizontal
motion that slows down before a target, separate climb/descent rates, yaw following the
track, and roll/pitch derived from acceleration plus a drag tilt proportional to speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

G_M_S2 = 9.80665


@dataclass
class Kinematics:
    e_m: float = 0.0
    n_m: float = 0.0
    alt_rel_m: float = 0.0
    ve_m_s: float = 0.0
    vn_m_s: float = 0.0
    vu_m_s: float = 0.0
    yaw_deg: float = 0.0
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    accel_m_s2: float = 3.0
    climb_m_s: float = 2.5
    descent_m_s: float = 1.5
    odometer_m: float = 0.0

    @property
    def ground_speed_m_s(self) -> float:
        return math.hypot(self.ve_m_s, self.vn_m_s)

    @property
    def on_ground(self) -> bool:
        return self.alt_rel_m <= 0.05 and self.vu_m_s <= 0.0

    def horizontal_distance_m(self, e_m: float, n_m: float) -> float:
        return math.hypot(e_m - self.e_m, n_m - self.n_m)

    def step(self, dt_s: float, *, target_en_m: tuple[float, float] | None,
             target_alt_m: float | None, speed_m_s: float, vertical_speed_m_s: float | None = None) -> None:
        """Advance ``dt_s``: fly toward the target (None = stop and hold that axis)."""
        a = self.accel_m_s2
        # horizontal
        if target_en_m is None:
            des_e = des_n = 0.0
        else:
            de, dn = target_en_m[0] - self.e_m, target_en_m[1] - self.n_m
            d = math.hypot(de, dn)
            if d < 1e-6:
                des_e = des_n = 0.0
            else:
                v = min(speed_m_s, math.sqrt(2 * a * d), d / max(dt_s, 1e-6))
                des_e, des_n = de / d * v, dn / d * v
        dve, dvn = des_e - self.ve_m_s, des_n - self.vn_m_s
        dv = math.hypot(dve, dvn)
        max_dv = a * dt_s
        if dv > max_dv:
            dve, dvn = dve / dv * max_dv, dvn / dv * max_dv
        self.ve_m_s += dve
        self.vn_m_s += dvn
        self.e_m += self.ve_m_s * dt_s
        self.n_m += self.vn_m_s * dt_s
        self.odometer_m += self.ground_speed_m_s * dt_s
        # vertical
        if target_alt_m is None:
            des_u = 0.0
        else:
            dz = target_alt_m - self.alt_rel_m
            rate = vertical_speed_m_s
            des_u = max(-(rate or self.descent_m_s), min(rate or self.climb_m_s, dz * 1.0))
            if abs(dz) < 0.02:
                des_u = dz / max(dt_s, 1e-6)
        self.vu_m_s += max(-a * dt_s, min(a * dt_s, des_u - self.vu_m_s))
        self.alt_rel_m += self.vu_m_s * dt_s
        if self.alt_rel_m <= 0.0:
            self.alt_rel_m = 0.0
            self.vu_m_s = max(0.0, self.vu_m_s)
        self._attitude(dt_s, dve / max(dt_s, 1e-6), dvn / max(dt_s, 1e-6))

    def _attitude(self, dt_s: float, acc_e: float, acc_n: float) -> None:
        speed = self.ground_speed_m_s
        if speed > 1.0:
            want = math.degrees(math.atan2(self.ve_m_s, self.vn_m_s)) % 360.0
            diff = (want - self.yaw_deg + 540.0) % 360.0 - 180.0
            max_turn = 90.0 * dt_s
            self.yaw_deg = (self.yaw_deg + max(-max_turn, min(max_turn, diff))) % 360.0
        yaw = math.radians(self.yaw_deg)
        fwd = acc_e * math.sin(yaw) + acc_n * math.cos(yaw)
        right = acc_e * math.cos(yaw) - acc_n * math.sin(yaw)
        drag_tilt = min(25.0, 1.5 * speed)
        self.pitch_deg = max(-35.0, min(35.0, -math.degrees(math.atan2(fwd, G_M_S2)) - drag_tilt))
        self.roll_deg = max(-35.0, min(35.0, math.degrees(math.atan2(right, G_M_S2))))
        if self.on_ground:
            self.pitch_deg = self.roll_deg = 0.0
