"""``ems plan`` / ``ems simulate-year`` through typer's runner (synthetic source: no database needed)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from entrypoints.cli.dispatch import app


def test_plan_synthetic_prints_kpis_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    r = CliRunner().invoke(
        app,
        [
            "plan",
            "--source",
            "synthetic",
            "--day",
            "2026-05-01",
            "--intervals",
            "96",
            "--no-ac-check",
            "--json",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "objective_mode: lexicographic" in r.output and "local_re_consumption_ratio" in r.output
    data = json.loads(out.read_text())
    assert data["schedule"]["status"] == "optimal"
    assert float(data["kpis"]["cost_cny"]) < float(data["baseline_kpis"]["cost_cny"])


def test_plan_rejects_unknown_source() -> None:
    r = CliRunner().invoke(app, ["plan", "--source", "crystal-ball"])
    assert r.exit_code != 0 and "source must be" in r.output


def test_simulate_year_writes_plots(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        [
            "simulate-year",
            "--days",
            "1",
            "--replan",
            "daily",
            "--park",
            str(Path(__file__).resolve().parents[2] / "examples" / "tiny_park.yaml"),
            "--out",
            str(tmp_path),
        ],
    )
    assert r.exit_code == 0, r.output
    for name in (
        "soc.png",
        "supply_mix.png",
        "curtailment.png",
        "monthly_emission_factor.png",
        "results.json",
    ):
        assert (tmp_path / name).stat().st_size > 0
    data = json.loads((tmp_path / "results.json").read_text())
    assert "gains" in data
    # issue 21: the cost lines add up to the total on both sides, and the saving is stated per line
    for side in ("costs", "baseline_costs"):
        c = {k: Decimal(v) for k, v in data[side].items()}
        lines = ("energy_cny", "demand_charge_cny", "green_premium_cny", "carbon_cost_cny")
        assert sum(c[k] for k in lines) == c["total_cny"]
        # one day of January: the demand charge is 1/31 of the month's (30 CNY/kW x month-to-date peak)
        assert c["period_share_of_month"] == Decimal("0.0323")
        assert abs(c["demand_charge_cny"] - 30 * c["month_to_date_peak_kw"] / 31) <= Decimal("0.05")
    saving = {k: Decimal(v) for k, v in data["saving_by_line_cny"].items()}
    assert sum(v for k, v in saving.items() if k != "total") == saving["total"]
    assert "demand charge (prorated)" in r.output


def test_plan_from_store_saves_versioned_schedule(store, tiny_park, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from ems.forecast.runs import load_forecast
    from ems.store.schedules import load_schedule
    from ems.synthetic import synthesize

    day = dt.date(2026, 1, 10)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tiny_park.tz).astimezone(dt.UTC)
    history = synthesize(tiny_park, start - dt.timedelta(days=2), hours=48, step_s=60, seed=4)
    store.ingest(history.batch)
    monkeypatch.setenv("EMS_DATABASE_URL", store.url)
    park_file = str(Path(__file__).resolve().parents[2] / "examples" / "tiny_park.yaml")
    args = ["plan", "--park", park_file, "--day", day.isoformat(), "--source", "store", "--data-dir", str(tmp_path)]
    for _ in range(2):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
    assert "stored as schedule" in r.output and "version 2" in r.output
    with store.connection() as conn:
        s = load_schedule(conn, "day_ahead", start)
        assert s.version == 2 and s.status == "optimal" and len(s.times) == 96
        fc = load_forecast(conn, s.forecast_run_id)  # type: ignore[arg-type]
        assert fc.methods["PV1"] == "clear_sky_pv" and fc.methods["LOAD1"] == "similar_day_load"
        # 10 Jan 2026 is a Saturday and the history holds a Thursday and a Friday: no similar day, so the
        # forecast is the mean of both days at the same time of day, from the 1-minute samples directly
        measured = -history.p_kw["LOAD1"].reshape(2, 96, 15).mean(axis=2).mean(axis=0)
        np.testing.assert_allclose(fc.load_kw["LOAD1"], measured, rtol=1e-6)
        base = load_schedule(conn, "baseline", start)
        assert base.version == 2 and base.forecast_run_id == s.forecast_run_id


def test_plan_options_from_cli_and_park_file(tmp_path: Path) -> None:
    """Issue 23: objective, weight, time limit, MIP gap, interval length and prices are settable."""
    import datetime as dt

    import yaml

    from ems.park import example_park_path

    start = dt.datetime(2026, 5, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    rows = "".join(
        f"{(start + dt.timedelta(minutes=30 * k)).isoformat()},{0.3 if k < 16 else 0.9},-0.05\n" for k in range(48)
    )
    prices = tmp_path / "prices.csv"
    prices.write_text("start,import_cny_per_kwh,export_cny_per_kwh\n" + rows, encoding="utf-8")
    base = ["plan", "--source", "synthetic", "--day", "2026-05-01", "--no-ac-check", "--no-save"]
    r = CliRunner().invoke(
        app,
        [
            *base,
            *("--intervals", "48", "--interval-minutes", "30", "--objective", "weighted"),
            *("--re-weight-cny-per-kwh", "5", "--time-limit-s", "5", "--mip-gap", "0.001", "--prices", str(prices)),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "intervals: 48" in r.output and "dt_h: 0.5" in r.output
    assert "objective_mode: weighted(w=5.0 CNY per kWh of local RE lost)" in r.output
    # the same from the park file, prices relative to it
    data = yaml.safe_load(example_park_path("demo").read_text(encoding="utf-8"))
    data["interval_minutes"] = 30
    data["dispatch"] = {"objective": "weighted", "re_weight_cny_per_kwh": 3, "prices_file": "prices.csv"}
    park_file = tmp_path / "park.yaml"
    park_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r2 = CliRunner().invoke(app, [*base, "--park", str(park_file), "--intervals", "48"])
    assert r2.exit_code == 0, r2.output
    assert "objective_mode: weighted(w=3.0 CNY per kWh of local RE lost)" in r2.output
    # a price file that does not cover the horizon is named, not a traceback
    r3 = CliRunner().invoke(app, [*base, "--park", str(park_file), "--intervals", "96"])
    assert r3.exit_code != 0 and "is outside" in r3.output


def test_plan_defaults_to_one_day_at_any_interval_length() -> None:
    """Without --intervals a plan covers the local day: 24 hourly intervals, 288 five-minute ones (it was 96
    intervals whatever their length: four days at 60 minutes, eight hours at 5)."""
    base = ["plan", "--source", "synthetic", "--day", "2026-05-01", "--no-ac-check", "--no-save"]
    for minutes, n in ((60, 24), (5, 288)):
        r = CliRunner().invoke(app, [*base, "--interval-minutes", str(minutes)])
        assert r.exit_code == 0, r.output
        assert f"intervals: {n}" in r.output and f"dt_h: {minutes / 60}" in r.output
