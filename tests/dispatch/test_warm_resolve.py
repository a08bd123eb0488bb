"""Issue 15: MPC re-solves update the HiGHS LP in place and start each stage from its own previous
optimal basis moved with the horizon; the plans equal fresh solves, and edge cases of the in-place
update (parameters of variables or rows the compile left out) recompile instead of going wrong."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from dispatch.from_park import Forecast, problem_from_park
from dispatch.lp_update import LpSensitivity, LpVectors
from dispatch.problem import DispatchProblem
from dispatch.solver import Dispatcher, SolverOptions, highs_lp
from ems.park import Park
from ems.synthetic import synthesize_truth

START = dt.datetime(2026, 5, 4, 0, 0, tzinfo=dt.UTC)
N = 96


def _problem(
    park: Park, k: int, *, load: float = 1.0, price: float = 1.0, soc: float = 0.5, start: dt.datetime = START
) -> DispatchProblem:
    truth = synthesize_truth(park, start, N + 8, seed=5)
    cut = slice(k, k + N)
    fc = Forecast(
        start + k * dt.timedelta(minutes=15),
        15,
        {d: a[cut] for d, a in truth.pv_kw.items()},
        {d: a[cut] for d, a in truth.wind_kw.items()},
        {d: load * a[cut] for d, a in truth.load_kw.items()},
    )
    socs = {d.id: soc for d in park.devices if d.type == "battery"}
    p = problem_from_park(park, fc, soc0=socs)
    return dataclasses.replace(p, import_price=price * np.asarray(p.import_price))


# (intervals moved, problem): the horizon moving on, a price change with a measured SOC off the plan,
# a forecast revision at the same start, a jump of two intervals
STEPS = [
    (1, dict(k=1)),
    (1, dict(k=2, price=1.3, soc=0.35)),
    (0, dict(k=2, load=1.1, price=1.3, soc=0.35)),
    (2, dict(k=4, load=0.9)),
    (1, dict(k=5, load=0.9, soc=0.6)),
]


@pytest.fixture(scope="module", params=["lexicographic", "weighted"])
def runs(request: pytest.FixtureRequest, demo_park: Park) -> list[tuple[Dispatcher, Dispatcher, int, int]]:
    """Per step: warm model values and a fresh model's, with each one's simplex iterations."""
    options = SolverOptions(objective=request.param)
    warm = Dispatcher(options, update_in_place=True)
    assert warm.solve(_problem(demo_park, 0)).status == "optimal"
    out = []
    for shift, kw in STEPS:
        p = _problem(demo_park, **kw)  # type: ignore[arg-type]
        s = warm.solve(p, shift=shift)
        assert s.status == "optimal", s.fallback_reason
        fresh = Dispatcher(options)
        assert fresh.solve(p).status == "optimal"
        assert warm.model is not None and fresh.model is not None
        values = {
            name: (pyo.value(getattr(warm.model, name)), pyo.value(getattr(fresh.model, name)))
            for name in ("obj_cost", "obj_soft", "re_lost")
        }
        out.append((values, warm.simplex_iterations, fresh.simplex_iterations))
    assert warm.rebuilds == 1 and warm.in_place_updates == len(STEPS)
    return out


def test_warm_resolves_equal_fresh_solves(runs: list) -> None:
    """The objective (cost) to 1e-6 and the stage-1 value (local RE lost, kWh) to 1e-6 of a fresh
    Dispatcher's solve, after shifts, price, forecast and SOC changes."""
    for step, (values, _, _) in enumerate(runs):
        cost, fresh_cost = values["obj_cost"]
        assert cost == pytest.approx(fresh_cost, rel=1e-6, abs=1e-6), step
        soft, fresh_soft = values["obj_soft"]
        assert soft == pytest.approx(fresh_soft, rel=1e-6, abs=1e-6), step
        re, fresh_re = values["re_lost"]
        assert re == pytest.approx(fresh_re, abs=1e-6), step


def test_shifted_basis_saves_most_simplex_iterations(runs: list) -> None:
    """Deterministic stand-in for the timing target (HiGHS single-threaded): started from each
    stage's previous basis moved with the horizon, the re-solves need ~5 % of a cold solve's simplex
    iterations (125 of 2,332 lexicographic, 115 of 2,417 weighted, highspy 1.15). Each stage's own basis
    unshifted needed 10–14 %, the previous stage-2 basis for both stages (before issue 15) ~75 %."""
    warm = sum(w for _, w, _ in runs)
    cold = sum(c for _, _, c in runs)
    assert warm < 0.08 * cold, (warm, cold)


def _tiny() -> pyo.ConcreteModel:
    """``x`` appears only as ``p·x`` and row ``c`` only as ``p·x ≥ q``: with ``p = 0`` the compile
    leaves out the column ``x`` and the row ``c``."""
    m = pyo.ConcreteModel()
    m.p = pyo.Param(mutable=True, initialize=0.0)
    m.q = pyo.Param(mutable=True, initialize=-2.0)
    m.r = pyo.Param(mutable=True, initialize=1.0)
    m.x = pyo.Var(bounds=(0, 5))
    m.y = pyo.Var(bounds=(0, 5))
    m.c = pyo.Constraint(expr=m.p * m.x >= m.q)
    m.d = pyo.Constraint(expr=m.y + m.p * m.x >= m.r)
    m.o = pyo.Objective(expr=m.y + m.p * m.x)
    return m


def _sensitivity(m: pyo.ConcreteModel) -> LpSensitivity:
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    assert [v.name for v in info.columns] == ["y"] and [r.constraint.name for r in info.rows] == ["d"]
    lp = highs_lp(info, np.zeros(len(info.columns)))
    base = LpVectors(
        np.asarray(lp.col_lower_),
        np.asarray(lp.col_upper_),
        np.asarray(lp.row_lower_),
        np.asarray(lp.row_upper_),
        {"o": info.c.toarray()[0]},
    )
    return LpSensitivity(m, info.rows, info.columns, base)


@pytest.mark.parametrize(("param", "value", "in_place"), [("r", 3.0, True), ("p", 1.0, False), ("q", 1.0, False)])
def test_parameters_of_left_out_columns_and_rows_need_a_recompile(param: str, value: float, in_place: bool) -> None:
    """Regression (issue 15): a variable appearing only with zero-valued parameter coefficients made
    the sensitivity analysis fail (KeyError) and the plan fall back. Now the analysis builds, a change
    of a parameter the LP still holds is done in place (row ``d``'s side ``r``: 1 -> 3), and a change of
    one belonging to the left-out column or row (``p``, ``q``) asks for a recompile."""
    m = _tiny()
    sens = _sensitivity(m)
    getattr(m, param).value = value
    vec = sens.update()
    assert (vec is not None) == in_place
    if vec is not None:
        np.testing.assert_array_equal(vec.row_lower, [3.0])  # y >= r, by hand


def test_flexible_load_day_block_entering_the_horizon_is_not_lost(demo_park: Park) -> None:
    """Regression (issue 15): planned from local midnight, the EV fleet's next-day block has no interval
    in the horizon, so its energy row has no variable and the compile drops it. One interval later the
    block enters; the in-place update used to change only the rows it had, so the plan ignored that
    day's energy requirement (cost 1,766,953 instead of 1,767,042 CNY in the benchmark). Now the change
    asks for a recompile and the plan equals a fresh solve."""
    midnight = dt.datetime(2026, 5, 3, 16, 0, tzinfo=dt.UTC)  # 4 May 00:00 Beijing time
    warm = Dispatcher(update_in_place=True)
    assert warm.solve(_problem(demo_park, 0, start=midnight)).status == "optimal"
    p = _problem(demo_park, 1, start=midnight)
    assert warm.solve(p, shift=1).status == "optimal"
    assert warm.in_place_updates == 0  # recompiled
    fresh = Dispatcher()
    fresh.solve(p)
    assert warm.model is not None and fresh.model is not None
    assert pyo.value(warm.model.obj_cost) == pytest.approx(pyo.value(fresh.model.obj_cost), rel=1e-9)


def test_sensitivity_of_products_and_quotients_matches_a_recompile() -> None:
    """Row ``(a/b)·x + a·b·y ≥ 1``: the forward-mode derivatives (``a·b``) and the symbolic fallback
    (``a/b``, a quotient by a parameter) update the matrix to what a recompile gives when one parameter
    changes; both together change a derivative (``d(a·b)/da = b``), which asks for a recompile."""

    def model() -> pyo.ConcreteModel:
        m = pyo.ConcreteModel()
        m.a = pyo.Param(mutable=True, initialize=2.0)
        m.b = pyo.Param(mutable=True, initialize=4.0)
        m.x = pyo.Var(bounds=(0, 5))
        m.y = pyo.Var(bounds=(0, 5))
        m.c = pyo.Constraint(expr=(m.a / m.b) * m.x + m.a * m.b * m.y >= 1)
        m.o = pyo.Objective(expr=m.x + m.y)
        return m

    m = model()
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    lp = highs_lp(info, np.zeros(2))
    base = LpVectors(*(np.asarray(v) for v in (lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_)), {})
    sens = LpSensitivity(m, info.rows, info.columns, base)
    m.a.value = 3.0
    vec = sens.update()
    assert vec is not None
    _, cols, values = vec.coeffs
    got = {info.columns[j].name: v for j, v in zip(cols, values, strict=True)}
    assert got == pytest.approx({"x": 3 / 4, "y": 3 * 4})  # a/b and a·b at a = 3, b = 4, by hand
    m.a.value, m.b.value = 1.0, 1.0
    assert sens.update() is None
