"""Device behaviour of the park simulator, as plain Python on top of :mod:`ems.synthetic`.

Time is simulated: ``t_sim = start + speed · (wall clock elapsed)``. Exogenous
series (irradiance with clouds, wind speed, load shapes with noise) are generated
one simulated day at a time at 1-minute resolution from ``numpy.random.default_rng
((seed, device index, day index))``, so every run with the same seed and start is
identical however the requests happen to be timed. Powers are kW in the generator
convention (loads negative, battery positive while discharging).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ems import profiles, synthetic
from ems.park import Battery, Load, Location, PvPlant, WindTurbine
from ems.parktime import Zone

MINUTES_PER_DAY = 1440
# A simulated PV inverter's DC side (SunSpec 160): a 1,100 V string system near its MPP voltage, and a
# European-weighted conversion efficiency typical of string inverters' datasheets.
DC_V_MPP = 620.0
DC_V_MAX = 1500.0
INVERTER_EFFICIENCY = 0.98
# A simulated battery's strings (SunSpec 803): 16 modules of 15 LFP cells in series (a ~770 V string),
# the cell voltage ~3.2 V on its plateau, from 3.1 V empty to 3.35 V full.
MODULES_PER_STRING = 16
CELLS_PER_STRING = MODULES_PER_STRING * 15
LFP_CELL_V_MIN = 3.1


@dataclass
class SimClock:
    start: dt.datetime
    speed: float = 1.0
    _t0: float = field(default_factory=time.monotonic)

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.speed * (time.monotonic() - self._t0))


class DailySeries:
    """A 1-minute series generated per simulated day by ``make(times_utc, rng)``; linear interpolation."""

    def __init__(
        self, origin: dt.datetime, seed: tuple[int, ...], make: Callable[[np.ndarray, np.random.Generator], np.ndarray]
    ):
        self.origin = origin
        self.seed = seed
        self.make = make
        self._cache: dict[int, np.ndarray] = {}

    def _day(self, k: int) -> np.ndarray:
        if k not in self._cache:
            if len(self._cache) > 3:
                self._cache.pop(min(self._cache))
            t0 = np.datetime64(self.origin.replace(tzinfo=None), "m") + np.timedelta64(k * MINUTES_PER_DAY, "m")
            times = t0 + np.arange(MINUTES_PER_DAY + 1).astype("timedelta64[m]")
            self._cache[k] = self.make(times, np.random.default_rng((*self.seed, k)))
        return self._cache[k]

    def at(self, t: dt.datetime) -> float:
        minutes = (t - self.origin).total_seconds() / 60.0
        k = int(minutes // MINUTES_PER_DAY)
        x = minutes - k * MINUTES_PER_DAY
        day = self._day(k)
        i = int(x)
        return float(day[i] + (day[i + 1] - day[i]) * (x - i))


def pv_series(
    dev: PvPlant, loc: Location, origin: dt.datetime, seed: tuple[int, ...], cloudiness: float
) -> DailySeries:
    """Available PV power [kW]: clear-sky GHI (Haurwitz) × cloud index, through ``pv_power_kw``."""

    def make(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        ghi = profiles.clear_sky_ghi(times, loc.latitude, loc.longitude, loc.altitude_m)
        return synthetic.pv_output_kw(dev, ghi * profiles.clear_sky_index(len(times), rng, cloudiness))

    return DailySeries(origin, seed, make)


def wind_speed(origin: dt.datetime, seed: tuple[int, ...], tz: Zone, mean_m_s: float = 7.0) -> DailySeries:
    return DailySeries(origin, seed, lambda t, rng: profiles.wind_speed_series(t, rng, mean_m_s, tz=tz))


def load_series(dev: Load, origin: dt.datetime, seed: tuple[int, ...], tz: Zone) -> DailySeries:
    """Consumption [kW, positive] from the category's shape at park time ``tz`` with 2 % noise."""
    return DailySeries(origin, seed, lambda t, rng: synthetic.load_output_kw(dev, t, tz, rng))


@dataclass
class BatteryState:
    """Battery energy balance, integrated whenever the simulator looks at it.

    ``dE/dt = -p/η_d`` while discharging (p > 0), ``-p·η_c`` while charging (p < 0),
    minus ``self_discharge_per_h · E``; p is the setpoint clamped to the power ratings
    and set to 0 when it would push SOC beyond [soc_min, soc_max].
    """

    dev: Battery
    soc: float
    setpoint_kw: float = 0.0
    p_kw: float = 0.0
    e_out_kwh: float = 0.0
    e_in_kwh: float = 0.0

    def power_for(self, setpoint_kw: float) -> float:
        d = self.dev
        p = min(max(setpoint_kw, -d.p_charge_max_kw), d.p_discharge_max_kw)
        if (p > 0 and self.soc <= d.soc_min) or (p < 0 and self.soc >= d.soc_max):
            return 0.0
        return p

    def advance(self, hours: float) -> None:
        """Integrate over ``hours`` at the current setpoint; the SOC limit cuts the power when reached."""
        if hours <= 0:
            return
        d = self.dev
        p = self.power_for(self.setpoint_kw)
        e = self.soc * d.e_rated_kwh
        rate = -p / d.eta_discharge if p > 0 else -p * d.eta_charge  # kWh/h into the cells
        rate -= d.self_discharge_per_h * e
        e_new = e + rate * hours
        lo, hi = d.soc_min * d.e_rated_kwh, d.soc_max * d.e_rated_kwh
        if p != 0 and not lo <= e_new <= hi:
            # the limit is reached inside the step: only the part up to the limit flows
            bound = lo if e_new < lo else hi
            frac = (bound - e) / (e_new - e) if e_new != e else 0.0
            hours_used = hours * max(0.0, min(1.0, frac))
            e_new = bound
        else:
            hours_used = hours
        self.soc = min(max(e_new / d.e_rated_kwh, 0.0), 1.0)
        self.e_out_kwh += max(p, 0.0) * hours_used
        self.e_in_kwh += max(-p, 0.0) * hours_used
        self.p_kw = self.power_for(self.setpoint_kw)


def wind_power(dev: WindTurbine, v_m_s: float) -> float:
    return float(synthetic.wind_output_kw(dev, np.array([v_m_s]))[0])
