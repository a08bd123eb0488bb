"""The power-grid-model batch path against pandapower's Newton-Raphson (the second solver).

Required accuracy (issue 4): 1e-6 pu in voltage, 1e-3 percentage points in loading.
"""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandapower as pp

from ems.park import Park
from grid_models import ParkNetwork, SeriesResult, park_profiles, timeseries

VM_TOL_PU = 1e-6
LOADING_TOL_PP = 1e-3


def assert_same(fast: SeriesResult, ref: SeriesResult) -> None:
    assert fast.converged.all() and ref.converged.all()
    np.testing.assert_array_equal(np.isnan(fast.vm_pu), np.isnan(ref.vm_pu))
    assert np.nanmax(np.abs(fast.vm_pu - ref.vm_pu)) < VM_TOL_PU
    assert np.nanmax(np.abs(fast.va_degree - ref.va_degree)) < 1e-4
    assert np.max(np.abs(fast.line_loading_percent - ref.line_loading_percent)) < LOADING_TOL_PP
    assert np.max(np.abs(fast.trafo_loading_percent - ref.trafo_loading_percent)) < LOADING_TOL_PP
    np.testing.assert_allclose(fast.grid_exchange_kw, ref.grid_exchange_kw, rtol=0, atol=1e-2)
    np.testing.assert_allclose(fast.grid_exchange_kvar, ref.grid_exchange_kvar, rtol=0, atol=1e-2)
    np.testing.assert_allclose(fast.losses_kw, ref.losses_kw, rtol=0, atol=1e-3)


def test_demo_park_day_matches_pandapower(demo_pn: ParkNetwork, demo_park: Park) -> None:
    # a summer day, hourly, with the battery swinging between full charge and discharge
    prof = park_profiles(demo_park, dt.datetime(2026, 7, 10, tzinfo=demo_park.tz), 96, seed=3)
    p = prof.p_kw[::4].copy()
    p[:, prof.device_ids.index("BESS")] = 20_000 * np.sin(np.linspace(0, 2 * np.pi, len(p)))
    fast = timeseries(demo_pn, prof.device_ids, p, fast=True)
    ref = timeseries(demo_pn, prof.device_ids, p, fast=False)
    assert_same(fast, ref)
    # the day is not trivial: real flows in both directions at the connection point
    assert ref.grid_exchange_kw.max() > 10_000 and ref.grid_exchange_kw.min() < 0


def _cigre_injections(pn: ParkNetwork, steps: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = pn.device_ids
    base = np.array([pn.base_injection_kw(d)[0] for d in ids])
    p = base[None, :] * rng.uniform(0.0, 2.5, (steps, len(ids)))
    # batteries both charging and discharging
    for j, d in enumerate(ids):
        if pn.element(d)[0] == "storage":
            p[:, j] = rng.uniform(-1500, 1500, steps)
    return ids, p


def test_cigre_mv_matches_pandapower(cigre_pn: ParkNetwork) -> None:
    ids, p = _cigre_injections(cigre_pn, 16, seed=7)
    assert_same(timeseries(cigre_pn, ids, p, fast=True), timeseries(cigre_pn, ids, p, fast=False))


def test_cigre_mv_meshed_with_taps_and_shunt_matches_pandapower(cigre_pn: ParkNetwork) -> None:
    # close the tie switches (meshed feeders), move a tap off neutral, add a shunt and an
    # out-of-service line: model features the conversion has to reproduce
    net = copy.deepcopy(cigre_pn.net)
    net.switch.loc[:, "closed"] = True
    net.trafo.loc[0, ["tap_side", "tap_neutral", "tap_pos", "tap_step_percent", "tap_changer_type"]] = [
        "hv",
        0,
        3,
        1.5,
        "Ratio",
    ]
    net.trafo.loc[0, ["tap_min", "tap_max"]] = [-9, 9]
    pp.create_shunt(net, 5, q_mvar=0.8, p_mw=0.01)
    net.line.loc[3, "in_service"] = False
    pn = ParkNetwork(net, cigre_pn.elements, cigre_pn.q_ratio, cigre_pn.limits, "cigre variant")
    ids, p = _cigre_injections(pn, 8, seed=11)
    fast = timeseries(pn, ids, p, fast=True)
    assert_same(fast, timeseries(pn, ids, p, fast=False))
    assert fast.line_loading_percent[:, 3].max() == 0.0
