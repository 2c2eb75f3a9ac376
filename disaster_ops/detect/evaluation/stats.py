"""Confidence intervals for small evaluation sets: Wilson for rates, bootstrap for F1."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95 % interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict:
        return {"value": round(self.value, 4), "ci95": [round(self.low, 4), round(self.high, 4)]}

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """Wilson score interval of a binomial rate (sensible at 0 and n, unlike the normal one)."""
    if n <= 0:
        return Interval(0.0, 0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def f1_of(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    return 2 * tp / np.maximum(1, 2 * tp + fp + fn)


def bootstrap_f1(pos: np.ndarray, hit: np.ndarray, *, reps: int = 2000, seed: int = 0) -> Interval:
    """F1 over images with a percentile bootstrap interval (images resampled with replacement).

    Args:
        pos: bool per image, the kind is truly present.
        hit: bool per image, the detector reported the kind.
    """
    pos, hit = np.asarray(pos, bool), np.asarray(hit, bool)
    n = len(pos)
    tp, fp, fn = pos & hit, ~pos & hit, pos & ~hit
    value = float(f1_of(tp.sum(), fp.sum(), fn.sum()))
    if n == 0:
        return Interval(0.0, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(reps, n))
    f = f1_of(tp[idx].sum(1), fp[idx].sum(1), fn[idx].sum(1))
    return Interval(value, float(np.percentile(f, 2.5)), float(np.percentile(f, 97.5)))


def _poisson_cdf(k: int, lam: float) -> float:
    term = total = math.exp(-lam)
    for i in range(1, k + 1):
        term *= lam / i
        total += term
    return total


def _solve(f, lo: float, hi: float) -> float:
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def poisson_rate_ci(events: int, exposure: float) -> Interval:
    """Rate of ``events`` over ``exposure`` (e.g. camera-hours) with the exact (Garwood) 95 % interval."""
    if exposure <= 0:
        return Interval(0.0, 0.0, math.inf)
    hi = _solve(lambda lam: _poisson_cdf(events, lam) - 0.025, 0.0, 10.0 * events + 20.0)
    lo = 0.0 if events == 0 else _solve(lambda lam: _poisson_cdf(events - 1, lam) - 0.975, 0.0, 10.0 * events + 20.0)
    return Interval(events / exposure, lo / exposure, hi / exposure)
