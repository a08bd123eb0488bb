"""Forecast data types and the forecaster interface.

A forecaster turns the history of one series (average power per interval, NaN where
nothing was measured) into values for target interval starts. Times are UTC
``datetime64[us]`` interval starts; powers kW (loads as consumption, positive).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class History:
    """A regular series: ``values[i]`` is the average over the interval starting ``times[i]``."""

    times: np.ndarray
    values: np.ndarray
    interval_minutes: int

    def __post_init__(self) -> None:
        if len(self.times) != len(self.values):
            raise ValueError(f"history: {len(self.times)} times but {len(self.values)} values")

    @property
    def step(self) -> np.timedelta64:
        return np.timedelta64(self.interval_minutes, "m")

    def at(self, times: np.ndarray) -> np.ndarray:
        """Values at ``times`` (NaN where the history has no interval there)."""
        if len(self.times) == 0:
            return np.full(len(times), np.nan)
        k = (np.asarray(times, dtype="datetime64[us]") - self.times[0]) // self.step.astype("timedelta64[us]")
        k = np.asarray(k, dtype=np.int64)
        ok = (k >= 0) & (k < len(self.values))
        out = np.full(len(times), np.nan)
        out[ok] = self.values[k[ok]]
        return out

    def last_valid(self) -> float:
        """Latest finite value (NaN when there is none)."""
        finite = np.flatnonzero(np.isfinite(self.values))
        return float(self.values[finite[-1]]) if finite.size else float("nan")


class Forecaster(Protocol):
    """Anything that can forecast one series from its history."""

    name: str

    def forecast(self, history: History, times: np.ndarray) -> np.ndarray:
        """Values for the intervals starting at ``times`` (never NaN)."""
        ...


@dataclass
class Forecast:
    """Per-interval forecasts of a park for one horizon (kW; loads as consumption, positive).

    ``methods`` records which forecaster produced each device's series (provenance).
    """

    start: dt.datetime
    interval_minutes: int
    pv_kw: dict[str, np.ndarray] = field(default_factory=dict)
    wind_kw: dict[str, np.ndarray] = field(default_factory=dict)
    load_kw: dict[str, np.ndarray] = field(default_factory=dict)
    direct_avail_kw: dict[str, np.ndarray] = field(default_factory=dict)
    ef_kg_per_kwh: np.ndarray | None = None
    ef_source: str = ""
    import_price: np.ndarray | None = None
    methods: dict[str, str] = field(default_factory=dict)

    @property
    def T(self) -> int:
        for group in (self.load_kw, self.pv_kw, self.wind_kw):
            for a in group.values():
                return len(a)
        return 0

    @property
    def times(self) -> np.ndarray:
        """Interval starts, UTC ``datetime64[us]``."""
        return interval_times(self.start, self.T, self.interval_minutes)


def interval_times(start: dt.datetime, n: int, interval_minutes: int) -> np.ndarray:
    """UTC ``datetime64[us]`` starts of ``n`` intervals from the aware ``start``."""
    s = np.datetime64(start.astimezone(dt.UTC).replace(tzinfo=None), "us")
    return s + np.timedelta64(interval_minutes, "m").astype("timedelta64[us]") * np.arange(n)
