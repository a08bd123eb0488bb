"""Forecast accuracy against what was then measured.

Over the intervals where both are finite: ``MAE = mean|ŷ − y|``, ``RMSE = sqrt(mean (ŷ − y)²)``,
``bias = mean(ŷ − y)`` (positive = over-forecast), all in the series' unit (kW), plus the
count of intervals used and the skill against persistence ``1 − MAE / MAE_persistence``
when a persistence forecast is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Accuracy:
    mae: float
    rmse: float
    bias: float
    n: int
    skill_vs_persistence: float | None = None


def accuracy(forecast: np.ndarray, actual: np.ndarray, persistence: np.ndarray | None = None) -> Accuracy:
    """MAE, RMSE and bias of ``forecast`` against ``actual`` (NaN intervals ignored; n = 0 -> NaN)."""
    f = np.asarray(forecast, dtype=float)
    a = np.asarray(actual, dtype=float)
    if f.shape != a.shape:
        raise ValueError(f"forecast has shape {f.shape}, actual {a.shape}")
    ok = np.isfinite(f) & np.isfinite(a)
    n = int(ok.sum())
    if n == 0:
        return Accuracy(float("nan"), float("nan"), float("nan"), 0)
    err = f[ok] - a[ok]
    mae = float(np.mean(np.abs(err)))
    skill = None
    if persistence is not None:
        p_err = np.abs(np.asarray(persistence, dtype=float)[ok] - a[ok])
        p_mae = float(np.nanmean(p_err))
        skill = 1.0 - mae / p_mae if p_mae > 0 else None
    return Accuracy(mae, float(np.sqrt(np.mean(err**2))), float(np.mean(err)), n, skill)
