"""Persistence: the floor every other forecaster must beat.

``ŷ(t) = y(t − period)`` (default one day: "same time yesterday"), where that value is
missing the latest measured value, and 0 when the history is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ems.forecast.base import History


@dataclass
class Persistence:
    """Seasonal-naive forecast with period ``period_minutes`` (0 = last value only)."""

    period_minutes: int = 24 * 60
    name: str = "persistence"

    def forecast(self, history: History, times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype="datetime64[us]")
        last = history.last_valid()
        fallback = 0.0 if np.isnan(last) else last
        if self.period_minutes <= 0:
            return np.full(len(times), fallback)
        lag = np.timedelta64(self.period_minutes, "m").astype("timedelta64[us]")
        out = history.at(times - lag)
        # beyond one period ahead, repeat the pattern: look back whole periods until inside the history
        for k in range(2, 8):
            missing = np.isnan(out)
            if not missing.any():
                break
            out[missing] = history.at(times[missing] - k * lag)
        return np.where(np.isnan(out), fallback, out)
