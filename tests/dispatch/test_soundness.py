"""Issue 23, dispatch soundness: no cycling that burns renewables, no simultaneous flows, soft load
shedding, validated inputs, a terminal value instead of a fixed target, network slack above every
economic term. Expected values are hand calculations (in each comment) or the independent highspy
formulation of ``tests/dispatch/direct_milp.py``."""

from __future__ import annotations

import numpy as np
import pytest

from dispatch.model.terminal import terminal_value
from dispatch.problem import NetworkRow
from dispatch.solver import Dispatcher, SolverOptions, solve
from tests.dispatch.direct_milp import solve_direct
from tests.dispatch.helpers import battery, problem


def test_cross_interval_cycling_does_not_burn_pv() -> None:
    """Issue 23: discharging while curtailing and recharging later must not count as using PV.

    Anti-backflow, 100 kWh / 100 kW battery at 50 kWh, 90 % each way. Hour 0: PV 50 = load 50.
    Hour 1: PV 100, no load. Storing the surplus: 50 kWh of room take 50/0.9 = 55.556 kWh, curtail
    44.444. The trap: discharge d in hour 0 (curtailing d of PV), which frees d/0.9 kWh of room, taking
    d/0.81 of PV in hour 1: curtailment 44.444 − 0.2346·d, best at the 100 kW charge limit,
    d = 0.9·(90 − 50) = 36: 36.0 kWh curtailed, 10.35 kWh of PV burnt in losses. The independent MILP
    reproduces both: minimising curtailment alone burns (36.0), minimising curtailment plus the
    physical battery losses stores (44.444).
    """
    burn = solve_direct(
        [50, 0], [50, 100], dt_h=1, e_kwh=100, p_kw=100, eta=0.9, e0_kwh=50, import_price=[0.5, 0.5], re_weight=1.0
    )
    assert sum(burn["curt"]) == pytest.approx(36.0, abs=1e-6) and burn["pd"][0] == pytest.approx(36.0, abs=1e-6)
    honest = solve_direct(
        [50, 0],
        [50, 100],
        dt_h=1,
        e_kwh=100,
        p_kw=100,
        eta=0.9,
        e0_kwh=50,
        import_price=[0.5, 0.5],
        re_weight=1.0,
        loss_weight=1.0,
    )
    b = battery(soc0=0.5)
    for options in (SolverOptions(), SolverOptions(binaries="never"), SolverOptions(objective="weighted")):
        s = solve(problem([50, 0], [0.5, 0.5], pv=[50, 100], batteries=[b]), options)
        # (1e-4: the stage-2 RE tolerance, 1e-6 kWh + 1e-7 relative, and solver tolerances)
        assert s.battery_discharge_kw["B1"] == pytest.approx([0, 0], abs=1e-4)
        assert s.battery_charge_kw["B1"] == pytest.approx([0, 50 / 0.9], abs=1e-4)
        assert s.curtail_kw["PV1"] == pytest.approx([0, 100 - 50 / 0.9], abs=1e-4)
        assert s.curtail_kw["PV1"] == pytest.approx(honest["curt"], abs=1e-4)
        assert s.battery_charge_kw["B1"] == pytest.approx(honest["pc"], abs=1e-4)


def test_no_simultaneous_flows_with_negative_prices_and_export() -> None:
    """Battery-only park, export allowed, 96 quarter hours with negative prices: the plan never charges
    and discharges at once, never imports and exports at once, and its cost is the independent MILP's
    (binary exclusivity, same end-of-horizon energy) up to the tie-breaker: our plan minimises
    ``cost + ε·flows``, so ``ref ≤ cost ≤ ref + ε·flows_ref``."""
    rng = np.random.default_rng(23)
    T = 96
    price = rng.uniform(-0.3, 1.2, T)
    demand = rng.uniform(20, 80, T)
    b = battery(e_kwh=200.0, soc0=0.5, soc_terminal=0.5)
    p = problem(list(demand), list(price), batteries=[b], export_limit=100.0, dt_h=0.25)
    p.export_price = price - 0.05
    s = solve(p)
    assert s.status == "optimal"
    assert np.minimum(s.battery_charge_kw["B1"], s.battery_discharge_kw["B1"]).max() < 1e-6
    assert np.minimum(s.grid_import_kw, s.grid_export_kw).max() < 1e-6
    ref = solve_direct(
        demand,
        np.zeros(T),
        dt_h=0.25,
        e_kwh=200,
        p_kw=100,
        eta=0.9,
        e0_kwh=100,
        import_price=price,
        export_price=price - 0.05,
        export_limit_kw=100.0,
        tie_weight=0.0,
        e_end_min_kwh=100.0,
    )
    ref_cost = sum(0.25 * (price[t] * ref["imp"][t] - (price[t] - 0.05) * ref["exp"][t]) for t in range(T))
    ref_flows = 0.25 * sum(ref["pc"][t] + ref["pd"][t] + ref["imp"][t] + ref["exp"][t] for t in range(T))
    assert ref_cost - 1e-6 <= s.kpis.cost_cny <= ref_cost + 1e-4 * ref_flows + 1e-6


def test_load_spike_sheds_one_interval_not_the_day() -> None:
    """Issue 23: a single 200 MW spike in a 10 MW forecast against a 60 MW connection.

    The battery (20 MW, 40 MWh at 50 %) discharges its 20 MW in the spike; the remaining
    200 − 60 − 20 = 120 MW are shed for that quarter hour only (30 MWh); every other interval is planned.
    """
    demand = np.full(96, 10_000.0)
    demand[40] = 200_000.0
    b = battery(e_kwh=40_000.0, p_charge_max_kw=20_000.0, p_discharge_max_kw=20_000.0, soc0=0.5, soc_terminal=None)
    s = solve(problem(list(demand), [0.5] * 96, batteries=[b], import_limit=60_000.0, dt_h=0.25))
    assert s.status == "optimal" and s.method == "lp"
    served = s.demand_kw
    assert served[40] == pytest.approx(200_000 - 120_000, abs=1e-3)
    assert np.delete(served, 40) == pytest.approx(np.delete(demand, 40))
    assert s.battery_discharge_kw["B1"][40] == pytest.approx(20_000, abs=1e-3)
    assert "load shed: 30000.0 kWh in 1 intervals (worst 120000.0 kW in interval 40)" in s.notes


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("soc0", 1.2, "battery B1: start SOC 1.2 outside [0, 1]"),
        ("soc0", -0.1, "battery B1: start SOC -0.1 outside [0, 1]"),
        ("soc_min", 0.9, "battery B1: SOC band [0.9, 0.5] not within 0 <= min < max <= 1"),
        ("soc_terminal", 1.5, "battery B1: terminal SOC 1.5 outside [0, 1]"),
        ("eta_charge", 1.1, "battery B1: efficiency outside (0, 1] (charge 1.1, discharge 0.9)"),
    ],
)
def test_invalid_battery_inputs_are_named(field: str, value: float, reason: str) -> None:
    kw: dict = {field: value}
    if field == "soc_min":
        kw["soc_max"] = 0.5
    s = solve(problem([10, 10], [0.5, 0.5], batteries=[battery(**kw)]))
    assert s.status == "fallback"
    assert reason in (s.fallback_reason or ""), s.fallback_reason


def test_invalid_options_are_named() -> None:
    s = Dispatcher(SolverOptions(objective="cheapest", mip_rel_gap=2.0)).solve(problem([10], [0.5]))
    assert s.status == "fallback"
    assert "objective 'cheapest' unknown (valid: lexicographic, weighted)" in (s.fallback_reason or "")
    assert "mip_rel_gap must be in [0, 1), got 2.0" in (s.fallback_reason or "")


def test_terminal_value_replaces_the_fixed_target() -> None:
    """Issue 23: no end-of-day buying to reach a target; the stored energy keeps its replacement value.

    Prices 0.3 (valley), 1.0, 0.6 CNY/kWh; load 0, 50, 50 kW; 100 kWh battery at 50 %, 90 % each way.
    V = 0.3/0.9 = 0.333 CNY per kWh stored (dispatch.model.terminal). Fill in the valley (55.556 kW,
    0.3/0.81 = 0.37 < 0.6 per kWh delivered), serve hour 1 (50 kW, 55.556 kWh stored used), and in
    hour 2 deliver the remaining 44.444·0.9 = 40 kW, because 0.9·0.6 = 0.54 > 0.333: end empty, import 10.
    The old rule (target = start SOC at 2 CNY/kWh) bought 55.6 kWh at 0.6 in hour 2 instead.
    """
    b = battery(soc0=0.5, soc_terminal=None)
    p = problem([0, 50, 50], [0.3, 1.0, 0.6], batteries=[b])
    assert terminal_value(p, b) == pytest.approx(0.3 / 0.9)
    s = solve(p)
    assert s.battery_charge_kw["B1"] == pytest.approx([50 / 0.9, 0, 0], abs=1e-6)
    assert s.battery_discharge_kw["B1"] == pytest.approx([0, 50, 40], abs=1e-6)
    assert s.grid_import_kw == pytest.approx([50 / 0.9, 0, 10], abs=1e-6)
    assert s.soc["B1"][-1] == pytest.approx(0, abs=1e-9)


def test_network_slack_is_priced_above_the_demand_charge_and_reported() -> None:
    """Issue 23: a demand charge (5,000 CNY/kW-month) above the old 1,000 CNY per unit·h slack price.

    Load 50 kW in both hours, full lossless-enough battery (100 kWh, 90 kWh deliverable), the line allows
    30 kW of battery injection: discharge 30 kW in both hours, peak 20 kW. Shaving to 5 kW with 15 units
    of slack for 2 h would save 15·5,000 = 75,000 CNY against 30,000 CNY of slack at the old price; at
    10·V = 50,000 CNY per kWh of slack (V = 5,000 CNY/kW over a 1 h interval; |a| = 1) it never pays. With the
    limit unreachable (loads push the row to 50 and the battery can pull it down only 5), the slack is
    used, 15, and reported.
    """
    row = NetworkRow("L1", {"B1": 1.0}, np.zeros(2), upper=30.0, lower=-100.0)
    b = battery(soc0=1.0)
    p = problem([50, 50], [0.5, 0.5], batteries=[b], network=[row], demand_charge_cny_per_kw_month=5000.0)
    s = solve(p)
    assert s.battery_discharge_kw["B1"] == pytest.approx([30, 30], abs=1e-4)
    assert s.kpis.peak_import_kw == pytest.approx(20, abs=1e-4)
    assert not any("network slack" in n for n in s.notes)
    stuck = NetworkRow("L1", {"B1": 1.0}, np.full(2, 50.0), upper=30.0, lower=-100.0)
    q = problem([10, 10], [0.2, 1.0], batteries=[battery(p_charge_max_kw=5.0)], network=[stuck])
    s2 = solve(q)
    assert s2.battery_charge_kw["B1"] == pytest.approx([5, 5], abs=1e-6)
    assert "network slack on L1: 2 intervals, worst 15 beyond the limit (no plan within it)" in s2.notes


def test_best_round_is_returned_when_later_rounds_are_worse() -> None:
    """Issue 23: the lazy-binary loop returns the best of its rounds, not the last.

    A full battery (100 kWh, SOC 1.0) above its band (soc_max 0.5) with nowhere to send energy: no
    load, no export. The soft band costs 10·V per kWh above 0.5·E per interval, so the LP relaxation
    burns the excess by charging and discharging at once, x kW each way with x/100 + x/100 ≤ 1:
    50 kW, burning 50·(1/0.9 − 0.9) = 10.556 kWh per hour; the 50 kWh excess is gone after 4.74 h
    (hours 0–4 cycle; SOC 0.89444, 0.78889, 0.68333, 0.57778, 0.5). Round 2 makes hours 0–4 binary:
    the battery idles there at SOC 1.0 (no outlet) and burns in hours 5–9 instead; round 3 idles in
    0–9 and burns in 10–14. Every round cycles, and each later one pays five more hours of the band
    penalty on 50 kWh: round 1 is the best by the loop's own ranking. Returning the last round would
    show SOC 1.0 in hour 0 and binaries.
    """
    b = battery(soc0=1.0, soc_max=0.5, soc_terminal=None)
    s = solve(problem([0.0] * 16, [0.5] * 16, batteries=[b]))
    burn = 50 * (1 / 0.9 - 0.9)
    hand = [1.0 - burn * (k + 1) / 100 for k in range(4)] + [0.5] * 12
    assert s.soc["B1"] == pytest.approx(hand, abs=1e-6)
    assert s.n_binaries == 0 and s.method == "lp"  # round 1, the LP relaxation
    assert "simultaneous charge and discharge in 5 intervals" in " ".join(s.notes)
