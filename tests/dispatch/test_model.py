"""Small dispatch cases whose optimum is known in closed form (worked out in each comment)."""

from __future__ import annotations

import numpy as np
import pytest

from dispatch.problem import ContractSpec, EnergyBlock, FlexLoadSpec, NetworkRow
from dispatch.solver import SolverOptions, solve
from tests.dispatch.helpers import battery, problem


def test_hand_solvable_arbitrage() -> None:
    # Demand 50 kW in hour 1 only; price 0.2 then 1.0 CNY/kWh; 90 % each way; empty battery.
    # Serving 50 kWh from storage needs 50/0.9 = 55.556 kWh stored, i.e. 55.556/0.9 = 61.728 kWh charged
    # at 0.2 CNY: cost 12.3457 CNY, against 50 CNY importing in hour 1. 0.2/0.81 = 0.247 < 1.0, so it pays.
    s = solve(problem([0, 50], [0.2, 1.0], batteries=[battery()]))
    assert s.status == "optimal" and s.method == "lp"
    assert s.battery_charge_kw["B1"] == pytest.approx([50 / 0.81, 0], abs=1e-4)
    assert s.battery_discharge_kw["B1"] == pytest.approx([0, 50], abs=1e-4)
    assert s.grid_import_kw == pytest.approx([50 / 0.81, 0], abs=1e-4)
    assert s.kpis.cost_cny == pytest.approx(0.2 * 50 / 0.81, abs=1e-4)
    assert s.soc["B1"] == pytest.approx([50 / 0.81 * 0.9 / 100, 0], abs=1e-6)


def test_no_arbitrage_when_losses_exceed_spread() -> None:
    # 0.9 / 0.81 = 1.111 CNY per kWh delivered from storage > 1.0 importing directly: battery stays idle.
    s = solve(problem([0, 50], [0.9, 1.0], batteries=[battery()]))
    assert s.battery_charge_kw["B1"] == pytest.approx([0, 0], abs=1e-6)
    assert s.kpis.cost_cny == pytest.approx(50.0, abs=1e-6)


def test_lp_relaxation_is_the_optimum_when_cycling_does_not_pay() -> None:
    # Positive prices, no surplus: forcing binaries must give exactly the LP answer (closed form above).
    lp = solve(problem([0, 50], [0.2, 1.0], batteries=[battery()]), SolverOptions(binaries="never"))
    milp = solve(problem([0, 50], [0.2, 1.0], batteries=[battery()]), SolverOptions(binaries="always"))
    assert lp.method == "lp" and milp.method == "milp" and milp.n_binaries == 2
    assert lp.kpis.cost_cny == pytest.approx(milp.kpis.cost_cny, abs=1e-6)
    assert lp.kpis.cost_cny == pytest.approx(0.2 * 50 / 0.81, abs=1e-4)
    both = np.minimum(lp.battery_charge_kw["B1"], lp.battery_discharge_kw["B1"])
    assert both.max() < 1e-6  # the relaxation did not cycle


def test_negative_price_binaries_change_the_answer() -> None:
    # Full battery (SOC 0.95 = max), price −0.5 CNY/kWh, demand 10 kW, 1 h, 50 kW converter, 90 % each way.
    # LP relaxation (pc/50 + pd/50 <= 1) burns energy: keep SOC => 0.9·pc = pd/0.9 => pd = 0.81·pc,
    # pc·1.81 = 50 => pc = 27.624, pd = 22.376, extra import 5.249 kW; cost −0.5·15.249 = −7.624 CNY.
    # With binaries the battery cannot absorb anything: import 10, cost −5.0 CNY.
    b = battery(p_charge_max_kw=50.0, p_discharge_max_kw=50.0, soc0=0.95, soc_max=0.95, soc_min=0.1, soc_terminal=0.95)
    relaxed = solve(problem([10], [-0.5], batteries=[b]), SolverOptions(binaries="never"))
    exact = solve(problem([10], [-0.5], batteries=[b]))
    assert relaxed.battery_charge_kw["B1"][0] == pytest.approx(50 / 1.81, abs=1e-4)
    assert relaxed.kpis.cost_cny == pytest.approx(-0.5 * (10 + 50 / 1.81 * 0.19), abs=1e-4)
    assert exact.method == "milp" and exact.n_binaries == 1
    assert exact.battery_charge_kw["B1"][0] == pytest.approx(0, abs=1e-6)
    assert exact.battery_discharge_kw["B1"][0] == pytest.approx(0, abs=1e-6)
    assert exact.kpis.cost_cny == pytest.approx(-5.0, abs=1e-6)


def test_anti_backflow_curtails_and_never_cycles() -> None:
    # PV 100 kW, demand 30 kW, export forbidden, battery already full: 70 kW must be curtailed.
    # Before issue 23 the RE-first objective "consumed" surplus by charging and discharging at once
    # (5.249 kW burnt at 90 % each way). Counting the round-trip loss of stored RE as lost RE
    # (dispatch.model.origin) makes burning cost stage 1 as much as curtailing, so even the pure LP
    # relaxation curtails all 70 kW and leaves the battery idle: no binaries needed.
    b = battery(p_charge_max_kw=50.0, p_discharge_max_kw=50.0, soc0=0.95, soc_max=0.95, soc_min=0.1, soc_terminal=0.95)
    for options in (SolverOptions(), SolverOptions(binaries="never")):
        s = solve(problem([30], [0.6], pv=[100], batteries=[b]), options)
        assert s.method == "lp" and s.n_binaries == 0
        assert s.grid_export_kw[0] == 0 and s.grid_import_kw[0] == pytest.approx(0, abs=1e-6)
        assert s.curtail_kw["PV1"][0] == pytest.approx(70, abs=1e-6)
        assert s.battery_charge_kw["B1"][0] == pytest.approx(0, abs=1e-6)
        assert s.battery_discharge_kw["B1"][0] == pytest.approx(0, abs=1e-6)


def test_poor_efficiency_battery_is_not_used_to_burn_surplus() -> None:
    # Same with 60 % each way (burning would "save" 23.53 kW of curtailment under the old objective):
    # the relaxation curtails all 70 kW.
    b = battery(
        p_charge_max_kw=50.0,
        p_discharge_max_kw=50.0,
        eta_charge=0.6,
        eta_discharge=0.6,
        soc0=0.95,
        soc_max=0.95,
        soc_min=0.1,
        soc_terminal=0.95,
    )
    s = solve(problem([30], [0.6], pv=[100], batteries=[b]), SolverOptions(binaries="never"))
    assert s.curtail_kw["PV1"][0] == pytest.approx(70, abs=1e-6)
    assert s.battery_charge_kw["B1"][0] == pytest.approx(0, abs=1e-6)


def test_export_when_allowed_then_curtail() -> None:
    # Same surplus, export allowed up to 20 kW at 0.39 CNY: export 20, curtail the remaining 50.
    s = solve(problem([30], [0.6], pv=[100], export_limit=20, export_price=0.39))
    assert s.grid_export_kw[0] == pytest.approx(20, abs=1e-6)
    assert s.curtail_kw["PV1"][0] == pytest.approx(50, abs=1e-6)
    assert s.kpis.cost_cny == pytest.approx(-20 * 0.39, abs=1e-6)


def test_lexicographic_stores_pv_that_cost_alone_would_curtail() -> None:
    # Hour 0: PV 100, no demand, no export. Hour 1: demand 90 at 0.1 CNY. Battery lossless, wear 0.5 CNY/kWh.
    # Cost alone: curtail 100, import 90 (9 CNY). RE first: charge all 100 kWh (no curtailment); then the
    # cheapest way to serve hour 1 is still import (0.1 < 0.5 wear), so the energy stays stored: cost 9 CNY.
    b = battery(e_kwh=200.0, eta_charge=1.0, eta_discharge=1.0, throughput_cost_cny_per_kwh=0.5)
    p = problem([0, 90], [0.1, 0.1], pv=[100, 0], batteries=[b])
    lex = solve(p)
    assert lex.objective_mode == "lexicographic"
    assert lex.curtail_kw["PV1"] == pytest.approx([0, 0], abs=2e-5)  # within re_tolerance_kwh (1e-5 kWh)
    assert lex.kpis.local_re_consumption_ratio == pytest.approx(1.0)
    assert lex.kpis.cost_cny == pytest.approx(9.0, abs=1e-6)
    cost_only = solve(p, SolverOptions(objective="weighted", re_weight_cny_per_kwh=0.0))
    assert cost_only.curtail_kw["PV1"][0] == pytest.approx(100, abs=1e-6)
    weighted = solve(p, SolverOptions(objective="weighted", re_weight_cny_per_kwh=10.0))
    assert weighted.curtail_kw["PV1"] == pytest.approx([0, 0], abs=1e-6)
    assert weighted.objective_mode.startswith("weighted")


def test_self_discharge_and_terminal_target_are_soft() -> None:
    # Battery at SOC 0.5 with target 1.0 but only 10 kW charging over 1 h at 90 %: reaches 0.5 + 0.09 = 0.59,
    # minus self-discharge 1 %/h of the stored energy: e1 = 0.99·50 + 9 = 58.5 kWh. Never infeasible.
    b = battery(p_charge_max_kw=10.0, soc0=0.5, soc_terminal=1.0, self_discharge_per_h=0.01)
    s = solve(problem([0], [0.1], batteries=[b]))
    assert s.status == "optimal"
    assert s.soc["B1"][0] == pytest.approx(0.585, abs=1e-9)


def test_green_contract_within_cap_and_volume_band() -> None:
    # Contract 0.3 CNY/kWh vs grid 0.6; cap 40 kW; band 50..60 kWh over 2 h; demand 50 kW each hour.
    # Cheaper than grid, so it takes the most it may: 60 kWh (cap allows 80); import 40 kWh.
    c = ContractSpec("GPT", 0.3, np.array([40.0, 40.0]), (EnergyBlock(0, 2, 50.0, 60.0),))
    s = solve(problem([50, 50], [0.6, 0.6], contracts=[c]))
    assert s.contract_kw["GPT"].sum() == pytest.approx(60, abs=1e-6)
    assert s.contract_kw["GPT"].max() <= 40 + 1e-6
    assert s.kpis.cost_cny == pytest.approx(60 * 0.3 + 40 * 0.6, abs=1e-6)
    # Dearer than grid: takes only the minimum of the band.
    c2 = ContractSpec("GPT", 0.9, np.array([40.0, 40.0]), (EnergyBlock(0, 2, 50.0, 60.0),))
    s2 = solve(problem([50, 50], [0.6, 0.6], contracts=[c2]))
    assert s2.contract_kw["GPT"].sum() == pytest.approx(50, abs=1e-6)
    assert s2.kpis.green_share == pytest.approx(50 / 100)


def test_flexible_load_moves_to_cheapest_interval() -> None:
    # 10 kWh shiftable within both hours (baseline 5 kW each, included in demand 25 kW); prices 1.0 then 0.2.
    # Optimum: run all 10 kWh in hour 1; demand becomes 20 then 30 kW; cost 20·1.0 + 30·0.2 = 26.
    f = FlexLoadSpec("EV", 20.0, np.array([True, True]), np.array([5.0, 5.0]), (EnergyBlock(0, 2, 10.0, 10.0),))
    s = solve(problem([25, 25], [1.0, 0.2], flex=[f]))
    assert s.flex_kw["EV"] == pytest.approx([0, 10], abs=1e-6)
    assert s.kpis.cost_cny == pytest.approx(26.0, abs=1e-6)


def test_network_row_limits_battery_and_is_reported_binding() -> None:
    # Arbitrage as in the first test but a line allows only 30 kW of battery injection:
    # discharge 30 kW in hour 1 (import the other 20); charge 30/0.81 = 37.037 kW in hour 0.
    row = NetworkRow("L1", {"B1": 1.0}, np.zeros(2), upper=30.0, lower=-100.0)
    s = solve(problem([0, 50], [0.2, 1.0], batteries=[battery()], network=[row]))
    assert s.battery_discharge_kw["B1"] == pytest.approx([0, 30], abs=1e-4)
    assert s.battery_charge_kw["B1"] == pytest.approx([30 / 0.81, 0], abs=1e-4)
    assert any(b.startswith("L1 upper") for b in s.network_binding)


def test_demand_charge_shaves_peak() -> None:
    # Demand 100 then 20 kW, flat price 0.5, demand charge 40 CNY/kW-month.
    # Lossless battery starts with 40 kWh
    # (terminal target 0). Shaving 40 kW of the 100 kW peak saves 1600 CNY; the stored energy would
    # otherwise stay unused, so the peak becomes 60 kW.
    b = battery(eta_charge=1.0, eta_discharge=1.0, soc0=0.4)
    s = solve(problem([100, 20], [0.5, 0.5], batteries=[b], demand_charge_cny_per_kw_month=40.0))
    assert s.kpis.peak_import_kw == pytest.approx(60, abs=1e-4)
    assert s.kpis.demand_charge_cny == pytest.approx(2400, abs=1e-3)


def test_optimised_beats_rule_based_on_local_re_and_cost() -> None:
    # Hour 0: valley 0.2 CNY, demand 10, no PV. Hour 1: PV 100, demand 10. Hour 2: 1.0 CNY, demand 50.
    # Lossless empty 100 kWh battery, export forbidden. The rule-based controller fills the battery
    # from the grid in the valley (TOU arbitrage: 110 kWh at 0.2 = 22 CNY) and must then curtail
    # 90 kW of PV: local RE ratio 10/100. The optimiser keeps the room, stores the 90 kWh of PV and
    # serves hour 2 from it: no curtailment, cost 10 kWh at 0.2 = 2 CNY.
    from dispatch.rules import rule_based_schedule

    b = battery(eta_charge=1.0, eta_discharge=1.0)
    p = problem([10, 10, 50], [0.2, 0.6, 1.0], pv=[0, 100, 0], batteries=[b])
    base = rule_based_schedule(p)
    opt = solve(p)
    assert base.kpis.local_re_consumption_ratio == pytest.approx(0.1)
    assert base.kpis.cost_cny == pytest.approx(22.0)
    assert opt.kpis.local_re_consumption_ratio == pytest.approx(1.0)
    assert opt.kpis.cost_cny == pytest.approx(2.0, abs=1e-6)


def test_contract_deliveries_share_the_connection_point() -> None:
    """Regression: contract energy arrives through the public grid, so it counts toward the import
    limit and the metered peak that carries the demand charge (hand-solvable case).

    Load 100 kW in both hours, PV 30 kW in hour 1; import limit 80 kW; a cheap contract (0.3 vs 1.0
    CNY/kWh) capped at 80 kW. Hour 0 needs 100 kW but only 80 kW may pass the connection point:
    the battery (full, 100 kWh, 90 % discharge) covers 20 kW. Hour 1: 70 kW through the connection.
    """
    c = ContractSpec("GPT", 0.3, np.array([80.0, 80.0]))
    b = battery(soc0=1.0, soc_terminal=None)
    for rules in (False, True):
        p = problem(
            [100, 100],
            [1.0, 1.0],
            pv=[0, 30],
            batteries=[b],
            import_limit=80.0,
            contracts=[c],
            demand_charge_cny_per_kw_month=40.0,
        )
        if rules:
            from dispatch.rules import rule_based_schedule

            s = rule_based_schedule(p)
        else:
            s = solve(p)
        through = s.grid_import_kw + s.contract_kw["GPT"]
        assert through.max() <= 80.0 + 1e-6, (rules, through)
        assert s.kpis.peak_import_kw == pytest.approx(through.max(), abs=1e-6)
        assert s.battery_discharge_kw["B1"][0] >= 20.0 - 1e-6
