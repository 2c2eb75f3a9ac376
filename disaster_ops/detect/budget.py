"""How many model runs a watcher may start per tick.

A token bucket filled at ``rate_per_s`` (at most two ticks' worth, so a quiet tick does not
bank a burst). The rate starts at the configured cap and adapts to the CPU the worker
really gets: when a tick overruns most of its period (other processes took the cores, or
the cap was set too high), the rate shrinks by a factor; when ticks fit easily it grows
back towards the cap. Frames due beyond the budget wait in the runner's queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_RATE_PER_S = 0.2  # never stop checking altogether
SHRINK = 0.7  # rate factor after a tick that overran
GROW = 1.05  # rate factor after a tick that fitted easily
OVERRUN_SHARE = 0.8  # a tick longer than this share of the period overran
EASY_SHARE = 0.5  # a tick shorter than this share of the period fitted easily


@dataclass
class ModelBudget:
    max_per_s: float  # the configured cap (watch --model-runs-per-s)
    period_s: float  # the sampling tick, s
    rate_per_s: float = field(init=False)
    tokens: float = 0.0

    def __post_init__(self) -> None:
        if self.max_per_s <= 0 or self.period_s <= 0:
            raise ValueError("model budget and tick period must be positive")
        self.rate_per_s = self.max_per_s

    def allow(self) -> int:
        """Runs allowed this tick (call once per tick, then :meth:`used`)."""
        per_tick = self.rate_per_s * self.period_s
        self.tokens = min(self.tokens + per_tick, max(1.0, 2 * per_tick))
        return int(self.tokens)

    def used(self, runs: int) -> None:
        self.tokens -= runs

    def observe(self, tick_s: float) -> None:
        """Adapt the rate to how long the last tick took (wall time)."""
        if tick_s > OVERRUN_SHARE * self.period_s:
            self.rate_per_s = max(MIN_RATE_PER_S, self.rate_per_s * SHRINK)
        elif tick_s < EASY_SHARE * self.period_s:
            self.rate_per_s = min(self.max_per_s, self.rate_per_s * GROW + 0.05)
