"""Tripwire for pandapower's private conversion used by the fast path and the sensitivities.

``grid_models.branch_model`` calls ``pandapower.auxiliary._add_ppc_options`` and
``pandapower.pd2ppc._pd2ppc`` and reads ``net._pd2ppc_lookups``. These are not public API;
pyproject pins pandapower to the tested minor range. If an upgrade changes them, these tests
fail with a message saying what changed, before any result silently drifts.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandapower as pp
import pytest
from pandapower.auxiliary import _add_ppc_options
from pandapower.pd2ppc import _pd2ppc
from pandapower.pypower.idx_brch import BR_B, BR_R, BR_X, F_BUS, T_BUS, TAP

from grid_models.branch_model import branch_model

TESTED_MINOR = (3, 5)


def test_pandapower_version_is_the_tested_minor() -> None:
    major, minor = (int(x) for x in pp.__version__.split(".")[:2])
    assert (major, minor) == TESTED_MINOR, (
        f"pandapower {pp.__version__} is not the tested {TESTED_MINOR[0]}.{TESTED_MINOR[1]}.x: re-run "
        "tests/grid_models (fast path vs pandapower) and update TESTED_MINOR and the pin in pyproject.toml"
    )


def test_private_signatures_unchanged() -> None:
    params = set(inspect.signature(_add_ppc_options).parameters)
    used = {
        "net",
        "calculate_voltage_angles",
        "trafo_model",
        "check_connectivity",
        "mode",
        "switch_rx_ratio",
        "enforce_p_lims",
        "enforce_q_lims",
        "recycle",
        "voltage_depend_loads",
        "init_vm_pu",
        "init_va_degree",
    }
    assert used <= params, f"_add_ppc_options lost parameters {sorted(used - params)}"
    assert list(inspect.signature(_pd2ppc).parameters)[:1] == ["net"], "_pd2ppc(net, ...) changed"


def test_private_conversion_output_layout() -> None:
    """A 20 kV line of 2 km, 0.1 + j0.2 Ω/km, 10 nF/km, as ppc branch in pu on 1 MVA (pandapower's base).

    Hand calculation: Z_base = 20² / 1 = 400 Ω, so r = 0.2/400 = 5e-4, x = 0.4/400 = 1e-3;
    B = ω C l · Z_base = 2π·50·10e-9·2·400 = 2.513e-3 pu.
    """
    net = pp.create_empty_network(sn_mva=1.0)
    b0, b1 = pp.create_bus(net, 20.0), pp.create_bus(net, 20.0)
    pp.create_ext_grid(net, b0)
    pp.create_line_from_parameters(net, b0, b1, 2.0, r_ohm_per_km=0.1, x_ohm_per_km=0.2, c_nf_per_km=10, max_i_ka=0.3)
    bm = branch_model(net)
    assert bm.base_mva == 1.0 and bm.line_rows == (0, 1)
    assert bm.bus_lookup[[b0, b1]].tolist() == [0, 1]
    z = 1 / bm.ys[0]
    assert (z.real, z.imag) == pytest.approx((5e-4, 1e-3), rel=1e-12)
    assert bm.bc[0].imag == pytest.approx(2 * np.pi * 50 * 10e-9 * 2 * 400, rel=1e-12)
    # the raw ppc the model is read from: columns and lookups where branch_model expects them
    work = pp.pandapowerNet(net)
    work._options = {}
    _add_ppc_options(
        work,
        calculate_voltage_angles=True,
        trafo_model="t",
        check_connectivity=True,
        mode="pf",
        switch_rx_ratio=2,
        enforce_p_lims=False,
        enforce_q_lims=False,
        recycle=None,
        voltage_depend_loads=False,
        init_vm_pu="flat",
        init_va_degree="flat",
    )
    ppc, _ = _pd2ppc(work)
    br = ppc["branch"]
    assert br[0, [F_BUS, T_BUS]].real.tolist() == [0, 1]
    assert (br[0, BR_R].real, br[0, BR_X].real) == pytest.approx((5e-4, 1e-3), rel=1e-12)
    assert br[0, BR_B].real == pytest.approx(2.513274e-3, rel=1e-6) and br[0, TAP].real in (0.0, 1.0)
    lookups = work._pd2ppc_lookups
    assert {"bus", "branch"} <= set(lookups), f"_pd2ppc_lookups keys changed: {sorted(lookups)}"
    assert tuple(lookups["branch"]["line"]) == (0, 1)
