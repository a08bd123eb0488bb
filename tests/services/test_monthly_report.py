"""The monthly operator report on a real store: every figure computed by hand from the telemetry sent.

March 2026, the carbon test park (tests/carbon/conftest.py: TOU valley 00-08 at 0.30, peak 08-11 and
17-22 at 1.00, flat 11-17 and 22-24 at 0.60 CNY/kWh; demand charge 30 CNY/kW-month; export 0.39;
contract GPT-TEST at 400 CNY/MWh). Every 15-minute interval imports 400 kW (100 kWh), except
12:00-13:00 each day (PV 300 kW, load 200 kW, 100 kW exported: 25 kWh) and one interval on 10 March
at 18:00 importing 600 kW (150 kWh). The settlement delivers 50 kWh in each of the 8 intervals of
1 March 00:00-02:00.

Grid energy: per day valley 32 × 100 × 0.30 = 960, peak 32 × 100 × 1.00 = 3,200, flat 28 × 100 ×
0.60 = 1,680 → 5,840; × 31 = 181,040; + 50 kWh at the peak price = 181,090; − 400 kWh of contract
energy at the valley price (120) = 180,970.00. Contracts 400 kWh × 0.40 = 160.00. Demand charge
600 kW × 30 = 18,000.00. Export 31 × 4 × 25 = 3,100 kWh × 0.39 = −1,209.00. Total 197,921.00.
Energy: import 31 × 92 × 100 + 50 = 285,250 kWh; PV 31 × 4 × 75 = 9,300; export 3,100;
consumption 285,250 + 9,300 − 3,100 = 291,450 kWh.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from ems.carbon.settlement import import_settlement
from ems.park import Park, parse_park
from ems.store import Store
from ems.store import alert_queries as AQ
from ems.telemetry import ReadingBatch
from services.monthly_report import IncompleteMonth, monthly_report, to_pdf, to_xlsx
from tests.carbon.conftest import carbon_park_data

START = dt.datetime(2026, 2, 28, 16, 0, tzinfo=dt.UTC)  # 1 March 2026 00:00 park time
N = 31 * 96


def park_data() -> dict:  # type: ignore[type-arg]
    data = carbon_park_data()
    data["carbon"]["accounting_origin"] = "2026-03-01"  # the storage pool starts empty on 1 March
    return data


@pytest.fixture(scope="module")
def carbon_park() -> Park:
    return parse_park(park_data(), "monthly-test-park")


def powers() -> dict[str, list[float]]:
    grid, load, pv = [], [], []
    for k in range(N):
        hour = (k % 96) // 4
        sunny = hour == 12
        peak = k == 9 * 96 + 18 * 4  # 10 March 18:00
        grid.append(-100.0 if sunny else 600.0 if peak else 400.0)
        pv.append(300.0 if sunny else 0.0)
        load.append(-(grid[-1] + pv[-1]))
    return {"M_GRID": grid, "LOAD1": load, "PV1": pv, "WT1": [0.0] * N, "BESS1": [0.0] * N}


def ingest_minutes(store: Store, p_kw: dict[str, list[float]]) -> None:
    """One reading a minute, constant within each 15-minute interval (its energy is p × 0.25 h)."""
    t0 = int(START.timestamp() * 1e6)
    t = t0 + np.arange(N * 15, dtype=np.int64) * 60_000_000
    batch = ReadingBatch(
        np.tile(t, len(p_kw)),
        np.repeat(np.array(list(p_kw), dtype=object), len(t)),
        np.full(len(t) * len(p_kw), "p_kw", dtype=object),
        np.concatenate([np.repeat(np.asarray(v), 15) for v in p_kw.values()]),
        np.zeros(len(t) * len(p_kw), dtype=np.int16),
    )
    res = store.ingest(batch, now=START + dt.timedelta(days=32))
    assert not res.rejected, res.rejected[:3]


@pytest.fixture(scope="module")
def march(tmp_path_factory: pytest.TempPathFactory, pg_url: str, carbon_park: Park):  # type: ignore[no-untyped-def]
    import uuid

    import psycopg
    import psycopg.conninfo

    name = f"ems_monthly_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    store = Store.connect(psycopg.conninfo.make_conninfo(pg_url, dbname=name), carbon_park)
    try:
        ingest_minutes(store, powers())
        rows = "\n".join(
            f"GPT-TEST,2026-03-01T{k // 4:02d}:{k % 4 * 15:02d},2026-03-01T{(k + 1) // 4:02d}:{(k + 1) % 4 * 15:02d},50"
            for k in range(8)
        )
        assert import_settlement(store, carbon_park, f"contract_id,start,end,kwh\n{rows}\n".encode()).ok
        with store.connection() as conn, conn.transaction():  # one alert in March, one in April
            for at in (dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC), dt.datetime(2026, 4, 2, tzinfo=dt.UTC)):
                a = AQ.raise_alert(conn, "gateway_silent", "gw-tiny", "warning", "gateway silent 2 h", {}, at)
                AQ.clear(conn, a, at + dt.timedelta(hours=2))
        yield store, monthly_report(store, carbon_park, "2026-03")
    finally:
        store.close()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_cost_by_component_by_hand(march) -> None:  # type: ignore[no-untyped-def]
    _, r = march
    assert r.cost_cny == {
        "grid_energy": Decimal("180970.00"),
        "contracts": Decimal("160.00"),
        "direct_lines": Decimal("0.00"),
        "demand_charge": Decimal("18000.00"),
        "export": Decimal("-1209.00"),
        "total": Decimal("197921.00"),
    }
    assert r.peak_import_kw == Decimal("600.0")
    assert r.peak_at == dt.datetime(2026, 3, 10, 18, 0, tzinfo=r.peak_at.tzinfo)


def test_energy_by_source_by_hand(march) -> None:  # type: ignore[no-untyped-def]
    _, r = march
    e = r.energy_mwh
    assert e["grid_import_kwh"] == Decimal("285.250") and e["contract_kwh"] == Decimal("0.400")
    assert e["local_re_kwh"] == Decimal("9.300") and e["export_kwh"] == Decimal("3.100")
    assert e["consumption_kwh"] == Decimal("291.450")
    assert len(r.daily) == 31 and r.daily[0]["contract_kwh"] == Decimal("0.400")
    assert r.daily[9]["cost"] == Decimal("5890.00")  # 5,840 + 50 kWh at the peak price
    assert sum((d["cost"] for d in r.daily), Decimal(0)) == r.cost_cny["grid_energy"]


def test_excel_read_back_by_openpyxl(march) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    _, r = march
    wb = load_workbook(BytesIO(to_xlsx(r)))
    cells = {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert cells["Total"] == pytest.approx(197921.00)
    assert cells["Demand charge"] == pytest.approx(18000.00)
    assert cells["Park consumption"] == pytest.approx(291.45)
    daily = list(wb["Daily"].iter_rows(values_only=True))
    assert daily[0][0] == "day" and len(daily) == 32 and daily[10][7] == pytest.approx(5890.0)
    assert wb["Daily"]._charts  # the supply chart is in the sheet
    alerts = list(wb["Alerts"].iter_rows(values_only=True))
    assert alerts[1][:4] == ("2026-03-05T10:00+08:00", "warning", "gateway_silent", "gw-tiny") and len(alerts) == 2
    assert alerts[1][5] == "2026-03-05T12:00+08:00"  # cleared two hours later


def test_pdf_text(march, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, r = march
    pdf = to_pdf(r)
    assert pdf.startswith(b"%PDF")
    tool = shutil.which("pdftotext")  # poppler-utils (installed by .ci/run): an independent PDF reader
    assert tool is not None
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run([tool, "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, check=True).stdout
    assert b"197,921.00" in text and b"18,000.00" in text and b"operator report 2026-03" in text
    assert b"Alerts raised in the month: 1" in text and b"gateway_silent" in text


def test_incomplete_and_unfinished_months_are_refused(march, carbon_park: Park) -> None:  # type: ignore[no-untyped-def]
    store, _ = march
    with pytest.raises(IncompleteMonth, match=r"2026-04: the boundary meters cover 0\.0%"):
        monthly_report(store, carbon_park, "2026-04")
    with pytest.raises(ValueError, match="has not ended"):
        monthly_report(store, carbon_park, "2026-03", now=dt.datetime(2026, 3, 20, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="not YYYY-MM"):
        monthly_report(store, carbon_park, "March")


def test_cli_writes_both_files(march, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from entrypoints.cli.main import app

    store, _ = march
    park_file = tmp_path / "park.yaml"
    park_file.write_text(yaml.safe_dump(park_data()), encoding="utf-8")
    monkeypatch.setenv("EMS_DATABASE_URL", store.url)
    res = CliRunner().invoke(
        app, ["report", "monthly", "--month", "2026-03", "--park", str(park_file), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "cost 197921.00 CNY" in res.output
    assert (tmp_path / "operator_report_2026-03.xlsx").stat().st_size > 0
    assert (tmp_path / "operator_report_2026-03.pdf").read_bytes().startswith(b"%PDF")
