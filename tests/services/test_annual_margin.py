"""Issue 15 (uncertainty): ``ems simulate-year --peak-margin-quantile`` runs the closed loop without and
with the learned peak margin and reports both (typer's runner, demo park, two days re-planned daily)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from entrypoints.cli.dispatch import app


def test_simulate_year_compares_without_and_with_the_margin(tmp_path: Path) -> None:
    park = Path(__file__).resolve().parents[2] / "examples" / "demo_park.yaml"
    args = ["simulate-year", "--days", "2", "--replan", "daily", "--park", str(park), "--out", str(tmp_path)]
    r = CliRunner().invoke(app, [*args, "--peak-margin-quantile", "0.95"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "peak_margin.png").stat().st_size > 0
    data = json.loads((tmp_path / "results.json").read_text())
    pm = data["peak_margin"]
    assert pm["quantile"] == 0.95
    # the first re-plan has no scored forecast yet (no margin); the second has the first day's 96 errors
    assert pm["median_margin_kw"] > 0
    for side in ("without", "with"):
        f = {k: Decimal(str(v)) for k, v in pm[side].items()}
        assert f["energy_cny"] + f["demand_charge_cny"] <= f["total_cny"]  # plus green premium and carbon cost
        assert f["peak_kw"] > 0 and f["exceedances"] >= 0
    # the printed figures of the run with the margin are those of the comparison's "with" column
    assert Decimal(data["costs"]["total_cny"]) == Decimal(pm["with"]["total_cny"])
    assert "peak exceedances [intervals]" in r.output and "realised peak import [kW]" in r.output
    bad = CliRunner().invoke(app, [*args, "--peak-margin-quantile", "1.5"])
    assert bad.exit_code != 0 and "peak-margin-quantile" in bad.output


def test_simulate_year_compares_scenario_based_with_deterministic_mpc(tmp_path: Path) -> None:
    """Two days re-planned daily: the second re-plan has the first day's errors, so its three scenarios differ
    and the plans may too; both runs are reported, the printed figures are the scenario-based run's."""
    park = Path(__file__).resolve().parents[2] / "examples" / "demo_park.yaml"
    args = ["simulate-year", "--days", "2", "--replan", "daily", "--park", str(park), "--out", str(tmp_path)]
    r = CliRunner().invoke(app, [*args, "--scenarios", "3"])
    assert r.exit_code == 0, r.output
    sc = json.loads((tmp_path / "results.json").read_text())["scenarios"]
    assert sc["scenarios"] == 3
    assert Decimal(sc["scenario_based"]["total_cny"]) > 0 and Decimal(sc["deterministic"]["total_cny"]) > 0
    assert "local RE consumption [%]" in r.output and "3 scenarios" in r.output
    both = CliRunner().invoke(app, [*args, "--scenarios", "3", "--peak-margin-quantile", "0.9"], env={"COLUMNS": "400"})
    assert both.exit_code != 0 and "not both" in both.output
