"""The trading centre's settlement file into the contract ledger, and what the accounting then claims.

Four hours of metered import (tests/carbon/conftest.py park: one grid meter, one load): 800 kW for two
hours (200 kWh per 15-minute interval), then 100 kW (25 kWh per interval). The claims below are
computed by hand from those numbers and the settlement rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ems.carbon import service
from ems.carbon.settlement import import_settlement, parse
from ems.park import Park
from ems.store import Store
from tests.carbon.conftest import T0, carbon_park_data, ingest_constant_power

IMPORT = {"M_GRID": [800.0] * 8 + [100.0] * 8, "LOAD1": [-800.0] * 8 + [-100.0] * 8}
for dev in ("PV1", "WT1", "BESS1"):
    IMPORT[dev] = [0.0] * 16

# park time is UTC+8: T0 = 2026-03-02 00:00 local
GOOD = """contract_id,start,end,kwh
GPT-TEST,2026-03-02T00:00+08:00,2026-03-02T00:15+08:00,150
GPT-TEST,2026-03-02T00:15+08:00,2026-03-02T00:30+08:00,150
GPT-TEST,2026-03-02T00:30,2026-03-02T00:45,150
GPT-TEST,2026-03-01T16:45+00:00,2026-03-01T17:00+00:00,150.000
GPT-TEST,2026-03-02T02:00+08:00,2026-03-02T02:15+08:00,50
GPT-TEST,2026-03-02T02:15+08:00,2026-03-02T02:30+08:00,50
GPT-TEST,2026-03-02T03:00+08:00,2026-03-02T04:00+08:00,60
"""
# hand: intervals 0-3 claim 150 each (import 200); 8 and 9 claim their 25 kWh of import (25 each
# in excess); the hour 03:00-04:00 is a period delivery of 60 kWh against 100 kWh of import
CLAIMED = 4 * 150 + 2 * 25 + 60


@pytest.fixture
def metered(carbon_store: Store, carbon_park: Park) -> Store:
    ingest_constant_power(carbon_store, T0, 15, IMPORT)
    return carbon_store


def claimed(store: Store, park: Park) -> Decimal:
    run = service.run_for(store, park, T0, T0 + dt.timedelta(hours=4))
    return Decimal(round(float(run.accounts.contract_kwh.sum()), 3))


def test_settlement_reaches_the_ledger_and_the_claims(metered: Store, carbon_park: Park) -> None:
    res = import_settlement(metered, carbon_park, GOOD.encode())
    assert res.ok and len(res.recorded) == 7
    ds = {(d.period.start, d.granularity): d.kwh for d in service.deliveries(metered)}
    assert ds[(T0, "interval")] == Decimal(150)
    assert ds[(T0 + dt.timedelta(hours=3), "period")] == Decimal(60)
    assert claimed(metered, carbon_park) == Decimal(CLAIMED)


def test_reimport_is_idempotent_and_a_revision_corrects(metered: Store, carbon_park: Park) -> None:
    import_settlement(metered, carbon_park, GOOD.encode())
    again = import_settlement(metered, carbon_park, GOOD.encode())
    assert again.ok and len(again.duplicates) == 7 and not again.recorded and not again.corrected
    assert len(service.deliveries(metered)) == 7
    revised = GOOD.replace("00:15+08:00,150", "00:15+08:00,120", 1)  # interval 0 revised to 120 kWh
    rev = import_settlement(metered, carbon_park, revised.encode())
    assert len(rev.corrected) == 1 and len(rev.duplicates) == 6
    assert claimed(metered, carbon_park) == Decimal(CLAIMED - 30)


def test_chinese_headers_and_mwh(metered: Store, carbon_park: Park) -> None:
    text = (
        "合同编号,开始时间,结束时间,结算电量(MWh),结算单号\n"
        "GPT-TEST,2026-03-02T00:00,2026-03-02T01:00,0.4,JS-2026-03-0001\n"
    )
    res = import_settlement(metered, carbon_park, text.encode())
    assert res.ok
    (d,) = service.deliveries(metered)
    assert d.kwh == Decimal("400.0") and d.granularity == "period" and d.reference == "JS-2026-03-0001"
    assert claimed(metered, carbon_park) == Decimal(400)  # of the hour's 800 kWh of import


def test_bad_rows_are_refused_by_line_and_good_rows_kept(metered: Store, carbon_park: Park) -> None:
    text = (
        "contract_id,start,end,kwh\n"
        "GPT-NOPE,2026-03-02T00:00,2026-03-02T00:15,1\n"  # 2
        "GPT-TEST,2026-03-02T00:05,2026-03-02T00:20,1\n"  # 3
        "GPT-TEST,2026-03-02T00:15,2026-03-02T00:30,-5\n"  # 4
        "GPT-TEST,2026-03-02T00:15,2026-03-02T00:30,abc\n"  # 5
        "GPT-TEST,2026-03-02T00:15,2026-03-02T00:30,NaN\n"  # 6
        "GPT-TEST,2026-03-02T00:00,2026-03-02T01:00,10\n"  # 7 (kept)
        "GPT-TEST,2026-03-02T00:30,2026-03-02T00:45,10\n"  # 8 overlaps 7
        "GPT-TEST,2026-03-05T00:00,2026-03-06T00:00,10\n"  # 9 no metered import that day
        "GPT-TEST,2026-03-02T01:00\n"  # 10
    )
    res = import_settlement(metered, carbon_park, text.encode())
    reasons = dict(res.errors)
    assert sorted(reasons) == [2, 3, 4, 5, 6, 8, 9, 10]
    assert "unknown contract 'GPT-NOPE'" in reasons[2]
    assert "15-minute boundary" in reasons[3]
    assert ">= 0" in reasons[4] and ">= 0" in reasons[6]
    assert "overlaps line 7" in reasons[8]
    assert "no metered grid import" in reasons[9]
    assert "2 fields" in reasons[10]
    assert [line for line, _ in res.recorded] == [7]


def test_header_problems(carbon_park: Park) -> None:
    assert parse(b"", carbon_park)[1] == [(0, "empty file")]
    assert "unknown column" in parse(b"contract,start,end,kwh\n", carbon_park)[1][0][1]
    assert "not UTF-8" in parse(b"\xff\xfe\x00", carbon_park)[1][0][1]


def test_cli_import(metered: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.cli.main import app

    park_file = tmp_path / "park.yaml"
    park_file.write_text(yaml.safe_dump(carbon_park_data()), encoding="utf-8")
    f = tmp_path / "settlement.csv"
    f.write_text(GOOD + "GPT-NOPE,2026-03-02T00:00,2026-03-02T00:15,1\n", encoding="utf-8")
    monkeypatch.setenv("EMS_DATABASE_URL", metered.url)
    res = CliRunner().invoke(app, ["contracts", "import-settlement", str(f), "--park", str(park_file)])
    assert res.exit_code == 1
    assert "7 recorded, 0 corrections, 0 already in the ledger, 1 refused" in res.output
    assert "line 9: unknown contract 'GPT-NOPE'" in res.output
