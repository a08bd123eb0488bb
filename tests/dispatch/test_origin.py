"""Issue 15: local renewable energy lost, counted by origin (dispatch.model.origin), on hand-solvable
cases; any interval length; the lexicographic and weighted modes agree when there is no local RE."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.solver import Dispatcher, SolverOptions, solve
from tests.dispatch.helpers import battery, problem

MODES = (
    SolverOptions(),
    SolverOptions(objective="weighted", re_weight_cny_per_kwh=0.0),
    SolverOptions(objective="weighted", re_weight_cny_per_kwh=10.0),
)


def _re_lost(options: SolverOptions, p: object) -> tuple[object, float]:
    d = Dispatcher(options)
    s = d.solve(p)  # type: ignore[arg-type]
    assert d.model is not None
    return s, float(d.model.re_lost.value)


def test_battery_only_arbitrage_with_export_is_the_cost_optimum() -> None:
    """Issue 15: with export allowed, the lexicographic plan must sell stored grid energy.

    Empty 100 kWh / 100 kW battery, 90 % each way, no load. Hour 0 buy at 0.2, hour 1 sell at 0.9:
    charge 100 kW (90 kWh stored), export 81 kW; 0.81·0.9 − 0.2 = 0.529 CNY per kWh bought > 0.
    Cost 0.2·100 − 0.9·81 = −52.9 CNY in every mode; nothing of it is local RE.
    """
    p = problem([0, 0], [0.2, 1.0], batteries=[battery()], export_limit=1000.0)
    p.export_price = np.array([0.1, 0.9])
    for options in MODES:
        s, lost = _re_lost(options, p)
        assert s.battery_charge_kw["B1"] == pytest.approx([100, 0], abs=1e-4)  # type: ignore[attr-defined]
        assert s.grid_export_kw == pytest.approx([0, 81], abs=1e-4)  # type: ignore[attr-defined]
        assert s.kpis.cost_cny == pytest.approx(-52.9, abs=1e-3)  # type: ignore[attr-defined]
        assert lost == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("export_limit", [50.0, 0.0])
def test_pv_surplus_with_export_and_with_anti_backflow(export_limit: float) -> None:
    # PV 100, load 30, no battery: 70 kW of surplus. Export up to 50 at 0.3 CNY (the rest curtailed),
    # or anti-backflow (all 70 curtailed): either way 70 kWh of local RE are lost.
    p = problem([30], [0.6], pv=[100], export_limit=export_limit, export_price=0.3)
    s, lost = _re_lost(SolverOptions(), p)
    assert s.grid_export_kw[0] == pytest.approx(export_limit, abs=1e-6)  # type: ignore[attr-defined]
    assert s.curtail_kw["PV1"][0] == pytest.approx(70 - export_limit, abs=1e-6)  # type: ignore[attr-defined]
    assert lost == pytest.approx(70, abs=1e-6)


def test_battery_stores_pv_for_the_evening() -> None:
    # PV 100 kW at noon, no load; evening load 81 kW at 1.0 CNY. Store all 100 kWh of PV (90 stored),
    # deliver 81: no curtailment, no import, and 19 kWh lost to the round trip (1 − 0.81)·100.
    p = problem([0, 81], [1.0, 1.0], pv=[100, 0], batteries=[battery()])
    s, lost = _re_lost(SolverOptions(), p)
    assert s.curtail_kw["PV1"] == pytest.approx([0, 0], abs=1e-6)  # type: ignore[attr-defined]
    assert s.battery_discharge_kw["B1"] == pytest.approx([0, 81], abs=1e-6)  # type: ignore[attr-defined]
    assert s.grid_import_kw == pytest.approx([0, 0], abs=1e-6)  # type: ignore[attr-defined]
    assert lost == pytest.approx(19, abs=1e-4)
    assert "local RE lost, counted by origin: 19.0 kWh" in s.notes  # type: ignore[attr-defined]


def test_grid_energy_exported_is_not_lost_but_stored_pv_exported_is() -> None:
    """Issue 15's definition, both sides.

    A: night buy at 0.1 (100 kW, 90 kWh stored), at noon PV 50 serves the load 50 and the battery sells
    81 kW at 1.0: no local RE lost, cost 10 − 81 = −71 CNY, as the cost optimum.
    B: noon PV 100 with no load and nothing paid for export; evening export pays 1.0. Storing costs 19 kWh
    of round trip; selling the stored PV would lose all 100, so the lexicographic plan keeps it stored,
    while cost alone (w = 0) sells 81 kWh.
    """
    a = problem([0, 50], [0.1, 0.5], pv=[0, 50], batteries=[battery()], export_limit=1000.0)
    a.export_price = np.array([0.0, 1.0])
    for options in MODES:
        s, lost = _re_lost(options, a)
        assert s.grid_export_kw == pytest.approx([0, 81], abs=1e-4)  # type: ignore[attr-defined]
        assert s.kpis.cost_cny == pytest.approx(-71, abs=1e-3)  # type: ignore[attr-defined]
        assert lost == pytest.approx(0, abs=1e-6)
    b = problem([0, 0], [0.5, 0.5], pv=[100, 0], batteries=[battery()], export_limit=1000.0)
    b.export_price = np.array([0.0, 1.0])
    lex, lost = _re_lost(SolverOptions(), b)
    assert lex.grid_export_kw == pytest.approx([0, 0], abs=1e-4)  # type: ignore[attr-defined]
    assert lost == pytest.approx(19, abs=1e-4)
    cost_only = solve(b, SolverOptions(objective="weighted", re_weight_cny_per_kwh=0.0))
    assert cost_only.grid_export_kw == pytest.approx([0, 81], abs=1e-4)


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    T=st.integers(2, 24),
    export_limit=st.sampled_from([0.0, 40.0]),
    soc0=st.floats(0.1, 0.9),
)
def test_lexicographic_cost_equals_weighted_cost_without_local_re(
    seed: int, T: int, export_limit: float, soc0: float
) -> None:
    # Without local generation no RE can be lost, so stage 1 is trivial and stage 2 is the weighted
    # objective: equal optima, costs equal up to the shared tie-breaker (ε·flows).
    rng = np.random.default_rng(seed)
    p = problem(
        list(rng.uniform(0, 80, T)),
        list(rng.uniform(-0.5, 1.5, T)),
        batteries=[battery(soc0=soc0, soc_terminal=None)],
        export_limit=export_limit,
        dt_h=0.25,
        demand_charge_cny_per_kw_month=float(rng.uniform(0, 40)),
    )
    p.export_price = p.import_price - rng.uniform(0, 0.2, T)
    lex = solve(p)
    for w in (0.0, 10.0):
        weighted = solve(p, SolverOptions(objective="weighted", re_weight_cny_per_kwh=w))
        flows = 0.25 * float(
            (weighted.grid_import_kw + weighted.grid_export_kw).sum()
            + (weighted.battery_charge_kw["B1"] + weighted.battery_discharge_kw["B1"]).sum()
        )
        assert lex.kpis.cost_cny == pytest.approx(weighted.kpis.cost_cny, abs=1e-4 * flows + 1e-5)


@pytest.mark.parametrize("minutes", [5, 15, 30, 60])
def test_any_interval_length(minutes: int) -> None:
    # Two hours at any resolution: the first hour at 0.2 CNY with no load, the second at 1.0 with 50 kW:
    # the closed form of test_hand_solvable_arbitrage, 50/0.81 kWh bought at 0.2 = 12.3457 CNY.
    n = 60 // minutes
    p = problem([0] * n + [50] * n, [0.2] * n + [1.0] * n, batteries=[battery()], dt_h=minutes / 60)
    s = solve(p)
    assert s.status == "optimal"
    assert len(s.times) == 2 * n
    assert s.kpis.cost_cny == pytest.approx(0.2 * 50 / 0.81, abs=1e-4)
    assert s.battery_discharge_kw["B1"][n:] == pytest.approx([50] * n, abs=1e-4)
