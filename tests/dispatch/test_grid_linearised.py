"""Issue 20: losses, reactive power and per-interval re-linearisation in dispatch, checked by pandapower.

The demo park from 08:00 to 14:00 local on 13 April (24 intervals: PV cuts the active import while
the loads' reactive power stays, so at unity-pf inverters the power factor falls below 0.90),
planned with the grid model's linearisation and its AC check loop. Expected values come from
pandapower's Newton-Raphson on the planned injections (not the power-grid-model fast path the loop
itself uses) and from the tariff's 0.90 threshold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from dispatch.from_park import problem_from_park
from dispatch.problem import DispatchProblem
from dispatch.schedule import Schedule
from dispatch.solver import Dispatcher
from ems.park import Park
from ems.synthetic import synthesize_truth
from grid_models import ParkNetwork, SeriesResult, build_network
from grid_models.results import power_factor
from services.annual import truth_forecast
from services.network_check import AcCheckReport, ac_result, dispatch_with_ac_check, planned_exchange_kw

START = dt.datetime(2026, 4, 13, 0, 0, tzinfo=dt.UTC)  # 13 April 08:00 Beijing time
T = 24
#: the stated tolerance: the first-order residual of the last re-linearisation, well under the
#: 800+ kW of losses a lossless plan misses (asserted below)
EXCHANGE_TOLERANCE_KW = 25.0


@pytest.fixture(scope="module")
def case(demo_park: Park) -> tuple[DispatchProblem, ParkNetwork]:
    truth = synthesize_truth(demo_park, START, T, seed=11)
    return problem_from_park(demo_park, truth_forecast(demo_park, truth, 0, T)), build_network(demo_park)


@pytest.fixture(scope="module")
def linearised(case: tuple[DispatchProblem, ParkNetwork]) -> tuple[Schedule, AcCheckReport, SeriesResult]:
    p, pn = case
    s, report = dispatch_with_ac_check(Dispatcher(), p, pn, grid_model=True)
    return s, report, ac_result(p, s, pn, fast=False)


@pytest.fixture(scope="module")
def lossless(case: tuple[DispatchProblem, ParkNetwork]) -> tuple[Schedule, SeriesResult]:
    p, pn = case
    s, _ = dispatch_with_ac_check(Dispatcher(), p, pn, grid_model=False)
    return s, ac_result(p, s, pn, fast=False)


def test_planned_import_equals_pandapower_slack_power(linearised, lossless) -> None:
    s, report, ref = linearised
    error = np.abs(planned_exchange_kw(s) - ref.grid_exchange_kw)
    assert error.max() <= EXCHANGE_TOLERANCE_KW
    assert report.exchange_error_kw == pytest.approx(error.max(), abs=1e-3)  # fast path = pandapower
    # the lossless plan misses the network losses: pandapower's losses, to within the solver tolerance
    s0, ref0 = lossless
    missed = ref0.grid_exchange_kw - planned_exchange_kw(s0)
    assert missed.min() > 200.0
    np.testing.assert_allclose(missed, ref0.losses_kw, atol=1e-3)
    assert s.loss_kw is not None and s0.loss_kw is None


def test_reactive_dispatch_holds_the_power_factor(linearised, lossless, case) -> None:
    """pf = P/|S| at the slack from pandapower, while importing, against the 0.90 tariff threshold."""
    p, _ = case
    s, report, ref = linearised
    _, ref0 = lossless
    pf0 = power_factor(ref0.grid_exchange_kw, ref0.grid_exchange_kvar)
    pf = power_factor(ref.grid_exchange_kw, ref.grid_exchange_kvar)
    importing = ref.grid_exchange_kw > 0
    assert np.sum((pf0 < 0.90) & (ref0.grid_exchange_kw > 0)) >= 5  # unity-pf inverters: below the threshold
    assert np.all(pf[importing] >= 0.90)
    assert report.power_factor_intervals_final == 0
    # the inverters stay within their P-Q capability circle (the polygon is inscribed)
    caps = {r.id: r for r in p.reactive}
    for dev, q in s.q_kvar.items():
        p_kw = s.gen_p_kw.get(dev, s.battery_p_kw.get(dev))
        assert np.all(np.hypot(p_kw, q) <= caps[dev].s_kva + 1e-6)
        assert np.all(np.abs(q) <= caps[dev].q_max_kvar + 1e-6)
    assert any(np.abs(q).max() > 100 for q in s.q_kvar.values())


def test_voltages_within_limits_after_reactive_dispatch(linearised, case) -> None:
    _, pn = case
    _, _, ref = linearised
    lo, hi = pn.limits.voltage_band(len(ref.bus_ids))
    assert np.nanmin(ref.vm_pu - lo) >= 0 and np.nanmin(hi - ref.vm_pu) >= 0


def test_losses_make_an_import_limit_bind_that_the_lossless_plan_missed(case, lossless) -> None:
    """Import limit 50 kW above the lossless plan's peak: pandapower shows that plan above the limit
    (its losses were not planned); the linearised plan shaves its import to the limit, losses included."""
    p, pn = case
    s0, ref0 = lossless
    limit = float(planned_exchange_kw(s0).max()) + 50.0
    assert ref0.grid_exchange_kw.max() > limit + 100.0
    q = dataclasses.replace(p, import_limit_kw=limit)
    s, _ = dispatch_with_ac_check(Dispatcher(), q, pn, grid_model=True)
    ref = ac_result(q, s, pn, fast=False)
    assert planned_exchange_kw(s).max() == pytest.approx(limit, abs=1e-3)  # the limit binds in the plan
    # the plan sheds the ~500 kWh its batteries cannot cover; shedding costs the same in every interval,
    # so how it is spread over the intervals at the peak is a tie. The AC check runs the forecast
    # loads, so compare where nothing is shed
    served = s.demand_kw >= s0.demand_kw - 1e-6  # demand net of shiftable baselines, minus shedding
    assert served.sum() >= T - 2
    assert ref.grid_exchange_kw[served].max() <= limit + EXCHANGE_TOLERANCE_KW


def test_the_park_file_turns_the_grid_model_on(demo_park: Park, case, linearised) -> None:  # type: ignore[no-untyped-def]
    """`dispatch: {grid_model: true}` in the park file gives `ems plan`/the MPC the same plan as above."""
    from services.planning import solve_checked

    p, _ = case
    on = demo_park.model_copy(update={"dispatch": demo_park.dispatch.model_copy(update={"grid_model": True})})
    s = solve_checked(on, p, Dispatcher(), ac_check=True)
    np.testing.assert_allclose(planned_exchange_kw(s), planned_exchange_kw(linearised[0]), atol=1e-3)
    assert float(np.sum(s.loss_kw)) > 0
