"""Cost lines (issue 21 "honest KPIs"): energy, prorated demand charge, green premium, carbon cost,
against a hand calculation, and the split against dispatch's own cost figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import numpy as np

from dispatch.from_park import problem_from_park
from dispatch.rules import rule_based_schedule
from dispatch.schedule import compute_kpis
from ems.forecast.base import Forecast
from ems.park import Park, example_park_path, load_park
from services.cost_lines import cost_lines

START = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)  # 2 March 2026 00:00 park time; March has 31 days


def test_one_day_by_hand(tiny_park: Park) -> None:
    park = tiny_park.model_copy(update={"devices": [d for d in tiny_park.devices if d.id != "BESS1"]})
    fc = Forecast(START, 15, {"PV1": np.zeros(96)}, {"WT1": np.zeros(96)}, {"LOAD1": np.full(96, 200.0)})
    p = dataclasses.replace(problem_from_park(park, fc), carbon_price_cny_per_kg=0.1)
    s = rule_based_schedule(p)  # no generation, no storage: 200 kW from the grid all day
    lines = cost_lines(park, p, s, month_peak_before_kw=250.0)
    # energy: 200 kW x (8 h x 0.30 + 8 h x 1.00 + 8 h x 0.60) CNY/kWh = 480 + 1600 + 960 = 3040 CNY
    assert lines.energy_cny == Decimal("3040.00")
    # demand: 30 CNY/kW/month x month-to-date peak 250 kW (before the day) x 24 h / (31 x 24 h) = 241.935...
    assert lines.month_to_date_peak_kw == Decimal("250.0")
    assert lines.demand_charge_cny == Decimal("241.94")
    # carbon: 4800 kWh x 0.5978 kg/kWh (cn-jiangsu-2022) x 0.1 CNY/kg = 286.944
    assert lines.carbon_cost_cny == Decimal("286.94")
    assert lines.green_premium_cny == 0
    assert lines.total_cny == Decimal("3040.00") + Decimal("241.94") + Decimal("286.94")
    assert [label for label, _ in lines.rows()][-1] == "total"
    assert sum(v for _, v in lines.rows()[:-1]) == lines.rows()[-1][1]


def test_split_agrees_with_dispatch_costs() -> None:
    """The demo park has green contracts with a premium: energy + premium = dispatch's energy cost, and the
    demand line of a whole month equals dispatch's demand charge on the month's peak (nothing prorated away)."""
    park = load_park(example_park_path("demo"))
    assert any(c.green_premium_cny_per_mwh > 0 for c in park.green.contracts)
    t = 31 * 96  # all of March
    start = START - dt.timedelta(days=1)  # 1 March 00:00 park time
    rng = np.random.default_rng(3)
    fc = Forecast(
        start,
        15,
        {d.id: np.zeros(t) for d in park.devices_of("pv")},
        {d.id: np.zeros(t) for d in park.devices_of("wind")},
        {d.id: rng.uniform(100, 400, t) for d in park.devices_of("load")},
    )
    p = problem_from_park(park, fc)
    base = rule_based_schedule(p)
    # book 8 MW (the contract's max_mw) of the import as contract delivery, as the operated schedule does
    # (the wind-shaped cap is zero here: no wind in this forecast; the split does not depend on it)
    imp, contract = base.grid_import_kw.copy(), {}
    for c in p.contracts:
        contract[c.id] = np.minimum(8000.0, imp)
        imp = imp - contract[c.id]
    s = dataclasses.replace(base, grid_import_kw=imp, contract_kw=contract)
    assert sum(float(v.sum()) for v in contract.values()) > 0
    k = compute_kpis(p, s)
    lines = cost_lines(park, p, s)
    assert lines.period_share_of_month == 1 and lines.green_premium_cny > 0
    assert abs(float(lines.energy_cny + lines.green_premium_cny) - k.energy_cost_cny) <= 0.01
    assert abs(float(lines.demand_charge_cny) - k.demand_charge_cny) <= 0.01
