"""Hand-solvable sizing cases (derivations in the docstrings) and the demo park through ``ems.carbon``.

Common data (``helpers.tiny``): 24 h standing for the whole "year", constant load 1,000 kW, so
K = 24,000 kWh; grid energy 0.5 CNY/kWh; residual factor EF = 0.6096 kgCO2/kWh; 0.1229 kgce/kWh, so
energy = 24,000 × 0.1229 / 1000 = 2.9496 tce.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from ems.park import CarbonSettings, example_park_path, load_park
from services.pathway.check import plan_hourly_matching, plan_indicators
from services.pathway.data import capital_recovery_factor, sizing_data
from services.pathway.options import load_options
from services.pathway.solve import PlanInfeasible, money, solve_sizing
from tests.pathway.helpers import candidate, carbon, replace, tiny

K = 24_000.0
SETTINGS = CarbonSettings(grid_factor="cn-jiangsu-2022", annual_budget_tco2=Decimal(1))
DEMO_OPTIONS = example_park_path("demo").parent / "demo_pathway.yaml"


def test_capital_recovery_factor_by_hand() -> None:
    # r = 6 %, n = 20: 0.06 × 1.06^20 / (1.06^20 − 1) = 0.087185 (annuity tables)
    assert abs(capital_recovery_factor(Decimal("0.06"), 20) - Decimal("0.0871845")) < Decimal("1e-7")
    assert capital_recovery_factor(Decimal(0), 25) == Decimal("0.04")


def test_certificates_alone_are_cheapest() -> None:
    """Intensity <= 0.20: R·EF/1000 <= 0.2 × 2.9496 t → R <= 0.58992 × 1000 / 0.6096 = 967.7165 kWh;
    clean share >= 0.9 allows R <= 2,400 kWh, so the intensity binds. PV at 100 CNY/kW-year yields
    12 kWh per kW (cf 0.5), worth at most 12 × 0.51 = 6.1 CNY: not built; contracts at 0.6 CNY/kWh
    cost more than grid + certificate (0.51). So Z = K − R = 23,032.2835 kWh and
    cost = 0.5 × 24,000 + 0.01 × 23,032.2835 = 12,230.32 CNY."""
    d = tiny(
        cf_pv=np.full(24, 0.5),
        candidates=(candidate("pv:A", "100"),),
        certificate_price_cny_per_kwh=0.01,
        certificate_max_kwh=1e6,
        contract_price_cny_per_kwh=0.6,
        contract_max_kwh_per_month=1e6,
        carbon=carbon(intensity_target=Decimal("0.20"), clean_share_target=Decimal("0.90")),
    )
    r = solve_sizing(d)
    r_kwh = 0.2 * K * 0.1229 / 0.6096
    assert r.capacity["pv:A"] == pytest.approx(0.0, abs=1e-6)
    assert r.contract_kwh == pytest.approx(0.0, abs=1e-6)
    assert r.certificates_kwh == pytest.approx(K - r_kwh, rel=1e-7)
    assert r.costs_decimal()["total"] == Decimal("12230.32")
    ind = plan_indicators(r, SETTINGS)  # ems.carbon's own figures for the plan
    assert ind.intensity_ok and ind.clean_share_ok
    assert ind.intensity_t_per_tce == pytest.approx(Decimal("0.2"), abs=Decimal("0.000002"))


def test_clean_share_forces_direct_line_when_certificates_are_capped() -> None:
    """Only clean share >= 0.9 (R <= 2,400 kWh); certificates capped at 12,000 kWh. A direct line (firm
    plant, cf 1) costs 2.4 CNY per kW-year and 0.6 CNY/kWh, i.e. 0.7 CNY/kWh > grid 0.5: as little as
    possible. R = (K − D) − 12,000 <= 2,400 → D >= 9,600 kWh → 400 kW. Cost = 0.5 × 14,400 + 0.01 ×
    12,000 + 0.7 × 9,600 = 14,040 CNY."""
    d = tiny(
        cf_direct=np.ones(24),
        direct_new_price=0.6,
        candidates=(candidate("direct_kw", "2.4"),),
        certificate_price_cny_per_kwh=0.01,
        certificate_max_kwh=12_000.0,
        carbon=carbon(clean_share_target=Decimal("0.90")),
    )
    r = solve_sizing(d)
    assert r.capacity["direct_kw"] == pytest.approx(400.0, rel=1e-7)
    assert r.certificates_kwh == pytest.approx(12_000.0, rel=1e-7)
    assert r.costs_decimal()["total"] == Decimal("14040.00")
    ind = plan_indicators(r, SETTINGS)
    assert ind.clean_share == pytest.approx(Decimal("0.9"), abs=Decimal("0.000002"))
    assert ind.direct_green_share == Decimal("0.4")  # 9,600 / 24,000


def test_budget_binds_before_the_intensity_target() -> None:
    """Budget 0.4 t: R <= 400 / 0.6096 = 656.1680 kWh, tighter than the intensity's 967.7165 kWh.
    Z = K − R = 23,343.8320 kWh; cost = 12,000 + 233.4383 = 12,233.44 CNY; intensity
    = 0.4 / 2.9496 = 0.135612 tCO2/tce, below the 0.20 target."""
    d = tiny(
        certificate_price_cny_per_kwh=0.01,
        certificate_max_kwh=1e6,
        carbon=carbon(intensity_target=Decimal("0.20"), budget_tco2=Decimal("0.4")),
    )
    r = solve_sizing(d)
    assert r.co2_t == pytest.approx(0.4, rel=1e-7)
    assert r.costs_decimal()["total"] == Decimal("12233.44")
    ind = plan_indicators(r, SETTINGS)
    # ems.carbon rounds each hour's CO2 to whole grams (24 hours: at most 12 g) and allocates the
    # certificates in whole Wh
    assert ind.co2_t == pytest.approx(Decimal("0.4"), abs=Decimal("0.00002"))
    assert ind.intensity_t_per_tce == pytest.approx(Decimal("0.135612"), abs=Decimal("0.00001"))


def test_hourly_matching_target_needs_storage_by_hand() -> None:
    """Hours 0-11 sunny (PV cf 1), 12-23 dark; load 1,000 kW; PV 10 CNY/kW-year, battery 1 CNY/kWh-year
    and 1 CNY/kW-year, η 0.95 each way; certificates cheap and plentiful (they never match hours).

    No hourly target: PV saves 12 kWh × 0.5 = 6 CNY per kW-year < 10, nothing built, cost 12,000.
    Hourly matching >= 0.75: grid-mix import <= 0.25 × 24,000 = 6,000 kWh. The night needs 12,000, so
    the battery delivers D = 6,000 kWh at night (storing 6,000 / 0.95 = 6,315.789 kWh, charged with
    6,315.789 / 0.95 = 6,648.199 kWh of PV over the 12 sunny hours, 554.017 kW); PV covers the day
    load and the charge: 1,000 + 554.017 = 1,554.017 kW; any day import would need as much more
    discharge. Cost = 10 × 1,554.017 + 6,315.789 + 554.017 + 0.5 × 6,000 = 25,409.97 CNY.
    ``ems.carbon``'s energytag-hourly score of that operation: 18,000 / 24,000 = 0.75 (the pool holds
    PV only, so the discharge is carbon-free)."""
    cf = np.r_[np.ones(12), np.zeros(12)]
    base = dict(
        cf_pv=cf,
        candidates=(candidate("pv:A", "10"), candidate("battery_kwh", "1"), candidate("battery_kw", "1")),
        certificate_price_cny_per_kwh=0.001,
        certificate_max_kwh=1e6,
    )
    free = solve_sizing(tiny(**base))
    assert free.capacity["pv:A"] == pytest.approx(0.0, abs=1e-6)
    assert plan_hourly_matching(free, "Asia/Shanghai").cfe_score == Decimal(0)
    r = solve_sizing(tiny(**base, carbon=carbon(hourly_match_target=Decimal("0.75"))))
    stored = 6000 / 0.95
    charge_kw = stored / 0.95 / 12
    assert r.capacity["battery_kwh"] == pytest.approx(stored, rel=1e-6)
    assert r.capacity["battery_kw"] == pytest.approx(charge_kw, rel=1e-6)
    assert r.capacity["pv:A"] == pytest.approx(1000 + charge_kw, rel=1e-6)
    assert r.costs_decimal()["total"] == Decimal("25409.97")
    assert r.certificates_kwh == pytest.approx(0.0, abs=1e-6)  # no target they would serve
    hm = plan_hourly_matching(r, "Asia/Shanghai")
    assert hm.cfe_score == pytest.approx(Decimal("0.75"), abs=Decimal("0.000002"))
    assert hm.hours_fully_matched == 12
    with pytest.raises(PlanInfeasible, match=r"hourly-matched CFE score >= 0.75"):
        solve_sizing(tiny(carbon=carbon(hourly_match_target=Decimal("0.75"))))


def test_unreachable_targets_name_what_was_asked() -> None:
    d = tiny(carbon=carbon(clean_share_target=Decimal("0.90")))
    with pytest.raises(PlanInfeasible, match=r"clean-energy share >= 0.90.*certificates <= 0 MWh"):
        solve_sizing(d)


def test_capacity_only_added_and_battery_shifts_cheap_energy() -> None:
    """Night (hours 0-11) 0.2, day (12-23) 1.0 CNY/kWh; battery 2 CNY/kWh-year and 1 CNY/kW-year, η 0.95
    each way: a shifted kWh costs 0.2 / 0.9025 = 0.2216 < 1.0, so the battery (empty at the start) serves
    the whole day load, 12,000 kWh AC = 12,631.6 kWh stored = 13,296.4 kWh charged over 12 night hours:
    P = 12,000 / 0.9025 / 12 = 1,108.03 kW (charge and discharge share the rating). A lower bound of
    20,000 kWh from an earlier year is kept although 12,631.6 kWh would do."""
    price = np.r_[np.full(12, 0.2), np.full(12, 1.0)]
    d = tiny(
        price_cny_per_kwh=price,
        candidates=(candidate("battery_kwh", "2", lower=20_000.0), candidate("battery_kw", "1")),
    )
    r = solve_sizing(d)
    assert r.capacity["battery_kwh"] == pytest.approx(20_000.0)
    assert r.added["battery_kwh"] == pytest.approx(0.0)
    assert r.capacity["battery_kw"] == pytest.approx(12_000 / 0.9025 / 12, rel=1e-6)
    assert r.flows.discharge_kw[12:].sum() == pytest.approx(12_000.0, rel=1e-7)
    # cost = 0.2 × (12,000 + 12,000 / 0.9025) + 2 × 20,000 + 1 × P
    p_kw = r.capacity["battery_kw"]
    assert r.objective_cny == pytest.approx(0.2 * (12_000 + 12_000 / 0.9025) + 40_000 + p_kw, rel=1e-7)


def test_money_is_exact_decimal_with_stated_rounding() -> None:
    assert money(0.125) == Decimal("0.12")  # half-to-even
    assert money(12230.322834645669) == Decimal("12230.32")
    r = solve_sizing(tiny())
    costs = r.costs_decimal()
    assert costs["total"] == sum(v for k, v in costs.items() if k != "total")
    assert costs["energy"] == Decimal("12000.00")


def test_demo_park_plan_meets_targets_as_ems_carbon_computes_them() -> None:
    """Two weeks of the demo park's synthetic year: the planner's indicators are on the safe side of what
    ``ems.carbon`` computes from the plan's own hourly operation (same code path as a report)."""
    park = load_park(example_park_path("demo"))
    opts = load_options(DEMO_OPTIONS)
    d = sizing_data(park, opts, hours=336)
    r = solve_sizing(d)
    ind = plan_indicators(r, park.carbon)
    assert ind.intensity_ok and ind.clean_share_ok
    energy = d.energy_kwh * 0.1229 / 1000
    assert float(ind.co2_t) <= r.co2_t + 1e-3  # ems.carbon's attributed CO2 never exceeds the LP's bound
    assert float(ind.co2_t) == pytest.approx(r.co2_t, rel=1e-3)  # and the bound is tight (no export here)
    assert float(ind.energy_tce) == pytest.approx(energy, rel=1e-9)
    # the balance holds hour by hour in the read-out (supply = demand after curtailment)
    f = r.flows
    supply = f.local_re_kw + f.direct_kw + f.discharge_kw + f.metered_import_kw
    assert np.allclose(supply, d.load_kw + f.electrolyser_kw + f.charge_kw + f.export_kw, atol=1e-3)
    # PV stays within each bus's roof limit
    for bus, limit in opts.technologies.pv.limits_kw_per_bus.items():  # type: ignore[union-attr]
        assert r.capacity[f"pv:{bus}"] <= limit + 1e-6


def test_unknown_bus_in_pv_limits_is_named() -> None:
    park = load_park(example_park_path("demo"))
    opts = load_options(DEMO_OPTIONS)
    pv = opts.technologies.pv.model_copy(update={"limits_kw_per_bus": {"ROOF_X": 100.0}})  # type: ignore[union-attr]
    bad = opts.model_copy(update={"technologies": opts.technologies.model_copy(update={"pv": pv})})
    with pytest.raises(ValueError, match="unknown bus 'ROOF_X'"):
        sizing_data(park, bad, hours=24)


def test_replace_helper_keeps_data_frozen() -> None:
    d = tiny()
    assert replace(d, year=2027).year == 2027 and d.year == 2026
