"""``ems grid`` commands, run through typer's test runner; figures re-checked with plain pandapower."""

from __future__ import annotations

import copy
import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandapower as pp
import pytest
from typer.testing import CliRunner

from ems.park import Park
from entrypoints.cli.grid import app
from grid_models import ParkNetwork, park_profiles
from grid_models.network import INJECTION_SIGN

runner = CliRunner()


def test_check_a_day_lists_csv_and_plots(demo_park: Park, demo_pn: ParkNetwork, tmp_path: Path) -> None:
    out, png = tmp_path / "v.csv", tmp_path / "v.png"
    res = runner.invoke(app, ["check", "--date", "2026-06-21", "--csv", str(out), "--plot", str(png), "--show", "3"])
    assert res.exit_code == 0, res.output
    assert "96 intervals from 2026-06-20T16:00 UTC" in res.output
    rows = list(csv.DictReader(out.open()))
    assert f"wrote {len(rows)} violations" in res.output and "more" in res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the export interval of the day, re-run with pandapower alone: the exported kW must match
    (export,) = [r for r in rows if r["kind"] == "export_limit"]
    t = int(export["interval"])
    prof = park_profiles(demo_park, dt.datetime(2026, 6, 21, tzinfo=demo_park.tz), 96, seed=0)
    net = copy.deepcopy(demo_pn.net)
    for j, d in enumerate(prof.device_ids):
        table, idx = demo_pn.element(d)
        p = prof.p_kw[t, j] / 1000 * INJECTION_SIGN[table]
        net[table].at[idx, "p_mw"], net[table].at[idx, "q_mvar"] = p, p * demo_pn.q_ratio[d]
    pp.runpp(net, numba=False, calculate_voltage_angles=True, trafo_model="t", tolerance_mva=1e-9)
    assert -net.res_ext_grid.p_mw.sum() * 1000 == pytest.approx(float(export["value"]), rel=1e-5)
    # every power-factor row is an importing interval below 0.90 in pandapower's figures too
    pf_rows = [r for r in rows if r["kind"] == "power_factor"]
    assert pf_rows and all(float(r["value"]) < 0.9 for r in pf_rows)


def test_check_rejects_bad_date() -> None:
    res = runner.invoke(app, ["check", "--date", "21.06.2026"])
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output


def test_hosting_year_reports_violations() -> None:
    res = runner.invoke(app, ["hosting", "--bus", "F4_TEX", "--extra-pv-kw", "30000"])
    assert res.exit_code == 0, res.output
    assert "35040 intervals of 2026" in res.output
    assert "line_loading  L4" in res.output and "NOT OK" in res.output


def test_hosting_capacity_of_a_bus() -> None:
    res = runner.invoke(app, ["hosting", "--bus", "F5_EV", "--ignore", "export_limit"])
    assert res.exit_code == 0, res.output
    assert "pv hosting capacity over 35040 intervals of 2026" in res.output
    line = next(x for x in res.output.splitlines() if x.strip().startswith("F5_EV"))
    assert "binding:" in line and " kW" in line
    capacity = float(line.split()[1])
    assert 0 < capacity < 100_000 and not np.isnan(capacity)


def test_hosting_unknown_bus_and_kind() -> None:
    res = runner.invoke(app, ["hosting", "--bus", "NOPE", "--extra-pv-kw", "1"])
    assert res.exit_code == 2 and "unknown bus 'NOPE'" in res.output
    res = runner.invoke(app, ["hosting", "--bus", "F5_EV", "--ignore", "exports"])
    assert res.exit_code == 2 and "unknown kinds ['exports']" in res.output


def test_check_n_minus_1_radial_feeders_island() -> None:
    res = runner.invoke(app, ["check", "--date", "2026-01-05", "--show", "0", "--n-1"])
    assert res.exit_code == 0, res.output
    assert "line L4 out; without supply: F4_TEX, F5_EV" in res.output
    assert "trafo T1 out; without supply: MV_A, F1_CELLS, F2_WIND" in res.output  # coupler open in the demo
