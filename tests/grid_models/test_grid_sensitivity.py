"""Sensitivities against central finite differences of the full AC power flow (pandapower)."""

from __future__ import annotations

import numpy as np
import pytest

from grid_models import ParkNetwork, PowerFlowResult, sensitivities, snapshot

STEP_KW = 5.0


def _fd(pn: ParkNetwork, op: dict[str, float], device: str) -> dict[str, np.ndarray]:
    """Central difference of pandapower results for ``device`` ± STEP_KW."""
    up, dn = dict(op), dict(op)
    up[device] += STEP_KW
    dn[device] -= STEP_KW
    ru, rd = snapshot(pn, up), snapshot(pn, dn)

    def diff(get: str) -> np.ndarray:
        a: dict[str, float] = getattr(ru, get)
        b: dict[str, float] = getattr(rd, get)
        return (np.array(list(a.values())) - np.array(list(b.values()))) / (2 * STEP_KW)

    return {
        "exchange": np.array([(ru.grid_exchange_kw - rd.grid_exchange_kw) / (2 * STEP_KW)]),
        "vm": diff("bus_vm_pu"),
        "line": diff("line_loading_percent"),
        "trafo": diff("trafo_loading_percent"),
    }


def _check(pn: ParkNetwork, op: dict[str, float], devices: list[str]) -> None:
    s = sensitivities(pn, op, device_ids=devices)
    base: PowerFlowResult = snapshot(pn, op)
    # base values are those of the full AC power flow
    assert s.grid_exchange_kw == pytest.approx(base.grid_exchange_kw, abs=1e-3)
    np.testing.assert_allclose(s.line_loading_percent, list(base.line_loading_percent.values()), atol=1e-6)
    for j, d in enumerate(devices):
        fd = _fd(pn, op, d)
        # central differences are exact up to O(h²): 5 kW steps keep that below 1e-5 relative here
        np.testing.assert_allclose(s.d_exchange[j], fd["exchange"][0], rtol=1e-5, err_msg=d)
        np.testing.assert_allclose(s.d_vm[:, j], fd["vm"], rtol=1e-4, atol=1e-12, err_msg=d)
        np.testing.assert_allclose(s.d_line_loading[:, j], fd["line"], rtol=1e-4, atol=1e-9, err_msg=d)
        np.testing.assert_allclose(s.d_trafo_loading[:, j], fd["trafo"], rtol=1e-4, atol=1e-9, err_msg=d)


def test_demo_park_sensitivities_match_finite_differences(demo_pn: ParkNetwork, demo_op: dict[str, float]) -> None:
    _check(demo_pn, demo_op, demo_pn.device_ids)


def test_cigre_sensitivities_match_finite_differences(cigre_pn: ParkNetwork) -> None:
    op = {d: 1.5 * cigre_pn.base_injection_kw(d)[0] for d in cigre_pn.device_ids}
    op["Battery 1"] = -400.0
    _check(cigre_pn, op, ["PV 3", "WKA 7", "Battery 1", "Battery 2", "Load R1", "Load CI9", "CHP diesel 1"])


def test_loss_aware_exchange_sensitivity(demo_pn: ParkNetwork, demo_op: dict[str, float]) -> None:
    s = sensitivities(demo_pn, demo_op)
    d = dict(zip(s.device_ids, s.d_exchange, strict=True))
    # injecting 1 kW more reduces import by about 1 kW, corrected by marginal losses: an injection
    # far down a loaded feeder (F5_EV) saves more losses than one at the wind collector (exporting)
    assert all(-1.03 < v < -0.97 for v in d.values())
    assert d["LOAD_EV"] < d["PV_CELLS"] < d["WIND"]


def test_constraint_rows_predict_the_ac_exchange(demo_pn: ParkNetwork, demo_op: dict[str, float]) -> None:
    s = sensitivities(demo_pn, demo_op)
    rows = {(r.kind, r.element): r for r in s.constraint_rows()}
    export = rows[("export_limit", "grid_connection")]
    assert export.coeffs @ s.p0_kw <= export.rhs  # the operating point imports: export row holds
    # discharge the battery until the linear model says the park exports exactly 1 MW
    j = s.device_ids.index("BESS")
    dp = (-s.grid_exchange_kw - 1000.0) / s.d_exchange[j]
    p1 = s.p0_kw.copy()
    p1[j] += dp
    assert export.coeffs @ p1 == pytest.approx(export.rhs + 1000.0)
    ac = snapshot(demo_pn, {**demo_op, "BESS": demo_op["BESS"] + dp})
    # the AC check (what the dispatcher runs afterwards) agrees within the second-order loss change
    assert ac.grid_exchange_kw == pytest.approx(-1000.0, abs=30.0)
    assert [v.kind for v in ac.violations] == ["export_limit"]
    # rows exist for both exchange directions, every branch and both voltage bounds of every bus
    assert len(rows) == 2 + 5 + 2 + 2 * 8
