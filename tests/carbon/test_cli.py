"""The carbon CLI end to end against a real database: factors, certificates, report create/verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from ems.park import Park
from ems.store import Store
from entrypoints.cli import carbon
from tests.carbon.conftest import T0, carbon_park_data, ingest_constant_power


@pytest.fixture
def cli(fresh_db_url: str, carbon_park: Park, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    park_file = tmp_path / "park.yaml"
    park_file.write_text(yaml.safe_dump(carbon_park_data(), allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("EMS_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("EMS_PARK_FILE", str(park_file))
    monkeypatch.setenv("EMS_DATA_DIR", str(tmp_path / "var"))
    with Store.connect(fresh_db_url, carbon_park) as store:
        ingest_constant_power(
            store,
            T0,
            15,
            {
                "M_GRID": [800.0] * 8,
                "LOAD1": [-800.0] * 8,
                "PV1": [0.0] * 8,
                "WT1": [0.0] * 8,
                "BESS1": [0.0] * 8,
            },
        )
    app = typer.Typer()
    app.add_typer(carbon.report_app, name="report")
    app.add_typer(carbon.factors_app, name="factors")
    app.add_typer(carbon.certificates_app, name="certificates")
    app.add_typer(carbon.contracts_app, name="contracts")
    return app


def test_cli_end_to_end(cli: typer.Typer, tmp_path: Path) -> None:
    run = CliRunner().invoke
    r = run(cli, ["factors", "list", "--offline"])
    assert r.exit_code == 0 and "cn-jiangsu-2022@v1" in r.output and "0.5978" in r.output
    r = run(
        cli,
        [
            "factors",
            "add",
            "--key",
            "cn-jiangsu-2022",
            "--value",
            "0.59",
            "--region",
            "CN-JS",
            "--year",
            "2022",
            "--publisher",
            "me",
            "--document",
            "memo",
        ],
    )
    assert r.exit_code == 0 and "cn-jiangsu-2022@v2" in r.output, r.output
    assert run(cli, ["certificates", "register"]).output.startswith("3 new")
    start, end = "2026-03-02", "2026-03-02T02:00:00"  # park local time: T0 .. T0 + 2 h
    r = run(
        cli,
        [
            "certificates",
            "retire",
            "GEC-T-000001..GEC-T-000001",
            "--start",
            start,
            "--end",
            end,
            "--beneficiary",
            "Tiny park",
        ],
    )
    assert r.exit_code == 0, r.output
    r = run(cli, ["certificates", "retire", "GEC-T-000001", "--start", start, "--end", end, "--beneficiary", "x"])
    assert r.exit_code == 2 and "once only" in r.output
    r = run(cli, ["report", "create", "--start", start, "--end", end, "--no-pdf"])
    assert r.exit_code == 0, r.output
    json_path = Path(next(line.split()[1] for line in r.output.splitlines() if line.startswith("json")))
    report = json.loads(json_path.read_bytes())["report"]
    assert report["factors"]["grid"]["id"] == "cn-jiangsu-2022@v2"  # newest version, recorded exactly
    assert report["period"]["start"] == "2026-03-02T00:00:00+08:00"  # dates are park local time
    assert run(cli, ["report", "verify", str(json_path)]).exit_code == 0
    doc = json.loads(json_path.read_bytes())
    doc["report"]["market_based"]["scope2_emissions_kg"] = "0.000"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    r = run(cli, ["report", "verify", str(bad)])
    assert r.exit_code == 1 and "FAIL" in r.output
    r = run(cli, ["report", "factors", "--start", start, "--end", end, "--method", "location"])
    # 800 kWh per hour at 0.59 (user version v2) → 590 g/kWh
    assert r.output.splitlines()[1].split(",")[2] == "590.000"
