"""Plans made from the store start where the month stands, as ``ems mpc`` does, and use the park's own grid
factor: the month's metered peak import so far (the demand charge), and the park file's ``carbon.grid_factor``
resolved in the store's factor registry (user versions and time-varying series). Values set by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from dispatch.from_park import problem_from_park
from ems.carbon import service
from ems.carbon.factors import read_series_csv
from ems.forecast import Forecast
from ems.park import Park
from ems.store import Store
from ems.telemetry import ReadingBatch, to_us
from services.planning import plan_from_store

START = dt.datetime(2026, 3, 9, 16, 0, tzinfo=dt.UTC)  # 10 March 2026 00:00 park time (UTC+8)


def _with_factor(park: Park, ref: str) -> Park:
    return park.model_copy(update={"carbon": park.carbon.model_copy(update={"grid_factor": ref})})


def test_problem_uses_the_park_files_grid_factor(tiny_park: Park) -> None:
    fc = Forecast(START, 15, {"PV1": np.zeros(4)}, {"WT1": np.zeros(4)}, {"LOAD1": np.full(4, 100.0)})
    p = problem_from_park(_with_factor(tiny_park, "cn-zhejiang-2022"), fc)
    assert p.ef_kg_per_kwh.tolist() == [0.5153] * 4  # MEE/NBS 2022, Zhejiang (the tiny park file says Jiangsu)
    assert p.ef_source.startswith("cn-zhejiang-2022@v1: 0.5153 kgCO2/kWh")


def test_day_ahead_plan_starts_from_the_months_peak_and_the_stores_factor_series(
    store: Store, tiny_park: Park, tmp_path: Path
) -> None:
    # the grid meter: 300 kW for an hour, then 900 kW for an hour, on 5 March (park time), one reading a minute
    t0 = dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC)
    times = [t0 + dt.timedelta(minutes=m) for m in range(120)]
    values = np.r_[np.full(60, 300.0), np.full(60, 900.0)]
    batch = ReadingBatch(
        np.array([to_us(t) for t in times], np.int64),
        np.full(120, "M_GRID", object),
        np.full(120, "p_kw", object),
        values,
        np.zeros(120, np.int16),
    )
    assert store.ingest(batch, now=START).accepted == 120
    csv = tmp_path / "hourly.csv"
    csv.write_text("time,value\n" + f"{START.isoformat()},0.7\n{(START + dt.timedelta(hours=1)).isoformat()},0.5\n")
    service.add_series(
        store, read_series_csv(csv, "js-hourly-2026", interval_minutes=60, publisher="grid company", document="test")
    )
    park = _with_factor(tiny_park, "js-hourly-2026")
    res = plan_from_store(store, park, START, intervals=8, ac_check=False, save=False)
    assert res.problem.peak_import_so_far_kw == pytest.approx(900.0)  # the 900 kW hour's 15-minute means
    assert res.problem.ef_kg_per_kwh.tolist() == [0.7] * 4 + [0.5] * 4
    assert res.problem.ef_source.startswith("js-hourly-2026@v1: time-varying series (grid company)")


def test_a_factor_series_ending_before_the_horizon_repeats_its_last_day(
    store: Store, tiny_park: Park, tmp_path: Path
) -> None:
    """Hourly factors are published after the fact, so a plan's horizon runs past the series: those intervals
    take the same hour of the series' last day (a persistence forecast), and the source says how many."""
    day_before = START - dt.timedelta(days=1)
    csv = tmp_path / "hourly.csv"
    csv.write_text(
        "time,value\n"
        + "".join(f"{(day_before + dt.timedelta(hours=k)).isoformat()},{0.30 + k / 100:.2f}\n" for k in range(24))
    )
    service.add_series(
        store, read_series_csv(csv, "js-hourly-2026", interval_minutes=60, publisher="grid company", document="test")
    )
    res = plan_from_store(
        store, _with_factor(tiny_park, "js-hourly-2026"), START, intervals=8, ac_check=False, save=False
    )
    assert res.problem.ef_kg_per_kwh.tolist() == [0.30] * 4 + [0.31] * 4  # hours 0 and 1 of the day before
    assert "8 of 8 intervals repeat its last covered day" in res.problem.ef_source


def test_a_factor_only_the_store_knows_is_refused_clearly_without_it(tiny_park: Park) -> None:
    from ems.carbon.factors import FactorError

    fc = Forecast(START, 15, {"PV1": np.zeros(4)}, {"WT1": np.zeros(4)}, {"LOAD1": np.full(4, 100.0)})
    with pytest.raises(FactorError, match="'my-grid-2026' is not a published factor"):
        problem_from_park(_with_factor(tiny_park, "my-grid-2026"), fc)


def test_a_finer_factor_series_is_averaged_over_each_interval(tiny_park: Park) -> None:
    """A 15-minute series 0.8, 0.4, 0.4, 0.4 each hour on an hourly park: each hour's factor is the mean 0.5
    (emissions of a constant power over the hour), in accounting and in the plan; not the first quarter's."""
    from ems.carbon.factors import FactorRegistry, FactorSeries
    from ems.carbon.run import resolve_factor

    starts = np.datetime64("2026-03-09T16:00", "us") + np.arange(8) * np.timedelta64(15, "m")
    reg = FactorRegistry.published()
    reg.series["q-hourly"] = [
        FactorSeries("q-hourly", 1, starts, np.tile([0.8, 0.4, 0.4, 0.4], 2), 15, "grid company", "test")
    ]
    hours = starts[::4]
    assert resolve_factor(reg, "q-hourly", hours, 60).per_interval.tolist() == pytest.approx([0.5, 0.5])
    assert resolve_factor(reg, "q-hourly", starts, 15).per_interval.tolist() == [0.8, 0.4, 0.4, 0.4] * 2
    hourly_park = _with_factor(tiny_park, "q-hourly").model_copy(update={"interval_minutes": 60})
    fc = Forecast(START, 60, {"PV1": np.zeros(3)}, {"WT1": np.zeros(3)}, {"LOAD1": np.full(3, 100.0)})
    p = problem_from_park(hourly_park, fc, registry=reg)
    # the third hour lies beyond a series shorter than a day: no covered day to repeat, so its last value 0.4
    assert p.ef_kg_per_kwh.tolist() == pytest.approx([0.5, 0.5, 0.4])
    assert "1 of 3 intervals repeat" in p.ef_source
