"""``ems grid`` commands, run through typer's test runner."""

from __future__ import annotations

from typer.testing import CliRunner

from entrypoints.cli.grid import app

runner = CliRunner()


def test_check_prints_snapshots() -> None:
    res = runner.invoke(app, ["check", "--date", "2026-06-21"])
    assert res.exit_code == 0, res.output
    assert "midday 12:00" in res.output and "night 03:00" in res.output
    assert "HV110 1.0200" in res.output  # the slack holds the connection point's 1.02 pu
    assert "T1" in res.output and "L5" in res.output


def test_check_rejects_bad_date() -> None:
    res = runner.invoke(app, ["check", "--date", "21.06.2026"])
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output


def test_hosting_year_reports_violations() -> None:
    res = runner.invoke(app, ["hosting", "--bus", "F4_TEX", "--extra-pv-kw", "30000"])
    assert res.exit_code == 0, res.output
    assert "35040 intervals of 2026" in res.output
    assert "line_loading  L4" in res.output and "NOT OK" in res.output


def test_hosting_unknown_bus() -> None:
    res = runner.invoke(app, ["hosting", "--bus", "NOPE", "--extra-pv-kw", "1"])
    assert res.exit_code == 2 and "unknown bus 'NOPE'" in res.output
