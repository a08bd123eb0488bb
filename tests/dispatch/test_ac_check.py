"""The AC check loop removes a transformer overload that the linear-free schedule causes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dispatch.from_park import problem_from_park
from dispatch.solver import Dispatcher
from ems.forecast import Forecast
from ems.park import Park
from ems.synthetic import synthesize_truth
from grid_models import build_network, timeseries
from services.network_check import dispatch_with_ac_check, schedule_injections

START = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)  # 00:00 Beijing time: valley prices
T = 24


def _weak_transformer_park(tiny: Park) -> Park:
    # T1 derated to 350 kVA; the battery must go from SOC 0.1 to 0.95 within the horizon
    nw = tiny.network
    tr = nw.transformers[0].model_copy(update={"sn_mva": 0.35})
    devices = [
        d.model_copy(update={"soc_initial": 0.1, "soc_terminal": 0.95}) if d.type == "battery" else d
        for d in tiny.devices
    ]
    return tiny.model_copy(update={"network": nw.model_copy(update={"transformers": [tr]}), "devices": devices})


def test_ac_check_loop_removes_transformer_overload(tiny_park: Park) -> None:
    park = _weak_transformer_park(tiny_park)
    truth = synthesize_truth(park, START, T, seed=2)
    fc = Forecast(START, 15, truth.pv_kw, truth.wind_kw, truth.load_kw)
    fc.import_price = 0.30 + 0.01 * np.arange(T)  # rising prices: charge as early and fast as possible
    p = problem_from_park(park, fc, peak_import_so_far_kw=800.0)  # the month's peak is set: no demand charge
    pn = build_network(park)
    s, report = dispatch_with_ac_check(Dispatcher(), p, pn)
    # without network rows the plan charges 200 kW at once: ~240 kW night load + 200 kW > 350 kVA
    assert report.violations_first and {v.element for v in report.violations_first} == {"T1"}
    assert max(v.value for v in report.violations_first) > 115
    assert report.ok and report.iterations >= 1
    assert any(r.name == "trafo_loading:T1" for r in report.rows)
    assert any(b.startswith("trafo_loading:T1 upper") for b in s.network_binding)
    # the battery still reaches its target, just more slowly
    assert s.soc["BESS1"][-1] == pytest.approx(0.95, abs=1e-6)
    assert s.battery_charge_kw["BESS1"].max() < 200 - 1
    # independent confirmation with pandapower's Newton-Raphson (not the fast batch path used in the loop)
    ids, inj = schedule_injections(p, s, pn)
    ref = timeseries(pn, ids, inj, fast=False)
    assert np.nanmax(ref.trafo_loading_percent) <= 100.0 + 1e-6
