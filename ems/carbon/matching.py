"""Carbon-free-energy (CFE) scores under three named definitions.

Every score is ``sum_h matched_h / sum_h K_h`` over the hours h of the period (K = park
consumption, :mod:`ems.carbon.accounting`); the definitions differ in what counts as matched.
Per interval t (all from :class:`~ems.carbon.accounting.Accounts`)::

    cfe_t = re_to_load + direct_to_load + grid_to_load * C_t / I_t + discharge_to_load * s_t

with ``C_t = min(contract deliveries_t, I_t)`` (time-matched deliveries only) and ``s_t`` the
carbon-free share of the storage pool (energy conserved through storage, losses deducted).

* ``ems-storage-aware-interval`` (this project's variant, the only one that was reported before
  issue 19): ``matched_h = sum_{t in h} cfe_t``. Matching per metering interval (15 min), time-matched
  contracts capped at the interval's grid import, clean energy carried through storage, grid mix
  counted as not carbon-free.
* ``energytag-hourly`` (hourly matching as in the EnergyTag Granular Certificate Scheme Standard
  and the GHG Protocol Scope 2 revision's hourly matching): matching per hour, so time-matched
  contract deliveries the intervals' grid import could not take (``contract_excess``) still match
  the rest of the hour's consumption: ``matched_h = min(K_h, sum_{t in h} (cfe_t + contract_excess_t))``.
  Storage follows EnergyTag's storage rule (discharge carries the charged certificates less
  losses, i.e. ``s_t``); grid mix counts as not carbon-free; certificates without an hourly
  production timestamp (GEC) do not count.
* ``google-24x7`` (Google's 24/7 CFE score): the hourly-matched energy above plus the grid's
  carbon-free share ``f_h`` of the rest of the hour's consumption:
  ``matched_h = m_h + (K_h - m_h) * f_h`` with ``m_h`` the ``energytag-hourly`` matched energy and
  ``f_h`` the mean of the interval grid carbon-free shares of the hour (an input series). Not
  available when no grid carbon-free share is known.

Rounding: interval energies are rounded to Wh first (:mod:`ems.carbon.aggregate`), hourly sums and
minima are exact integers of Wh, the Google grid credit of an hour is rounded half-to-even to a Wh,
the score is the exact quotient rounded to 0.000001.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from ems.carbon.accounting import Accounts
from ems.carbon.aggregate import group_index, group_sum, milli_to_decimal, ratio, to_milli


@dataclass(frozen=True)
class CfeDefinition:
    name: str
    title: str
    source: str
    matched: str  # the formula, for the report


DEFINITIONS = {
    d.name: d
    for d in (
        CfeDefinition(
            "ems-storage-aware-interval",
            "EMS storage-aware interval CFE score (this project's variant)",
            "docs/carbon_methodology.md section 6",
            "matched_h = sum_t cfe_t; cfe_t = renewables consumed + direct green consumed "
            "+ grid_to_load * min(contract_t, I_t) / I_t + discharge_to_load * pool carbon-free share",
        ),
        CfeDefinition(
            "energytag-hourly",
            "Hourly matching score (EnergyTag granular certificates; GHG Protocol Scope 2 hourly matching)",
            "EnergyTag Granular Certificate Scheme Standard; GHG Protocol Scope 2 revision (hourly matching)",
            "matched_h = min(K_h, sum_t (cfe_t + contract_excess_t)); grid mix not counted",
        ),
        CfeDefinition(
            "google-24x7",
            "24/7 CFE score (Google), grid carbon-free share credited",
            "Google, 24/7 Carbon-Free Energy: Methodologies and Metrics (2021)",
            "matched_h = m_h + (K_h - m_h) * grid_cfe_share_h, m_h = energytag-hourly matched energy",
        ),
    )
}


@dataclass(frozen=True)
class HourlyMatch:
    time: dt.datetime  # local hour start
    consumption_kwh: Decimal
    cfe_kwh: Decimal
    share: Decimal | None


@dataclass(frozen=True)
class MatchingResult:
    definition: str  # key of DEFINITIONS
    hours: list[HourlyMatch]
    cfe_score: Decimal | None  # in [0, 1]; None without consumption or without the needed input
    consumption_kwh: Decimal
    cfe_kwh: Decimal
    hours_fully_matched: int
    note: str = ""


def _result(
    definition: str, labels: list[dt.datetime], matched: np.ndarray, k: np.ndarray, note: str = ""
) -> MatchingResult:
    hours = [
        HourlyMatch(labels[j], milli_to_decimal(k[j]), milli_to_decimal(matched[j]), ratio(int(matched[j]), int(k[j])))
        for j in range(len(labels))
    ]
    total_m, total_k = int(matched.sum()), int(k.sum())
    full = int(np.sum((k > 0) & (matched == k)))
    return MatchingResult(
        definition, hours, ratio(total_m, total_k), milli_to_decimal(total_k), milli_to_decimal(total_m), full, note
    )


def _hourly(acc: Accounts, tz: str) -> tuple[np.ndarray, list[dt.datetime], int]:
    codes, labels = group_index(acc.flows.starts, tz, "hour")
    return codes, labels, len(labels)


def storage_aware_interval(acc: Accounts, tz: str, grid_cfe_share: np.ndarray | None = None) -> MatchingResult:
    """``ems-storage-aware-interval`` (module docstring)."""
    codes, labels, n = _hourly(acc, tz)
    k = group_sum(to_milli(acc.consumption_kwh), codes, n)
    c = np.minimum(group_sum(to_milli(acc.cfe_kwh), codes, n), k)  # interval rounding never over-matches an hour
    return _result("ems-storage-aware-interval", labels, c, k)


def _energytag_matched(acc: Accounts, codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    k = group_sum(to_milli(acc.consumption_kwh), codes, n)
    supply = group_sum(to_milli(acc.cfe_kwh) + to_milli(acc.contract_excess_kwh), codes, n)
    return np.minimum(supply, k), k


def energytag_hourly(acc: Accounts, tz: str, grid_cfe_share: np.ndarray | None = None) -> MatchingResult:
    """``energytag-hourly`` (module docstring)."""
    codes, labels, n = _hourly(acc, tz)
    m, k = _energytag_matched(acc, codes, n)
    return _result("energytag-hourly", labels, m, k)


def google_24x7(acc: Accounts, tz: str, grid_cfe_share: np.ndarray | None = None) -> MatchingResult:
    """``google-24x7`` (module docstring); score None when the grid's carbon-free share is unknown."""
    codes, labels, n = _hourly(acc, tz)
    m, k = _energytag_matched(acc, codes, n)
    if grid_cfe_share is None:
        res = _result("google-24x7", labels, m, k, "no grid carbon-free share configured: score not available")
        return MatchingResult(res.definition, res.hours, None, res.consumption_kwh, res.cfe_kwh, 0, res.note)
    f = np.asarray(grid_cfe_share, dtype=float)
    if np.any((f < 0) | (f > 1)):
        raise ValueError("grid carbon-free share must be in [0, 1]")
    # the hour's share is the exact decimal mean of its interval shares (shortest repr of each float)
    sums = [Decimal(0)] * n
    for j, s in zip(codes.tolist(), f.tolist(), strict=True):
        sums[j] += Decimal(repr(s))
    cnt = np.bincount(codes, minlength=n).tolist()
    rest = (k - m).tolist()
    credit = np.array(
        [
            int((Decimal(rest[j]) * sums[j] / cnt[j]).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) if cnt[j] else 0
            for j in range(n)
        ],
        dtype=np.int64,
    )
    return _result("google-24x7", labels, m + credit, k)


SCORES: dict[str, Callable[[Accounts, str, np.ndarray | None], MatchingResult]] = {
    "ems-storage-aware-interval": storage_aware_interval,
    "energytag-hourly": energytag_hourly,
    "google-24x7": google_24x7,
}


def cfe_scores(acc: Accounts, tz: str, grid_cfe_share: np.ndarray | None) -> dict[str, MatchingResult]:
    """Every definition of :data:`DEFINITIONS` on one run."""
    return {name: fn(acc, tz, grid_cfe_share) for name, fn in SCORES.items()}
