"""Load forecast from similar days.

``L̂(t) = mean over the last ``days`` days d of the same day type (working day / weekend,
park-local calendar) of L(t − d)``; when no similar day has a value, any of the last days;
then persistence. Industrial parks follow the shift calendar, so same-type days predict
the shape better than yesterday alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ems.forecast.base import History
from ems.forecast.persistence import Persistence
from ems.parktime import DEFAULT_TIMEZONE, is_weekend


@dataclass
class SimilarDayLoad:
    """Mean of the same time on the last ``days`` days of the same day type."""

    days: int = 14
    timezone: str = DEFAULT_TIMEZONE  # the park calendar that decides weekends
    name: str = "similar_day_load"

    def forecast(self, history: History, times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype="datetime64[us]")
        day = np.timedelta64(1, "D").astype("timedelta64[us]")
        target_weekend = is_weekend(times, self.timezone)
        same_sum = np.zeros(len(times))
        same_n = np.zeros(len(times))
        any_sum = np.zeros(len(times))
        any_n = np.zeros(len(times))
        for d in range(1, self.days + 1):
            past = times - d * day
            v = history.at(past)
            ok = np.isfinite(v)
            same = ok & (is_weekend(past, self.timezone) == target_weekend)
            same_sum[same] += v[same]
            same_n[same] += 1
            any_sum[ok] += v[ok]
            any_n[ok] += 1
        out = np.where(same_n > 0, same_sum / np.maximum(same_n, 1), np.nan)
        out = np.where(np.isnan(out) & (any_n > 0), any_sum / np.maximum(any_n, 1), out)
        missing = np.isnan(out)
        if missing.any():
            out[missing] = Persistence().forecast(history, times[missing])
        return out
