"""Issue 15: ``ems mpc`` plans with a spot-price file (the format of ``ems simulate-year --prices``), over
the CLI against the real store; a file not covering the horizon is refused naming it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ems.park import Park, example_park_path
from ems.store import Store
from ems.store.schedules import latest_schedule
from entrypoints.cli.main import app

HEADER = "start,import_cny_per_kwh,export_cny_per_kwh\n"


def _prices(tmp_path: Path, start: dt.datetime, hours: int, import_cny: float, export_cny: float) -> Path:
    rows = "".join(
        f"{(start + dt.timedelta(minutes=15 * k)).isoformat()},{import_cny},{export_cny}\n" for k in range(4 * hours)
    )
    path = tmp_path / "spot.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def _run(url: str, *args: str, park: Path | None = None) -> object:
    return CliRunner().invoke(
        app,
        ["mpc", "--park", str(park or example_park_path("tiny")), "--no-ac-check", "--horizon", "8", *args],
        env={"EMS_DATABASE_URL": url, "COLUMNS": "400"},  # one line per message: no wrapped file names
    )


def test_mpc_plans_with_the_price_file(fresh_db_url: str, tiny_park: Park, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    path = _prices(tmp_path, now - dt.timedelta(hours=1), 6, -5.0, 2.0)
    # cost only (weighted, no RE weight): the plan must follow the file's prices whatever the hour; in the
    # default lexicographic mode a horizon with PV and no load history keeps the battery for the PV first
    park = tmp_path / "tiny_cost_only.yaml"
    park.write_text(
        example_park_path("tiny").read_text(encoding="utf-8")
        + "dispatch: {objective: weighted, re_weight_cny_per_kwh: 0.0}\n",
        encoding="utf-8",
    )
    r = _run(fresh_db_url, "--steps", "1", "--prices", str(path), park=park)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    with Store.connect(fresh_db_url, tiny_park) as store, store.connection() as conn:
        s = latest_schedule(conn, ("mpc",))
    assert s is not None and s.kind == "mpc"
    # The file's prices: import −5 CNY/kWh (paid to take energy), export 2 CNY/kWh (above any value the
    # battery's energy has under the tariff). Tiny park: no contracts or direct lines, battery wear
    # 0.02 CNY/kWh discharged; so the plan's energy cost is Σ Δt·(−5·import − 2·export + 0.02·discharge).
    assert s.grid_export_kw is not None
    imp, exp = float(np.sum(s.grid_import_kw)) * 0.25, float(np.sum(s.grid_export_kw)) * 0.25
    discharge = float(np.sum(np.clip(s.device_series("BESS1", "p_kw"), 0, None))) * 0.25
    assert exp > 1.0  # the battery sells at the file's export price
    assert s.kpis["energy_cost_cny"] == pytest.approx(-5.0 * imp - 2.0 * exp + 0.02 * discharge, abs=1e-6)


def test_mpc_refuses_a_price_file_not_covering_the_horizon(tmp_path: Path) -> None:
    path = _prices(tmp_path, dt.datetime(2020, 1, 1, tzinfo=dt.UTC), 2, 0.5, 0.1)
    # refused before the store is opened: no database needed
    r = _run("postgresql://nobody@127.0.0.1:1/none", "--steps", "1", "--prices", str(path))
    assert r.exit_code == 2
    assert "--prices" in r.output and "spot.csv" in r.output  # type: ignore[attr-defined]
