"""The carbon CLI end to end against a real database: factors, certificates, report create/verify."""

from __future__ import annotations

import json
import re
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


def _issued_hash(output: str) -> str:
    m = re.search(r"content sha256 ([0-9a-f]{64})", output)
    assert m, output
    return m.group(1)


def test_cli_signed_restatement_and_refusals(cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issues 21/22 through the CLI: keygen, a signed report, a restatement, verify of each, refusals."""
    run = CliRunner().invoke
    key = tmp_path / "keys" / "park.pem"
    r = run(cli, ["report", "keygen", str(key)])
    assert r.exit_code == 0 and r.output.startswith("public key ") and oct(key.stat().st_mode)[-3:] == "600"
    public_key = r.output.split()[-1]
    assert "PRIVATE KEY" not in r.output
    monkeypatch.setenv("EMS_REPORT_SIGNING_KEY_FILE", str(key))
    start, end = "2026-03-02", "2026-03-02T02:00:00"
    r = run(cli, ["report", "create", "--start", start, "--end", end, "--no-pdf"])  # PDF: test_ledger_api.py
    assert r.exit_code == 0, r.output
    first = _issued_hash(r.output)
    files = {
        line.split()[0]: Path(line.split()[1])
        for line in r.output.splitlines()
        if line.split()[:1] in (["json"], ["csv"])
    }
    assert files["json"].name.startswith("tiny-test-park_2026-03-02_2026-03-02_")  # park-time days
    r = run(cli, ["report", "create", "--start", start, "--end", end, "--replaces", "0" * 64])
    assert r.exit_code == 2 and "not in the hash chain" in r.output
    assert sorted(p.name for p in files["json"].parent.iterdir() if p.suffix != ".jsonl") == sorted(
        p.name for p in files.values()
    )
    r = run(cli, ["contracts", "deliver", "GPT-TEST", "--start", start, "--end", end, "--kwh", "30"])
    assert r.exit_code == 0, r.output
    r = run(cli, ["report", "create", "--start", start, "--end", end, "--replaces", first, "--no-pdf"])
    assert r.exit_code == 0, r.output
    second = _issued_hash(r.output)
    for fmt in ("json", "csv"):
        r = run(cli, ["report", "verify", str(files[fmt])])
        assert r.exit_code == 0 and f"OK (valid, replaced by {second})" in r.output and "signed" in r.output, r.output
    chain = files["json"].parent / "hash_chain.jsonl"
    r = run(cli, ["report", "verify", str(files["csv"]), "--chain", str(chain), "--public-key", "ab" * 32])
    assert r.exit_code == 1 and "not the park's configured key" in r.output
    r = run(cli, ["report", "verify", str(files["csv"]), "--chain", str(chain), "--public-key", public_key])
    assert r.exit_code == 0, r.output
    r = run(cli, ["report", "list"])
    assert f"replaced by {second[:12]}" in r.output and "2026-03-02T00:00:00+08:00" in r.output
    r = run(cli, ["report", "create", "--start", "2099-01-01", "--end", "2099-01-02"])
    assert r.exit_code == 2 and "not over" in r.output
