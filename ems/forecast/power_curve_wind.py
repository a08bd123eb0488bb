"""Wind forecast: a wind-speed forecast through the turbines' power curve.

``P̂(t) = count · p_rated · curve(v̂(t))`` (linear interpolation, 0 above cut-out:
:func:`ems.profiles.wind_power_kw`). The speed forecast ``v̂`` is a supplied series
(e.g. NWP) when given, otherwise the last measured speed relaxing to the recent mean:
``v̂(t) = v̄ + (v_last − v̄)·exp(−(t − t_last)/τ)``, ``τ = relax_hours``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ems.forecast.base import History
from ems.profiles import wind_power_kw


@dataclass
class PowerCurveWind:
    """Power-curve forecast for one wind device (``count`` identical turbines)."""

    p_rated_kw: float
    power_curve: list[tuple[float, float]]
    count: int = 1
    cut_out_m_s: float = 25.0
    relax_hours: float = 6.0
    mean_days: int = 7
    name: str = "power_curve_wind"

    def speed_forecast(self, speed_history: History, times: np.ndarray) -> np.ndarray:
        """Relaxation of the last measured speed to the mean of the last ``mean_days`` [m/s]."""
        finite = np.flatnonzero(np.isfinite(speed_history.values))
        if finite.size == 0:
            return np.zeros(len(times))
        t_last = speed_history.times[finite[-1]]
        v_last = float(speed_history.values[finite[-1]])
        recent = speed_history.times > t_last - np.timedelta64(self.mean_days, "D")
        v_mean = float(np.nanmean(speed_history.values[recent]))
        lead_h = (np.asarray(times, dtype="datetime64[us]") - t_last).astype(np.int64) / 3.6e9
        return v_mean + (v_last - v_mean) * np.exp(-np.maximum(lead_h, 0.0) / self.relax_hours)

    def power(self, speed_m_s: np.ndarray) -> np.ndarray:
        """Device output for hub-height speeds [kW]."""
        return self.count * wind_power_kw(speed_m_s, self.p_rated_kw, self.power_curve, self.cut_out_m_s)

    def forecast(self, history: History, times: np.ndarray) -> np.ndarray:
        """``history`` is the *wind-speed* series of the device."""
        return self.power(self.speed_forecast(history, times))
