"""Hand-computed allocation of a two-tenant park (conftest: A with a nested line meter, B holding a certificate)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from ems.carbon.certificates import Certificate, Period, RetirementEntry
from ems.carbon.factors import FactorRegistry
from ems.carbon.run import compute_run
from ems.footprint.allocate import COLUMNS
from ems.footprint.exact import split_exact
from ems.footprint.metering import MeteringError, meter_plan
from ems.footprint.result import FootprintRun, compute_footprint
from ems.footprint.statement import build_statement
from ems.park import Park, parse_park

from .conftest import POWER_KW, T0, energy_from_kw, footprint_park_data

END = T0 + dt.timedelta(minutes=30)


def _run(park: Park, beneficiary: str = "B") -> FootprintRun:
    ie = energy_from_kw(T0, 15, POWER_KW)
    month = Period(dt.datetime(2026, 3, 1, tzinfo=park.tz), dt.datetime(2026, 4, 1, tzinfo=park.tz))
    # one certificate (1000 kWh) retired for March with an eligible basis of 10 000 kWh: it covers
    # 1000 / 10000 = 10 % of each interval's grid import, i.e. 10 kWh of the 100 kWh
    ret = [RetirementEntry(1, "GEC-B-000001", 1, "retire", month, Decimal(10000), beneficiary, "")]
    run = compute_run(park, ie, T0, END, FactorRegistry.published(), [], ret)
    prod = {("A1", dt.date(2026, 3, 2)): (Decimal("8"), "t")}
    cert = Certificate(
        "GEC-B-000001",
        "Dafeng wind farm",
        "wind",
        "Yancheng",
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 31),
        "NEA",
    )
    return compute_footprint(park, T0, END, run, ie, prod, {cert.serial: cert})


def test_two_tenants_hand_computed(fp_park: Park) -> None:
    fr = _run(fp_park)
    al = fr.allocation
    assert al.rows == ["A", "B", "shared:unallocated", "park:remainder"]
    col = {c: al.columns[c][:, 0].tolist() for c in COLUMNS}  # first interval, Wh / gCO2
    # E: A = 75 + 0.25 x 20 = 80 kWh; B = 50 + 0.5 x 20 = 60; unallocated 5; remainder 150 - 75 - 50 - 20 = 5
    assert col["consumption_kwh"] == [80000, 60000, 5000, 5000]
    # PV 50 kWh pro rata 80:60:5:5 = 26666.67, 20000, 1666.67, 1666.67 Wh; 2 Wh short go to the largest
    # remainders (all 100/150; ties to the lower row): A and shared:unallocated
    assert col["local_re_kwh"] == [26667, 20000, 1667, 1666]
    # grid 100 kWh: 53333.33, 40000, 3333.33, 3333.33; 1 Wh short to A
    assert col["grid_kwh"] == [53334, 40000, 3333, 3333]
    # B's certificate: 10 kWh of grid import, all of it to load (no charge, no export), below B's 40 kWh
    assert col["own_certificate_kwh"] == [0, 10000, 0, 0]
    assert col["park_instruments_kwh"] == [0, 0, 0, 0]
    assert col["residual_kwh"] == [53334, 30000, 3333, 3333]
    # location: 100 kWh x 0.5978 = 59 780 g split by grid energy: 31883.07, 23912, 1992.47, 1992.47
    # → floors sum 59 779, 1 g to the largest remainder (0.47, tie → shared:unallocated)
    assert col["location_kg"] == [31883, 23912, 1993, 1992]
    # market: 90 kWh x 0.5856 (national excl. market-traded 2022) = 52 704 g split by residual energy:
    # 31232.39, 17568, 1951.80, 1951.80 → 2 g short to the two 0.80 remainders
    assert col["market_kg"] == [31232, 17568, 1952, 1952]
    # both intervals equal; period totals are twice the above
    assert fr.kwh("market_kg", "B") == Decimal("35.136")
    assert fr.kwh("location_kg", "A") == Decimal("63.766")


def test_balance_to_the_last_decimal(fp_park: Park) -> None:
    al = _run(fp_park).allocation
    for c in COLUMNS:
        np.testing.assert_array_equal(al.columns[c].sum(axis=0), al.park[c], err_msg=c)
    # and the park values are the carbon run's own rounded interval values (checked independently)
    assert int(al.park["market_kg"].sum()) == 2 * 52704 and int(al.park["consumption_kwh"].sum()) == 300000


def test_own_certificates_make_the_difference(fp_park: Park) -> None:
    # the same certificate retired for the park (beneficiary not a tenant) is pooled: split pro rata
    # to grid energy 53334:40000:3333:3333 → A 5333.4, B 4000, 333.3, 333.3 Wh per interval
    fr = _run(fp_park, beneficiary="park operator")
    assert fr.allocation.columns["park_instruments_kwh"][:, 0].tolist() == [5334, 4000, 333, 333]
    assert fr.allocation.columns["own_certificate_kwh"].sum() == 0
    own = _run(fp_park)
    assert own.kwh("market_kg", "B") < fr.kwh("market_kg", "B")
    assert own.kwh("market_kg", "A") > fr.kwh("market_kg", "A")


def test_per_unit_results(fp_park: Park) -> None:
    fr = _run(fp_park)
    st = build_statement(fr, "A", software_version="test")
    (line,) = st["lines"]
    # line A1 = 50 of A's 80 kWh: market 31232 g x 50/80 = 19520 g per interval → 39.040 kg over 8 t
    assert line["market_kg"] == "39.040" and line["market_kg_per_unit"] == "4.880000"
    # location 31883 x 50/80 = 19926.875 → 19927 g (largest remainder) → 39.854 kg / 8 t
    assert line["location_kg_per_unit"] == "4.981750"
    assert line["kwh_per_unit"] == "12.500000"  # 100 kWh / 8 t
    assert line["production"] == {"quantity": "8", "days_reported": 1, "days_in_period": 1, "complete": True}
    assert st["evidence"]["own_certificates"] == []
    st_b = build_statement(fr, "B", software_version="test")
    assert [c["serial"] for c in st_b["evidence"]["own_certificates"]] == ["GEC-B-000001"]
    assert st_b["evidence"]["own_certificate_claimed_kwh"] == "20.000"
    assert st_b["market_based"] == {"emissions_kg": "35.136", "factor_kg_per_kwh": "0.292800"}  # 35.136 / 120


def test_nested_meter_of_another_tenant_is_subtracted() -> None:
    data = footprint_park_data()
    for d in data["devices"]:
        if d["id"] == "M_B":
            d["parent"] = "M_A"  # B is supplied through A's meter
    park = parse_park(data)
    plan = meter_plan(park)
    assert plan.terms["A"] == [("M_A", 1), ("M_B", -1)]  # M_A1 (same owner, nested) is not counted again
    assert plan.terms["B"] == [("M_B", 1)]
    fr = _run(park)
    # A = 75 - 50 + 5 = 30 kWh; B = 60; remainder = 150 - 30 - 60 - 5 = 55 kWh per interval
    assert fr.allocation.columns["consumption_kwh"][:, 0].tolist() == [30000, 60000, 5000, 55000]


def test_bad_metering_is_refused() -> None:
    data = footprint_park_data()
    data["tenants"][1]["lines"] = [{"id": "B1", "product": "fabric", "unit": "t", "meter": "M_A1"}]
    with pytest.raises(MeteringError, match="line 'B1' of tenant 'B'"):
        meter_plan(parse_park(data))
    data = footprint_park_data()
    data["tenants"][1]["shared_meter_key"] = 0.8
    with pytest.raises(MeteringError, match=r"sum to 1\.05"):
        meter_plan(parse_park(data))


def test_split_exact_properties() -> None:
    rng = np.random.default_rng(7)
    total = rng.integers(-(10**6), 10**7, 500)
    w = rng.integers(0, 10**6, (5, 500))
    w[:, :10] = 0
    out = split_exact(total, w, fallback=4)
    np.testing.assert_array_equal(out.sum(axis=0), total)
    np.testing.assert_array_equal(out[4, :10], total[:10])
    exact = total[None, 10:] * w[:, 10:] / w[:, 10:].sum(axis=0)
    assert np.abs(out[:, 10:] - exact).max() < 1.0  # within one unit of the exact share
