"""Hourly matching and the 24/7 carbon-free-energy (CFE) score.

Carbon-free energy consumed in an interval (from :mod:`ems.carbon.accounting`)::

    cfe_t = local renewables consumed + direct green consumed
            + grid-to-load * (time-matched contract deliveries / grid import)
            + discharge-to-load * (carbon-free share of the storage pool)

Green-contract volumes recorded only per period and certificates are not time-matched and
do not count here (they do count in the market-based method). Grid-mix electricity counts
as not carbon-free (no hourly grid CFE data is metered).

Hourly share ``s_h = sum_{t in h} cfe_t / sum_{t in h} K_t``; period score
``CFE = sum_h sum_{t in h} cfe_t / sum_h K_h`` (consumption-weighted mean of hourly shares).
Matching is done interval by interval and summed to hours, so surplus renewable energy in one
quarter-hour never covers another quarter-hour's deficit (it is charged or exported instead).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ems.carbon.aggregate import group_index, group_sum, milli_to_decimal, ratio, to_milli


@dataclass(frozen=True)
class HourlyMatch:
    time: dt.datetime  # local hour start
    consumption_kwh: Decimal
    cfe_kwh: Decimal
    share: Decimal | None


@dataclass(frozen=True)
class MatchingResult:
    hours: list[HourlyMatch]
    cfe_score: Decimal | None  # in [0, 1]
    consumption_kwh: Decimal
    cfe_kwh: Decimal
    hours_fully_matched: int


def hourly_matching(starts: np.ndarray, tz: str, cfe_kwh: np.ndarray, consumption_kwh: np.ndarray) -> MatchingResult:
    """Hourly CFE shares and the period score (see module docstring)."""
    codes, labels = group_index(starts, tz, "hour")
    n = len(labels)
    c = group_sum(to_milli(cfe_kwh), codes, n)
    k = group_sum(to_milli(consumption_kwh), codes, n)
    c = np.minimum(c, k)  # rounding can never make an hour more than fully matched
    hours = [
        HourlyMatch(labels[j], milli_to_decimal(k[j]), milli_to_decimal(c[j]), ratio(int(c[j]), int(k[j])))
        for j in range(n)
    ]
    total_c, total_k = int(c.sum()), int(k.sum())
    full = int(np.sum((k > 0) & (c == k)))
    return MatchingResult(hours, ratio(total_c, total_k), milli_to_decimal(total_k), milli_to_decimal(total_c), full)
