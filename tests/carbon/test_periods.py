"""Issue 19: periods add up — monthly reports sum to the annual one across a boundary with energy stored.

Four days of hourly data from 27 February to 3 March 2026 (park time, Asia/Shanghai): the battery
charges from the grid every evening (20:00-24:00) and discharges the next morning (06:00-09:00),
so energy sits in the pool at the 1 March boundary; PV at midday; two certificates and a period
contract volume whose periods straddle the boundary. The "year" is [27 Feb, 3 Mar) and the
"months" [27 Feb, 1 Mar) and [1 Mar, 3 Mar). Every total of the two monthly reports must add up
to the year's to the Wh and gram, and the pool must close February as it opens March.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import numpy as np

from ems.carbon.certificates import ContractDelivery, Period, RetirementEntry
from ems.carbon.factors import FactorRegistry
from ems.carbon.report import build_report
from ems.carbon.run import compute_run
from ems.park import Park
from tests.carbon.conftest import energy_from_kw

TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 2, 27, tzinfo=TZ)
MID = dt.datetime(2026, 3, 1, tzinfo=TZ)
END = dt.datetime(2026, 3, 3, tzinfo=TZ)


def _profile() -> dict[str, list[float]]:
    hours = np.arange(96) % 24
    pv = np.where((hours >= 10) & (hours < 15), 300.0, 0.0)
    bess = np.where(hours >= 20, -150.0, np.where((hours >= 6) & (hours < 9), 170.0, 0.0))
    load = -np.full(96, 400.0) - 50.0 * (np.arange(96) % 7)
    grid = -(pv + bess + load)  # the balance, so the loads close it; WT1 silent
    return {
        "M_GRID": grid.tolist(),
        "PV1": pv.tolist(),
        "WT1": [0.0] * 96,
        "BESS1": bess.tolist(),
        "LOAD1": load.tolist(),
    }


def _ledgers() -> tuple[list[ContractDelivery], list[RetirementEntry]]:
    p = Period(dt.datetime(2026, 2, 28, 12, tzinfo=TZ), dt.datetime(2026, 3, 2, 12, tzinfo=TZ))
    delivery = ContractDelivery(1, "GPT-TEST", p, D("3000"), "period", None, "settlement")
    rets = [RetirementEntry(i, f"GEC-T-00000{i}", 1, "retire", p, D("0"), "park", "") for i in (1, 2)]
    return [delivery], rets


def _totals(park: Park, start: dt.datetime, end: dt.datetime) -> dict[str, D]:
    ie = energy_from_kw(START.astimezone(dt.UTC), 60, _profile())  # what the service reads: the span
    deliveries, rets = _ledgers()
    run = compute_run(park, ie, start, end, FactorRegistry.published(), deliveries, rets)
    rep = build_report(run, software_version="test")
    out = {k: D(v) for k, v in rep["totals"].items()}
    for m in ("location_based", "market_based"):
        out[f"{m}.pool_start"] = D(rep[m]["storage_pool_start_kg"])
        out[f"{m}.pool_end"] = D(rep[m]["storage_pool_end_kg"])
    out["pool_start_kwh"] = D(rep["storage_pool"]["opening"]["stored_kwh"])
    out["pool_end_kwh"] = D(rep["storage_pool"]["closing"]["stored_kwh"])
    assert rep["balances"]["violations"] == []
    return out


def test_monthly_reports_sum_to_the_annual_one(carbon_park: Park) -> None:
    year = _totals(carbon_park, START, END)
    feb = _totals(carbon_park, START, MID)
    mar = _totals(carbon_park, MID, END)
    # 28 February 20:00-24:00 charged 4 h * 150 kW, discharged only on the morning of 1 March
    assert feb["pool_end_kwh"] > 0
    assert mar["pool_start_kwh"] == feb["pool_end_kwh"]
    for m in ("location_based", "market_based"):
        assert mar[f"{m}.pool_start"] == feb[f"{m}.pool_end"] > 0
    sums = [k for k in year if "." not in k and not k.startswith("pool_")]
    assert {k: feb[k] + mar[k] for k in sums} == {k: year[k] for k in sums}
    assert year["certificate_kwh"] == D("2000.000") and year["contract_kwh"] > 0


def test_a_month_computed_alone_would_not_add_up(carbon_park: Park) -> None:
    """Why the span matters: March accounted from 1 March (empty pool) loses the stored February energy."""
    deliveries, rets = _ledgers()
    full = energy_from_kw(START.astimezone(dt.UTC), 60, _profile())
    k = 48  # 1 March 00:00 local
    alone = type(full)(full.starts[k:], full.devices, full.e_out_kwh[:, k:], full.e_in_kwh[:, k:], full.coverage[:, k:])
    run = compute_run(carbon_park, alone, MID, END, FactorRegistry.published(), deliveries, rets)
    # the morning discharge finds an empty pool: unknown origin, treated as grid-charged
    assert run.accounts.ledger.unknown_origin_kwh.sum() > 0
    assert run.accounts.ledger.opening.stored_kwh == 0.0
