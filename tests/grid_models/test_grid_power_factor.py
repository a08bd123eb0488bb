"""Power factor at the connection point: flagged below 0.90, and the 1983 tariff adjustment table."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from ems.park import Park, parse_park
from grid_models import ParkNetwork, build_network, snapshot
from grid_models.power_factor import adjustment_percent, monthly_power_factor


@pytest.mark.parametrize(
    ("pf", "percent"),
    [
        ("1.00", "-0.75"),
        ("0.95", "-0.75"),
        ("0.94", "-0.60"),
        ("0.91", "-0.15"),
        ("0.905", "-0.15"),  # rounds half up to 0.91
        ("0.90", "0"),
        ("0.89", "0.5"),
        ("0.80", "5.0"),
        ("0.70", "10.0"),
        ("0.69", "11"),
        ("0.65", "15"),
        ("0.64", "17"),
        ("0.60", "25"),
    ],
)
def test_adjustment_table(pf: str, percent: str) -> None:
    assert adjustment_percent(Decimal(pf)) == Decimal(percent)


def test_pf_below_090_flagged(demo_pn: ParkNetwork, demo_op: dict[str, float]) -> None:
    # sunny and windy: local generation covers most of the active power, the loads' reactive
    # power (cos φ 0.95) still comes from the grid, so the connection point's pf collapses
    r = snapshot(demo_pn, demo_op)  # pandapower Newton-Raphson
    p, q = r.grid_exchange_kw, r.grid_exchange_kvar
    assert p > 0 and p / math.hypot(p, q) < 0.9
    (v,) = [v for v in r.violations if v.kind == "power_factor"]
    assert v.value == pytest.approx(p / math.hypot(p, q)) and v.limit == 0.9 and v.margin < 0
    # night: loads only, pf above 0.9 (loads' 0.95 partly offset by cable charging): not flagged
    night = snapshot(demo_pn, {d: (x if x < 0 else 0.0) for d, x in demo_op.items()})
    pn_ = night.grid_exchange_kw / math.hypot(night.grid_exchange_kw, night.grid_exchange_kvar)
    assert pn_ > 0.9 and not [v for v in night.violations if v.kind == "power_factor"]
    # exporting is not a power-factor case even at a poor ratio
    export = snapshot(demo_pn, {**demo_op, "BESS": 20_000.0, "WIND": 20_000.0})
    assert export.grid_exchange_kw < 0 and not [v for v in export.violations if v.kind == "power_factor"]


def test_monthly_power_factor_hand_check() -> None:
    # 2 intervals of 1 h: 900 kWh and 436 kvarh → pf = 900 / hypot(900, 436) = 0.9000 → 0 %
    months = np.array(["2026-01", "2026-01", "2026-02"])
    out = monthly_power_factor(months, np.array([400.0, 500.0, 100.0]), np.array([200.0, 236.0, 100.0]), 1.0)
    assert [m.month for m in out] == ["2026-01", "2026-02"]
    assert out[0].power_factor == Decimal("0.90") and out[0].adjustment_percent == 0
    assert out[1].power_factor == Decimal("0.71") and out[1].adjustment_percent == Decimal("9.5")


def test_capacitor_banks_raise_the_power_factor(demo_park: Park, demo_op: dict[str, float]) -> None:
    # 2 x 6 Mvar at the 10 kV busbars; a shunt supplies q · V² (V in pu of its bus's vn_kv)
    data = demo_park.model_dump(mode="json")
    data["network"]["compensation"] = [
        {"id": "C_A", "bus": "MV_A", "q_kvar": 6000},
        {"id": "C_B", "bus": "MV_B", "q_kvar": 6000},
    ]
    plain, comp = build_network(demo_park), build_network(parse_park(data))
    assert comp.net.shunt.q_mvar.tolist() == [-6.0, -6.0]
    a, b = snapshot(plain, demo_op), snapshot(comp, demo_op)
    supplied = 6000 * (b.bus_vm_pu["MV_A"] ** 2 + b.bus_vm_pu["MV_B"] ** 2)
    # grid reactive import falls by about what the banks supply (the rest: lower I²X in T1/T2)
    assert a.grid_exchange_kvar - b.grid_exchange_kvar == pytest.approx(supplied, rel=0.05)
    pf_a = a.grid_exchange_kw / math.hypot(a.grid_exchange_kw, a.grid_exchange_kvar)
    pf_b = b.grid_exchange_kw / math.hypot(b.grid_exchange_kw, b.grid_exchange_kvar)
    assert pf_b > pf_a
