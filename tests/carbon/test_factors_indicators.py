"""Factor registry (provenance, versions, user files, hourly series) and zero-carbon park indicators."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest

from ems.carbon.certificates import (
    DoubleRetirement,
    OverRetirement,
    Period,
    PeriodConflict,
    RetirementEntry,
    certificates_from_park,
    check_retirement,
)
from ems.carbon.factors import (
    FactorError,
    FactorRegistry,
    factor_from_mapping,
    read_factor_file,
    read_series_csv,
)
from ems.carbon.indicators import FuelUse, budget_status, compute_indicators
from ems.park import CarbonSettings, OtherFuel, Park

# values as given in the issue (MEE/NBS notices), kgCO2/kWh
PUBLISHED = {
    "cn-national-2021": "0.5568",
    "cn-national-2022": "0.5366",
    "cn-national-2023": "0.5306",
    "cn-national-excl-market-2021": "0.5942",
    "cn-national-excl-market-2022": "0.5856",
    "cn-national-excl-market-2023": "0.6096",
    "cn-national-fossil-2021": "0.8426",
    "cn-national-fossil-2022": "0.8325",
    "cn-national-fossil-2023": "0.8273",
    "cn-east-china-2021": "0.5992",
    "cn-east-china-2022": "0.5617",
    "cn-east-china-2023": "0.5500",
    "cn-zhejiang-2022": "0.5153",
    "cn-jiangsu-2022": "0.5978",
    "cn-shanghai-2022": "0.5849",
}


def test_published_factors_with_provenance() -> None:
    reg = FactorRegistry.published()
    assert {f.key: str(f.value) for f in reg.all()} == PUBLISHED
    f21 = reg.get("cn-national-2021")
    assert f21.id == "cn-national-2021@v1" and f21.origin == "published"
    assert "2024年第12号" in f21.document and f21.published == dt.date(2024, 4, 12)
    assert reg.get("cn-jiangsu-2022").published == dt.date(2024, 12, 20)
    assert "unverified" in reg.get("cn-jiangsu-2022").document  # notice number not invented
    assert reg.get("cn-national-2023").published is None  # date not verified → not stated
    for f in reg.all():
        assert f.unit == "kgCO2/kWh" and f.scope == "combustion_co2" and f.verification
        assert f.data_year == int(f.key[-4:])


def test_user_versions_never_overwrite_published() -> None:
    reg = FactorRegistry.published()
    row = {
        "key": "cn-jiangsu-2022",
        "value": "0.61",
        "region": "CN-JS",
        "data_year": 2022,
        "publisher": "me",
        "document": "memo",
    }
    v2 = reg.add(factor_from_mapping(row))
    v3 = reg.add(factor_from_mapping(dict(row, value="0.62")))
    assert (v2.id, v3.id) == ("cn-jiangsu-2022@v2", "cn-jiangsu-2022@v3")
    assert reg.get("cn-jiangsu-2022@v1").value == D("0.5978")
    assert reg.get("cn-jiangsu-2022").value == D("0.62")
    with pytest.raises(FactorError, match="no version 9"):
        reg.get("cn-jiangsu-2022@v9")
    with pytest.raises(FactorError, match="unknown emission factor"):
        reg.get("cn-nowhere-2022")
    with pytest.raises(FactorError, match="outside"):
        factor_from_mapping(dict(row, value="-1"))
    with pytest.raises(FactorError, match="missing"):
        factor_from_mapping({"key": "x-1", "value": "0.5"})


def test_factor_file_reports_bad_rows_and_keeps_good_ones(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text(
        "key,value,region,data_year,publisher,document\n"
        "ppa-2025,0.0,CN-JS,2025,Seller,contract 12\n"
        "bad,abc,CN,2025,x,y\n",
        encoding="utf-8",
    )
    good, bad = read_factor_file(p)
    assert [f.key for f in good] == ["ppa-2025"]
    assert bad == [(2, "value 'abc' is not a decimal number")]


def test_hourly_series_lookup(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("time,value\n2026-03-02T00:00:00+08:00,0.7\n2026-03-02T01:00:00+08:00,0.5\n", encoding="utf-8")
    s = read_series_csv(p, "js-hourly", interval_minutes=60, publisher="grid", document="hourly data")
    q = np.datetime64("2026-03-01T16:00", "us") + np.arange(8) * np.timedelta64(15, "m")
    assert s.at(q).tolist() == [0.7] * 4 + [0.5] * 4  # 15-minute intervals inside each hour
    with pytest.raises(FactorError, match="no value"):
        s.at(q + np.timedelta64(2, "h"))


def test_retirement_rules_pure(carbon_park: Park) -> None:
    certs = certificates_from_park(carbon_park)
    assert [c.serial for c in certs] == ["GEC-T-000001", "GEC-T-000002", "GEC-T-000003"]
    known = {c.serial for c in certs}
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    p = Period(t0, t0 + dt.timedelta(days=1))
    check_retirement(["GEC-T-000001", "GEC-T-000002"], p, D("2000"), known, {})  # exactly at the cap
    with pytest.raises(OverRetirement):
        check_retirement(["GEC-T-000001", "GEC-T-000002"], p, D("1999.999"), known, {})
    done = {"GEC-T-000001": RetirementEntry(1, "GEC-T-000001", 1, "retire", p, D("2000"), "x", "")}
    with pytest.raises(DoubleRetirement):
        check_retirement(["GEC-T-000001"], p, D("9999"), known, done)
    with pytest.raises(DoubleRetirement, match="twice"):
        check_retirement(["GEC-T-000002", "GEC-T-000002"], p, D("9999"), known, {})
    with pytest.raises(OverRetirement):  # 1 already in the period + 2 new > 2.5 MWh
        check_retirement(["GEC-T-000002", "GEC-T-000003"], p, D("2500"), known, done)
    with pytest.raises(PeriodConflict):
        check_retirement(
            ["GEC-T-000002"],
            Period(t0 + dt.timedelta(hours=12), t0 + dt.timedelta(days=2)),
            D("9999"),
            known,
            done,
        )


def test_indicators_and_thresholds() -> None:
    settings = CarbonSettings(
        grid_factor="cn-jiangsu-2022",
        annual_budget_tco2=D("1000"),
        other_fuels=[OtherFuel(name="gas", unit="m3", kgce_per_unit=D("1.2143"), kgco2_per_unit=D("2.162"))],
    )
    # one year: 2,000 GWh of electricity = 245,800 tce; 20,000 t CO2 from electricity; 1,000,000 m3 gas
    ind = compute_indicators(
        "market",
        D("2000000000"),
        D("20000000"),
        D("1900000000"),
        D("100000000"),
        settings,
        D(365),
        [FuelUse("gas", D("1000000"))],
    )
    energy = D("2000000000") * D("0.1229") / 1000 + D("1000000") * D("1.2143") / 1000  # 245800 + 1214.3 tce
    co2 = D("20000") + D("1000000") * D("2.162") / 1000  # 22162 t
    assert ind.energy_tce == energy.quantize(D("0.000001"))
    assert ind.intensity_t_per_tce == (co2 / energy).quantize(D("0.000001"))  # ≈ 0.0898
    assert ind.band.startswith("200,000-1,000,000") and ind.intensity_limit == D("0.20") and ind.intensity_ok
    clean = (D("1900000000") * D("0.1229") / 1000 / energy).quantize(D("0.000001"))  # ≈ 0.945
    assert ind.clean_share == clean and ind.clean_share_ok
    assert ind.direct_green_share == D("0.050000")
    big = compute_indicators("location", D("9000000000"), D("5000000000"), D(0), D(0), settings, D(365))
    assert big.band.startswith("above 1,000,000") and big.intensity_limit == D("0.30")
    assert big.intensity_gap is not None and big.intensity_gap > 0 and big.intensity_ok is False
    with pytest.raises(ValueError, match="not in the park file"):
        compute_indicators("market", D(1), D(1), D(1), D(1), settings, D(1), [FuelUse("coal", D(1))])


def test_budget_projection_warns() -> None:
    # 300 t in the first 73 days of a 365-day year → 1500 t projected against 1000 t
    b = budget_status(D("1000"), 2026, D("300"), D("73"), 365)
    assert b.projected_t == D("1500.000000")
    assert len(b.warnings) == 1 and "exceeds the annual budget" in b.warnings[0]
    assert budget_status(D("1000"), 2026, D("100"), D("73"), 365).warnings == []
    assert "exceeded" in budget_status(D("1000"), 2026, D("1200"), D("300"), 365).warnings[0]


def test_series_provenance_names_both_factors(carbon_park: Park) -> None:
    from ems.carbon.service import series_provenance

    prov = series_provenance(carbon_park, FactorRegistry.published())
    assert prov["grid"]["id"] == "cn-jiangsu-2022@v1"
    assert prov["residual"]["id"] == "cn-national-excl-market-2023@v1"


def test_budget_warns_when_data_are_incomplete() -> None:
    b = budget_status(D("1000"), 2026, D("100"), D("73"), 365, data_completeness=D("0.5"))
    assert b.warnings == [
        "year-to-date data are only 50.000000 % complete: the emissions and the projection understate the year"
    ]
