"""Production counts, statements and the footprint hash chain through the CLI, against a real database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest
import typer
import yaml
from typer.testing import CliRunner

from ems.park import Park
from ems.store import Store
from entrypoints.cli import footprint

from .conftest import POWER_KW, T0, footprint_park_data, ingest_constant_power

N = 8  # 2 hours of the conftest profile
PERIOD = ["--start", T0.isoformat(), "--end", (T0 + dt.timedelta(minutes=15 * N)).isoformat()]


@pytest.fixture
def cli(fresh_db_url: str, fp_park: Park, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    park_file = tmp_path / "park.yaml"
    park_file.write_text(yaml.safe_dump(footprint_park_data(), allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("EMS_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("EMS_PARK_FILE", str(park_file))
    monkeypatch.setenv("EMS_DATA_DIR", str(tmp_path / "var"))
    with Store.connect(fresh_db_url, fp_park) as store:
        ingest_constant_power(store, T0, 15, {d: [p[0]] * N for d, p in POWER_KW.items()})
    app = typer.Typer()
    app.add_typer(footprint.tenants_app, name="tenants")
    app.add_typer(footprint.production_app, name="production")
    app.add_typer(footprint.cbam_app, name="cbam")
    return app


def test_production_file_row_by_row(cli: typer.Typer, tmp_path: Path, fresh_db_url: str) -> None:
    f = tmp_path / "prod.csv"
    f.write_text(
        "line,day,quantity,unit\nA1,2026-03-02,8,t\nA1,2026-03-32,1,t\nA9,2026-03-02,1,t\nA1,2026-03-02,x,t\n"
        "A1,2026-03-02,2,kg\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(cli, ["production", "load", str(f)])
    assert r.exit_code == 1
    assert "1 row(s) stored, 4 rejected" in r.stdout
    for row, what in ((3, "not a date"), (4, "unknown production line 'A9'"), (5, "not a number"), (6, "unit 'kg'")):
        assert f"row {row}: " in r.stderr and what in r.stderr
    with psycopg.connect(fresh_db_url) as conn, pytest.raises(psycopg.errors.IntegrityConstraintViolation):
        conn.execute("UPDATE footprint_production SET quantity = 9")  # append-only


def test_statement_reproducible_chained_and_verifiable(cli: typer.Typer, tmp_path: Path) -> None:
    run = CliRunner()
    f = tmp_path / "prod.csv"
    f.write_text("line,day,quantity,unit\nA1,2026-03-02,8,t\n", encoding="utf-8")
    assert run.invoke(cli, ["production", "load", str(f)]).exit_code == 0
    out = tmp_path / "docs"
    r1 = run.invoke(cli, ["tenants", "statement", "--tenant", "A", *PERIOD, "--out", str(out)])
    assert r1.exit_code == 0, r1.output
    r2 = run.invoke(cli, ["tenants", "statement", "--tenant", "A", *PERIOD, "--out", str(out), "--no-pdf"])
    h = r1.stdout.split()[2]
    assert r2.stdout.split()[2] == h and "chain seq 1" in r2.stdout  # same inputs: same hash, issued once
    doc = next(out.glob("tenant_statement_a_*.json"))
    body = json.loads(doc.read_bytes())["report"]
    # 8 intervals x 80 kWh; line A1: 50 kWh x 8 = 400 kWh over 8 t; market 19.520 kg x 8 / 8 t (hand case)
    assert body["consumption_kwh"] == "640.000"
    assert body["lines"][0]["kwh_per_unit"] == "50.000000"
    assert body["lines"][0]["market_kg_per_unit"] == "19.520000"
    assert next(out.glob("tenant_statement_a_*.pdf")).read_bytes().startswith(b"%PDF")
    assert run.invoke(cli, ["tenants", "verify", str(doc)]).exit_code == 0
    tampered = tmp_path / "t.json"
    tampered.write_bytes(doc.read_bytes().replace(b'"640.000"', b'"600.000"'))
    bad = run.invoke(cli, ["tenants", "verify", str(tampered)])
    assert bad.exit_code == 1 and "changed after it was issued" in bad.stdout
    sheet = run.invoke(cli, ["cbam", "sheet", "--tenant", "B", *PERIOD, "--out", str(out)])
    assert sheet.exit_code == 0, sheet.output
    listed = run.invoke(cli, ["tenants", "list"]).stdout.splitlines()
    assert [ln.split()[1] for ln in listed] == ["tenant_statement", "cbam_sheet"]
    bal = run.invoke(cli, ["tenants", "balance", *PERIOD])
    assert bal.stdout.splitlines()[-1].split()[-3:] == ["0.000", "0.000", "0.000"]


def test_unknown_tenant_is_a_clear_error(cli: typer.Typer) -> None:
    r = CliRunner().invoke(cli, ["tenants", "statement", "--tenant", "ZZ", *PERIOD, "--no-pdf"])
    assert r.exit_code == 2 and "unknown tenant 'ZZ'" in r.stderr
