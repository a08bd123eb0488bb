"""Two-bus case with a closed-form answer: slack -- line (R + jX) -- constant-power load P + jQ.

With line-to-line voltages and three-phase powers the receiving-end voltage solves
``U2⁴ + (2(RP + XQ) − U1²)·U2² + (R² + X²)(P² + Q²) = 0`` (take the larger root); the
current is ``|S| / (√3·U2)``, losses ``R·|S|²/U2²`` and the sending-end phasor
``U1 = U2 + (RP + XQ)/U2 + j(XP − RQ)/U2`` gives the angle. Both backends are checked
against it.
"""

from __future__ import annotations

import math

import numpy as np
import pandapower as pp
import pytest

from grid_models import NetworkLimits, ParkNetwork, sensitivities, snapshot

U1_V = 10_000.0
R_OHM, X_OHM, I_MAX_KA = 0.5, 0.4, 0.5


def two_bus() -> ParkNetwork:
    net = pp.create_empty_network()
    b1, b2 = pp.create_bus(net, 10.0, name="SRC"), pp.create_bus(net, 10.0, name="LOADBUS")
    pp.create_ext_grid(net, b1, vm_pu=1.0)
    pp.create_line_from_parameters(net, b1, b2, 1.0, R_OHM, X_OHM, 0.0, I_MAX_KA, name="LINE")
    pp.create_load(net, b2, p_mw=0.0, name="LOAD")
    limits = NetworkLimits(v_min_pu=0.93, v_max_pu=1.07, line_max_loading_percent=(100.0,))
    return ParkNetwork(net, {"LOAD": ("load", 0)}, {"LOAD": 0.0}, limits, "two-bus")


def closed_form(p_w: float, q_var: float) -> dict[str, float]:
    a = U1_V**2 - 2 * (R_OHM * p_w + X_OHM * q_var)
    u2_sq = (a + math.sqrt(a * a - 4 * (R_OHM**2 + X_OHM**2) * (p_w**2 + q_var**2))) / 2
    u2 = math.sqrt(u2_sq)
    s_sq = p_w**2 + q_var**2
    re = u2 + (R_OHM * p_w + X_OHM * q_var) / u2
    im = (X_OHM * p_w - R_OHM * q_var) / u2
    return {
        "vm_pu": u2 / U1_V,
        "va_degree": -math.degrees(math.atan2(im, re)),
        "i_ka": math.sqrt(s_sq) / (math.sqrt(3) * u2) / 1e3,
        "losses_kw": R_OHM * s_sq / u2_sq / 1e3,
        "import_kw": (p_w + R_OHM * s_sq / u2_sq) / 1e3,
        "import_kvar": (q_var + X_OHM * s_sq / u2_sq) / 1e3,
    }


@pytest.mark.parametrize("fast", [False, True], ids=["pandapower", "power-grid-model"])
def test_two_bus_matches_closed_form(fast: bool) -> None:
    pn = two_bus()
    # load consumes 4 MW and 1.5 Mvar: generator convention gives negative injections
    r = snapshot(pn, {"LOAD": -4000.0}, {"LOAD": -1500.0}, fast=fast)
    cf = closed_form(4e6, 1.5e6)
    assert r.converged
    assert r.bus_vm_pu["SRC"] == pytest.approx(1.0, abs=1e-12)
    assert r.bus_vm_pu["LOADBUS"] == pytest.approx(cf["vm_pu"], abs=1e-9)
    assert r.bus_va_degree["LOADBUS"] == pytest.approx(cf["va_degree"], abs=1e-7)
    assert r.line_loading_percent["LINE"] == pytest.approx(cf["i_ka"] / I_MAX_KA * 100, abs=1e-6)
    assert r.losses_kw == pytest.approx(cf["losses_kw"], rel=1e-8)
    assert r.grid_exchange_kw == pytest.approx(cf["import_kw"], rel=1e-9)
    assert r.grid_exchange_kvar == pytest.approx(cf["import_kvar"], rel=1e-9)
    assert r.violations == []


@pytest.mark.parametrize("fast", [False, True], ids=["pandapower", "power-grid-model"])
def test_two_bus_heavy_load_violates_voltage_band_and_rating(fast: bool) -> None:
    pn = two_bus()
    r = snapshot(pn, {"LOAD": -10_000.0}, {"LOAD": -4_000.0}, fast=fast)
    cf = closed_form(10e6, 4e6)
    assert cf["vm_pu"] < 0.93 and cf["i_ka"] > I_MAX_KA  # the case is built to break both limits
    by_kind = {v.kind: v for v in r.violations}
    assert set(by_kind) == {"voltage_low", "line_loading"}
    low = by_kind["voltage_low"]
    assert (low.element, low.interval, low.limit) == ("LOADBUS", 0, 0.93)
    assert low.margin == pytest.approx(cf["vm_pu"] - 0.93, abs=1e-9)
    over = by_kind["line_loading"]
    assert over.element == "LINE"
    assert over.value == pytest.approx(cf["i_ka"] / I_MAX_KA * 100, abs=1e-6)
    assert over.margin == pytest.approx(100 - cf["i_ka"] / I_MAX_KA * 100, abs=1e-6)


def test_two_bus_sensitivities_match_the_closed_form_derivative() -> None:
    pn = two_bus()
    # a generator on the slack bus itself: it displaces import one for one
    pp.create_sgen(pn.net, 0, p_mw=0.0, name="SLACKGEN")
    pn = ParkNetwork(pn.net, {**pn.elements, "SLACKGEN": ("sgen", 0)}, {"LOAD": 0.0, "SLACKGEN": 0.0}, pn.limits)
    s = sensitivities(pn, {"LOAD": -4000.0, "SLACKGEN": 0.0}, q_kvar={"LOAD": -1500.0})  # q held: q_ratio 0
    # derivative of the closed form with respect to the load's injection (−P), by central difference
    h = 1.0  # W
    up, dn = closed_form(4e6 - h, 1.5e6), closed_form(4e6 + h, 1.5e6)
    j = s.device_ids.index("LOAD")
    assert s.d_exchange[j] == pytest.approx((up["import_kw"] - dn["import_kw"]) / (2 * h) * 1e3, rel=1e-6)
    assert s.d_vm[s.bus_ids.index("LOADBUS"), j] == pytest.approx((up["vm_pu"] - dn["vm_pu"]) / (2 * h) * 1e3, rel=1e-6)
    k = s.device_ids.index("SLACKGEN")
    assert s.d_exchange[k] == pytest.approx(-1.0, abs=1e-12)
    assert np.all(s.d_vm[:, k] == 0)
