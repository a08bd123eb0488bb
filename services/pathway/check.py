"""The plan's indicators computed by ``ems.carbon`` itself: the solution's hourly operation goes through
:func:`ems.carbon.accounting.account` (allocation, market claims, storage ledger) and
:func:`ems.carbon.indicators.compute_indicators`, the same code path as an auditor's report.

The plan's contracts are flat deliveries (``c_t``, the same every hour of a settlement month) recorded
as time-matched interval deliveries, as the ledger records a contract with an hourly delivery profile
(the market-based totals equal one ``contract_period`` volume per month, since ``c_t`` never exceeds the
metered import ``i_t + c_t``; time matching also lets the CFE scores count them). The certificates
become one ``certificate`` retirement for the year, as the ledger would record it; the factors are
the year's (the forecast value in a pathway year). Totals are summed in integer milli-units as the
report does (:func:`ems.carbon.aggregate.to_milli`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np

from ems.carbon.accounting import Accounts, IntervalFlows, MarketClaims, VolumeBlock, account
from ems.carbon.aggregate import milli_to_decimal, to_milli
from ems.carbon.indicators import FuelUse, Indicators, compute_indicators
from ems.carbon.matching import MatchingResult, energytag_hourly
from ems.carbon.storage_ledger import StorageParams
from ems.park import CarbonSettings
from services.pathway.data import SizingData
from services.pathway.solve import SizingResult


def plan_accounts(result: SizingResult) -> Accounts:
    """``ems.carbon``'s per-interval accounts of the plan's hourly operation (full-year hours only)."""
    d, f = result.data, result.flows
    if not np.all(d.weight == 1.0):
        raise ValueError("the carbon check needs chronological hours (weight 1), not representative periods")
    T = d.T
    flows = IntervalFlows(
        starts=d.starts,
        interval_minutes=60,
        grid_import_kwh=f.metered_import_kw,
        export_kwh=f.export_kw,
        local_re_kwh=f.local_re_kw,
        direct_green_kwh=f.direct_kw,
        charge_kwh=f.charge_kw,
        discharge_kwh=f.discharge_kw,
        load_metered_kwh=d.load_kw + f.electrolyser_kw,
        completeness=np.ones(T),
        estimated=np.zeros(T, dtype=bool),
    )
    blocks = []
    if result.certificates_kwh > 0:
        blocks.append(VolumeBlock(0, T, result.certificates_kwh, ("plan:certificates",), "certificate"))
    storage = StorageParams(
        eta_charge=d.eta_charge, eta_discharge=d.eta_discharge, self_discharge_per_h=1.0 - d.keep_per_h
    )
    c = d.carbon
    return account(
        flows,
        np.full(T, float(c.grid_kg_per_kwh)),
        np.full(T, float(c.residual_kg_per_kwh)),
        MarketClaims(f.contract_kw.copy(), [], blocks),
        storage,
    )


def _total(x: np.ndarray) -> Decimal:
    return milli_to_decimal(int(to_milli(x).sum()))


def plan_indicators(
    result: SizingResult, settings: CarbonSettings, fuels: Mapping[str, Decimal] | None = None
) -> Indicators:
    """Market-based indicators of the plan, by ``ems.carbon`` (fuel quantities per year, scaled to the horizon)."""
    return indicators_of(plan_accounts(result), result.data, settings, fuels)


def indicators_of(
    a: Accounts, data: SizingData, settings: CarbonSettings, fuels: Mapping[str, Decimal] | None = None
) -> Indicators:
    """``compute_indicators`` on accounts covering ``data``'s hours (the plan's or a simulation of it)."""
    share = Decimal(repr(data.horizon_share))
    uses = [FuelUse(name, qty * share) for name, qty in (fuels or {}).items()]
    return compute_indicators(
        "market",
        _total(a.consumption_kwh),
        _total(a.attributed_kg_mkt),
        _total(a.green_kwh),
        _total(a.direct_to_load_kwh),
        settings,
        Decimal(data.T) / Decimal(24),
        uses,
    )


def plan_hourly_matching(result: SizingResult, tz: str) -> MatchingResult:
    """The plan's ``energytag-hourly`` CFE score, by ``ems.carbon.matching`` (the report's code path)."""
    return energytag_hourly(plan_accounts(result), tz)
