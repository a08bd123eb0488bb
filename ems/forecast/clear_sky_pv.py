"""PV forecast: clear-sky output for the park's location scaled by recent performance.

``P̂(t) = k · min(dc_kwp · PR · GHI_cs(t) / 1000, p_rated)`` with ``GHI_cs`` from
:func:`ems.profiles.clear_sky_ghi` (Haurwitz, solar position by pvlib SPA) and
``k = Σ P_measured / Σ P_clear_sky`` over the daylight intervals of the last
``lookback_days`` (clipped to [0, 1.2]); ``k = default_index`` without usable history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ems.constants import PV_PERFORMANCE_RATIO
from ems.forecast.base import History
from ems.profiles import clear_sky_ghi, pv_power_kw


@dataclass
class ClearSkyPv:
    """Clear-sky × recent clear-sky index, for one PV plant."""

    latitude: float
    longitude: float
    dc_kwp: float
    p_rated_kw: float
    performance_ratio: float = PV_PERFORMANCE_RATIO
    altitude_m: float = 0.0
    lookback_days: int = 3
    default_index: float = 0.75
    clear_sky_ghi_fn: Callable[[np.ndarray], np.ndarray] | None = None
    name: str = "clear_sky_pv"

    def clear_sky_kw(self, times: np.ndarray) -> np.ndarray:
        """Output under clear sky [kW]; ``clear_sky_ghi_fn`` (times -> W/m²) may supply precomputed GHI."""
        if self.clear_sky_ghi_fn is not None:
            ghi = self.clear_sky_ghi_fn(times)
        else:
            ghi = clear_sky_ghi(times, self.latitude, self.longitude, self.altitude_m)
        return pv_power_kw(ghi, self.dc_kwp, self.p_rated_kw, self.performance_ratio)

    def recent_index(self, history: History) -> float:
        """Measured / clear-sky energy over the daylight intervals of the lookback window."""
        if len(history.times) == 0:
            return self.default_index
        end = history.times[-1]
        window = history.times > end - np.timedelta64(self.lookback_days, "D")
        t = history.times[window]
        y = history.values[window]
        cs = self.clear_sky_kw(t)
        day = (cs > 0.05 * self.p_rated_kw) & np.isfinite(y)
        if cs[day].sum() <= 0:
            return self.default_index
        return float(np.clip(y[day].sum() / cs[day].sum(), 0.0, 1.2))

    def forecast(self, history: History, times: np.ndarray) -> np.ndarray:
        return np.minimum(self.recent_index(history) * self.clear_sky_kw(times), self.p_rated_kw)
