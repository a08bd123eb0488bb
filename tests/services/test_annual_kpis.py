"""The year simulation's demand charge: settled per local calendar month on the metered import peak (grid mix
plus green-contract deliveries, which arrive through the same connection point and meter), by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dispatch.from_park import problem_from_park
from dispatch.rules import rule_based_schedule
from ems.forecast.base import Forecast
from ems.park import Park
from services.annual import annual_kpis

# 31 March 2026 23:00 park time (Asia/Shanghai, UTC+8): four intervals in March, then four in April
START = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)


def test_month_peaks_include_contract_deliveries(demo_park: Park) -> None:
    fc = Forecast(START, 15)
    for d in demo_park.devices_of("load"):
        fc.load_kw[d.id] = np.full(8, 100.0)
    p = problem_from_park(demo_park, fc)
    s = rule_based_schedule(p)
    (contract,) = (c.id for c in p.contracts)
    s.grid_import_kw = np.array([100.0, 300.0, 100.0, 100.0, 200.0, 200.0, 200.0, 200.0])
    s.contract_kw = {contract: np.array([0.0, 0.0, 250.0, 0.0, 50.0, 50.0, 50.0, 50.0])}
    # metered: March 100, 300, 350, 100 -> 350 kW (the grid mix alone peaks at 300); April 250 kW (grid 200).
    # demo tariff: 40 CNY/kW/month, so 40 x (350 + 250) = 24,000 CNY (the grid mix alone would give 20,000)
    k = annual_kpis(demo_park, p, s)
    assert k.demand_charge_cny == pytest.approx(24_000.0)
