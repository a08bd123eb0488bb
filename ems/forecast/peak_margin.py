"""Peak-import safety margin learned from the net-load forecast errors of past runs.

The demand charge bills the month's highest metered import. A plan whose import sits exactly at
the month's peak so far sets a new peak whenever the net load is under-forecast. The *net load*
is what the grid and the batteries must cover, ``n = Σ load − Σ PV − Σ wind`` [kW]; its forecast
error, counted the way that raises import, is

    ``e[r, k] = n_actual[s_r + k] − n_forecast[r, k]``  (kW; positive = under-forecast),

for the forecast run ``r`` issued at interval ``s_r`` and lead time ``k`` (intervals ahead). The
margin at lead ``k`` is the ``q``-quantile of ``e[·, k]`` over the runs of a rolling window, not
below zero:

    ``m[k] = max(0, Q_q({e[r, k] : r in window, s_r + k already metered}))``

so that, if the errors of the coming runs resemble those of the window, the import stays at or
below plan + ``m[k]`` with probability ``q``. Quantiles are numpy's default estimator
(``method="linear"``: Hyndman & Fan 1996, definition 7). A lead time with fewer than
``min_samples`` errors takes the quantile of all leads pooled (a short history, or a lead the
window has not yet seen metered); fewer than ``min_samples`` errors in all give a zero margin (no
evidence yet: plan as without one). A negative quantile (net
load systematically over-forecast) gives zero rather than loosening the plan: over-forecasts
already leave room.

Runs are identified by the interval index at which they were issued (a common clock of whole
intervals, e.g. intervals since a simulation start); the caller supplies what was metered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ems.forecast.base import Forecast

DEFAULT_QUANTILE = 0.95  # the import stays within plan + margin in 19 of 20 intervals
DEFAULT_MIN_SAMPLES = 24


def net_load_kw(fc: Forecast) -> np.ndarray:
    """Forecast net load of ``fc``: loads minus local PV and wind [kW] (per interval)."""
    out = np.zeros(fc.T)
    for a in fc.load_kw.values():
        out += a
    for group in (fc.pv_kw, fc.wind_kw):
        for a in group.values():
            out -= a
    return out


def quantiles_from_errors(
    errors: np.ndarray, levels: Sequence[float], min_samples: int = DEFAULT_MIN_SAMPLES
) -> np.ndarray:
    """(levels × leads) quantiles [kW] of a (runs × leads) matrix of errors ``actual − forecast`` (NaN = not
    metered): per lead, pooled over all leads where a lead has fewer than ``min_samples``; all zero when
    there are fewer than ``min_samples`` errors in all (module docstring)."""
    if not all(0 < q < 1 for q in levels):
        raise ValueError(f"quantile levels must be in (0, 1), got {list(levels)}")
    e = np.atleast_2d(np.asarray(errors, dtype=float))
    finite = np.isfinite(e)
    out = np.zeros((len(levels), e.shape[1]))
    if finite.sum() < min_samples:
        return out
    pooled = np.quantile(e[finite], levels)
    for k in range(e.shape[1]):
        col = e[finite[:, k], k]
        out[:, k] = np.quantile(col, levels) if len(col) >= min_samples else pooled
    return out


def margin_from_errors(errors: np.ndarray, quantile: float, min_samples: int = DEFAULT_MIN_SAMPLES) -> np.ndarray:
    """Margin per lead time [kW]: the ``quantile`` of :func:`quantiles_from_errors`, clipped at 0."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    return np.maximum(quantiles_from_errors(errors, [quantile], min_samples)[0], 0.0)


@dataclass
class _Run:
    start: int
    net_kw: np.ndarray


class NetLoadErrorWindow:
    """The net-load forecasts of the last ``window_runs`` runs, scored against metered net load.

    :meth:`record` each issued forecast; :meth:`margin_kw` scores the kept runs against the metered
    net load up to now and returns the margin per lead time for a horizon of ``horizon`` intervals.
    """

    def __init__(
        self,
        horizon: int,
        window_runs: int,
        quantile: float = DEFAULT_QUANTILE,
        min_samples: int = DEFAULT_MIN_SAMPLES,
    ) -> None:
        if horizon < 1 or window_runs < 1:
            raise ValueError(f"horizon ({horizon}) and window_runs ({window_runs}) must be >= 1")
        if not 0 < quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        self.horizon = horizon
        self.quantile = quantile
        self.min_samples = min_samples
        self._runs: deque[_Run] = deque(maxlen=window_runs)

    def record(self, start: int, net_forecast_kw: np.ndarray) -> None:
        """Keep the net-load forecast of the run issued at interval ``start`` (its first interval)."""
        self._runs.append(_Run(start, np.asarray(net_forecast_kw, dtype=float)[: self.horizon].copy()))

    def errors(self, metered_net_kw: np.ndarray, now: int) -> np.ndarray:
        """(runs × leads) errors ``actual − forecast`` of the kept runs over the intervals before ``now``
        (``metered_net_kw[i]``: metered net load of interval ``i``; NaN where not metered)."""
        out = np.full((len(self._runs), self.horizon), np.nan)
        metered = np.asarray(metered_net_kw, dtype=float)
        for r, run in enumerate(self._runs):
            stop = min(now, run.start + len(run.net_kw), len(metered))
            n = stop - run.start
            if n > 0:
                out[r, :n] = metered[run.start : stop] - run.net_kw[:n]
        return out

    def margin_kw(self, metered_net_kw: np.ndarray, now: int) -> np.ndarray:
        """Margin per lead time [kW] (length ``horizon``) from the errors metered before ``now``."""
        return margin_from_errors(self.errors(metered_net_kw, now), self.quantile, self.min_samples)

    def scenario_offsets_kw(self, metered_net_kw: np.ndarray, now: int, n: int) -> np.ndarray:
        """(n × horizon) net-load offsets of ``n`` equiprobable scenarios: the error quantiles at the
        midpoints ``(k + 0.5)/n`` of ``n`` equal-probability bands (scenario-based MPC)."""
        levels = [(k + 0.5) / n for k in range(n)]
        return quantiles_from_errors(self.errors(metered_net_kw, now), levels, self.min_samples)
