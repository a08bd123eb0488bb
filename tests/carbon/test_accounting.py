"""Hand-calculated accounting cases: both Scope 2 methods, the storage ledger, matching, allocation.

The scenario (hourly intervals, East-China-like park, EF_grid 0.5978 = Jiangsu 2022, EF_residual
0.6096 = national excl. market-traded non-fossil 2023, battery eta_c 0.8, eta_d 1.0, no
self-discharge) is worked out by hand below; every expected figure is recomputed in the test
with Decimal arithmetic written out independently of the implementation.

    hour  I     G    D    Bc   Bd   contract(time-matched)  K = I+G+D+Bd-Bc-X
    0     1000  0    0    400  0    0                        600   night: grid charges battery
    1     0     800  200  0    160  0                        1160  day: half the pool discharged
    2     500   100  0    0    160  300                      760   rest of the pool
    3     2000  0    0    0    0    0                        2000
One certificate (1000 kWh) retired against hours [0, 4): eligible import I - C = 1000, 0, 200, 2000
(sum 3200) so Z_t = 1000 * (I-C)_t / 3200 = 312.5, 0, 62.5, 625.
"""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from ems.carbon.accounting import IntervalFlows, MarketClaims, VolumeBlock, account, allocate_blocks
from ems.carbon.aggregate import factor_points
from ems.carbon.matching import storage_aware_interval
from ems.carbon.storage_ledger import StorageParams

EF_GRID = D("0.5978")
EF_RES = D("0.6096")
STORAGE = StorageParams(eta_charge=0.8, eta_discharge=1.0, self_discharge_per_h=0.0)


def _flows(i, g, d, bc, bd, x=None, minutes=60):  # type: ignore[no-untyped-def]
    n = len(i)
    starts = np.datetime64("2026-03-01T16:00", "us") + np.arange(n) * np.timedelta64(minutes, "m")
    z = np.zeros(n)
    arr = lambda v: np.asarray(v, dtype=float)  # noqa: E731
    return IntervalFlows(
        starts,
        minutes,
        arr(i),
        z if x is None else arr(x),
        arr(g),
        arr(d),
        arr(bc),
        arr(bd),
        z,
        np.ones(n),
        np.zeros(n, dtype=bool),
    )


@pytest.fixture
def case():  # type: ignore[no-untyped-def]
    flows = _flows([1000, 0, 500, 2000], [0, 800, 100, 0], [0, 200, 0, 0], [400, 0, 0, 0], [0, 160, 160, 0])
    claims = MarketClaims(
        np.array([0.0, 0.0, 300.0, 0.0]),
        [(2, 300.0, "delivery:1")],
        [VolumeBlock(0, 4, 1000.0, ("GEC-1",), "certificate")],
    )
    return account(flows, np.full(4, float(EF_GRID)), np.full(4, float(EF_RES)), claims, STORAGE)


def q3(x: float) -> D:
    return D(f"{float(x):.3f}")


def test_consumption_and_location_based(case) -> None:  # type: ignore[no-untyped-def]
    # K = I + G + D + Bd - Bc - X per hour (table in the module docstring)
    assert [q3(v) for v in case.consumption_kwh] == [D("600.000"), D("1160.000"), D("760.000"), D("2000.000")]
    # location-based Scope 2: I * 0.5978 → 597.8, 0, 298.9, 1195.6; total 2092.3 kg
    assert [q3(v) for v in case.import_kg_loc] == [D("597.800"), D("0.000"), D("298.900"), D("1195.600")]
    assert q3(case.import_kg_loc.sum()) == 3500 * EF_GRID


def test_market_based_with_contract_and_certificate(case) -> None:  # type: ignore[no-untyped-def]
    z = [D(1000) * e / D(3200) for e in (D(1000), D(0), D(200), D(2000))]  # 312.5, 0, 62.5, 625
    assert [q3(v) for v in case.certificate_kwh] == [x.quantize(D("0.001")) for x in z]
    residual = [D(1000) - z[0], D(0), D(500) - D(300) - z[2], D(2000) - z[3]]  # 687.5, 0, 137.5, 1375
    assert [q3(v) for v in case.residual_kwh] == [r.quantize(D("0.001")) for r in residual]
    expected = [(r * EF_RES).quantize(D("0.001")) for r in residual]  # 419.1, 0, 83.82, 838.2
    assert [q3(v) for v in case.import_kg_mkt] == expected
    assert q3(case.import_kg_mkt.sum()) == D("1341.120")


def test_storage_ledger_carries_grid_intensity_into_daytime_discharge(case) -> None:  # type: ignore[no-untyped-def]
    # hour 0: 400 kWh from the grid → 320 kWh stored (eta_c 0.8) carrying 400 * 0.5978 = 239.12 kg
    # hour 1: 160 kWh out = half the pool → 119.56 kg, i.e. 0.74725 kg/kWh (grid intensity / eta_c)
    lg = case.ledger
    assert q3(lg.pool_kg_loc[0]) == D("239.120")
    assert D(f"{float(lg.discharge_kg_per_kwh_loc[1]):.6f}") == (400 * EF_GRID / 2 / 160).quantize(D("0.000001"))
    # night grid charging never turns green: the daytime discharge is not carbon-free
    assert lg.discharge_cfe_share[1] == 0.0
    assert q3(case.attributed_kg_loc[1]) == D("119.560")
    # hour 2: grid 500 * 0.5978 + the other half of the pool 119.56
    assert q3(case.attributed_kg_loc[2]) == 500 * EF_GRID + D("119.560")
    # charge losses 400 * (1 - 0.8) = 80 kWh, pool empty at the end
    assert q3(lg.losses_kwh.sum()) == D("80.000")
    assert lg.stored_kwh[-1] == 0.0
    # market method: hour-0 grid intensity is (1000 - 312.5) * 0.6096 / 1000 = 0.4191 kg/kWh
    assert q3(lg.pool_kg_mkt[0]) == (400 * (D(1000) - D("312.5")) * EF_RES / 1000).quantize(D("0.001"))
    # the pool empties, so attributed == boundary emissions for both methods
    assert q3(case.attributed_kg_loc.sum()) == q3(case.import_kg_loc.sum())
    assert q3(case.attributed_kg_mkt.sum()) == q3(case.import_kg_mkt.sum())


def test_park_factors_both_methods(case) -> None:  # type: ignore[no-untyped-def]
    pts = {
        m: factor_points(
            case.flows.starts,
            "Asia/Shanghai",
            "day",
            m,
            case.attributed_kg_loc if m == "location" else case.attributed_kg_mkt,
            case.consumption_kwh,
            case.flows.completeness,
            case.flows.estimated,
        )
        for m in ("location", "market")
    }
    # all four hours fall on 2026-03-02 local time; EF = sum(A) / sum(K) * 1000 g
    k_total = D(600 + 1160 + 760 + 2000)
    loc = 3500 * EF_GRID / k_total * 1000
    mkt = D("1341.12") / k_total * 1000
    assert len(pts["location"]) == 1
    assert pts["location"][0].value_g_per_kwh == loc.quantize(D("0.001"))
    assert pts["market"][0].value_g_per_kwh == mkt.quantize(D("0.001"))
    assert pts["location"][0].consumption_kwh == k_total


def test_hourly_matching_and_cfe_score(case) -> None:  # type: ignore[no-untyped-def]
    m = storage_aware_interval(case, "Asia/Shanghai")
    # hour 1: 800 local + 200 direct of 1160; hour 2: 100 local + 500 * 300/500 contract of 760
    assert [h.share for h in m.hours] == [
        D("0.000000"),
        (D(1000) / 1160).quantize(D("0.000001")),
        (D(400) / 760).quantize(D("0.000001")),
        D("0.000000"),
    ]
    assert m.cfe_score == (D(1400) / D(4520)).quantize(D("0.000001"))
    # certificates count as green (market-based clean share) but not as hourly carbon-free energy:
    # green = 600*0.3125 + (1000 + 160*0.3125) + (100 + 362.5 + 50) + 625 = 2375
    assert q3(case.green_kwh.sum()) == D("2375.000")


def test_contract_deliveries_cap_at_grid_import() -> None:
    flows = _flows([100, 50], [0, 0], [0, 0], [0, 0], [0, 0])
    claims = MarketClaims(np.array([150.0, 20.0]))
    acc = account(flows, 0.5, 0.6, claims, STORAGE)
    assert acc.contract_kwh.tolist() == [100.0, 20.0]  # min(delivery, import)
    assert acc.contract_excess_kwh.tolist() == [50.0, 0.0]  # flagged, never claimed
    assert q3(acc.import_kg_mkt.sum()) == D("18.000")  # only 30 kWh left for the residual factor 0.6


def test_block_allocation_never_exceeds_available_and_reports_unallocated() -> None:
    avail = np.array([10.0, 0.0, 30.0])
    total, alloc = allocate_blocks(avail, [VolumeBlock(0, 3, 100.0, ("x",), "certificate")])
    assert total.tolist() == [10.0, 0.0, 30.0]
    assert alloc[0].allocated_kwh == 40.0 and alloc[0].unallocated_kwh == 60.0
    # a block whose period reaches outside the window gets V * avail / recorded basis
    total, alloc = allocate_blocks(avail, [VolumeBlock(0, 3, 100.0, ("x",), "certificate", basis_kwh=400.0)])
    assert total.tolist() == [2.5, 0.0, 7.5]


def test_export_and_surplus_renewables_charge_battery_not_grid() -> None:
    # G 500, K is 200 (balance), battery charges 200 from the surplus, 100 exported; no grid
    flows = _flows([0], [500], [0], [200], [0], x=[100])
    acc = account(flows, 0.5978, 0.6096, MarketClaims.none(1), STORAGE)
    assert acc.consumption_kwh.tolist() == [200.0]
    assert acc.clean_to_charge_kwh.tolist() == [200.0]
    assert acc.ledger.pool_kg_loc[0] == 0.0  # renewable-charged pool carries no CO2


def test_negative_balance_is_imbalance_served_at_grid_intensity() -> None:
    # meters say 100 charged but only 80 supplied: 20 kWh of unknown origin, conservatively grid
    flows = _flows([80], [0], [0], [100], [0])
    acc = account(flows, 0.5, 0.6, MarketClaims.none(1), STORAGE)
    assert acc.consumption_kwh.tolist() == [0.0]
    assert acc.imbalance_kwh.tolist() == [20.0]
    assert q3(acc.ledger.pool_kg_loc[0]) == D("50.000")  # (80 grid + 20 unknown) * 0.5


def test_discharge_from_empty_pool_is_unknown_origin_at_grid_intensity() -> None:
    flows = _flows([0], [0], [0], [0], [80])
    acc = account(flows, 0.5, 0.6, MarketClaims.none(1), STORAGE)
    # 80 kWh out of an empty pool: as if charged from the grid: 80 / 0.8 = 100 kWh at 0.5 → 50 kg
    assert q3(acc.ledger.unknown_origin_kwh[0]) == D("100.000")
    assert q3(acc.attributed_kg_loc[0]) == D("50.000")


def test_milli_strings_are_exact() -> None:
    from ems.carbon.aggregate import milli_strings

    rng = np.random.default_rng(1)
    v = np.concatenate([rng.integers(-(10**12), 10**12, 5000), np.array([0, -1, 1, 999, -999, 1000, 10**12])])
    # reference: exact integer arithmetic
    expected = [("-" if x < 0 else "") + f"{abs(x) // 1000}.{abs(x) % 1000:03d}" for x in v.tolist()]
    assert milli_strings(v) == expected


def test_block_allocation_is_whole_wh_and_adds_up_exactly() -> None:
    # 1000 kWh over three equal intervals: 333.334 + 333.333 + 333.333 (largest remainder, first wins ties)
    total, _ = allocate_blocks(np.array([500.0, 500.0, 500.0]), [VolumeBlock(0, 3, 1000.0, ("c",), "certificate")])
    assert [q3(v) for v in total] == [D("333.334"), D("333.333"), D("333.333")]
    assert sum(q3(v) for v in total) == D("1000.000")
