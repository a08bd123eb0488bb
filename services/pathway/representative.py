"""Representative days (``tsam``, hierarchical clustering of whole days) instead of all hours of the year.

Each cluster's representative day stands for the days assigned to it (``weight`` = that count per
hour). What changes against the full year, stated so the error can be judged (and it is measured,
:func:`representative_error`):

* the battery starts each representative day at its floor (no energy carried across days or seasons);
* the twelve settlement months become one: contracts are one flat monthly volume (``months`` = the
  months covered), the demand charge is the year's peak times the number of months;
* the plan cannot be run through ``ems.carbon`` hour by hour (no chronology): the report shows the
  model's own bound only.

tsam instead of hand-written k-means: it clusters whole periods with several methods, keeps column
means (so annual energies are right) and reports its own accuracy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import tsam

from services.pathway.data import SizingData
from services.pathway.solve import SizingResult

_COLUMNS = ("load_kw", "price_cny_per_kwh", "re_existing_kw", "cf_pv", "cf_wind", "cf_direct", "direct_existing_kw")


def representative_periods(data: SizingData, days: int) -> SizingData:
    """``data`` reduced to ``days`` representative days (full days of chronological hours in, weight 1)."""
    if data.T % 24 or not np.all(data.weight == 1.0):
        raise ValueError("representative periods need whole days of chronological hours")
    n_days = data.T // 24
    if days >= n_days:
        return data
    frame = pd.DataFrame(
        {c: getattr(data, c) for c in _COLUMNS},
        index=pd.DatetimeIndex(data.starts.astype("datetime64[ns]")),
    )
    result = tsam.aggregate(frame, days, period_duration=24, cluster=tsam.ClusterConfig(method="hierarchical"))
    reps = result.cluster_representatives
    assign = np.asarray(result.cluster_assignments)
    counts = np.bincount(assign, minlength=days).astype(float)
    clusters = [c for c in range(days) if counts[c] > 0]
    series = {c: np.concatenate([reps.loc[k][c].to_numpy(dtype=float) for k in clusters]) for c in _COLUMNS}
    weight = np.repeat(counts[clusters], 24)
    first_day = [int(np.flatnonzero(assign == k)[0]) for k in clusters]
    starts = np.concatenate([data.starts[24 * d : 24 * d + 24] for d in first_day])
    T = 24 * len(clusters)
    return dataclasses.replace(
        data,
        starts=starts,
        weight=weight,
        month=np.zeros(T, dtype=int),
        period_start=np.arange(T) % 24 == 0,
        months_weight=np.array([float(len(data.months_weight))]),
        # the weighted hours equal the original ones, so costs and caps keep their annual meaning
        **{c: np.maximum(series[c], 0.0) for c in _COLUMNS},
    )


@dataclass(frozen=True)
class RepresentativeError:
    days: int
    cost_rel: float  # (representative − full) / full
    capacity_abs: dict[str, float]  # representative − full, per candidate [kW or kWh]
    co2_rel: float


def representative_error(full: SizingResult, rep: SizingResult, days: int) -> RepresentativeError:
    return RepresentativeError(
        days=days,
        cost_rel=(rep.objective_cny - full.objective_cny) / full.objective_cny,
        capacity_abs={k: rep.capacity[k] - v for k, v in full.capacity.items()},
        co2_rel=(rep.co2_t - full.co2_t) / full.co2_t if full.co2_t else 0.0,
    )
