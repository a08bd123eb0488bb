"""Benchmark: the year's connection-point power factor after reactive dispatch (issue 20), same run.

A year of the AC check loop is too slow for a benchmark, so a stated sample: the 15th of every
month (``--quick``: of January, April, July and October), one day-ahead horizon of 96 intervals from
00:00 local each, demo park, synthetic truth as forecast. Each day is planned twice with
``services.network_check.dispatch_with_ac_check``:

* baseline: lossless dispatch, inverters at unity (the plan the 17,002-interval figure came from);
* reactive dispatch: the grid model's linearisation (inverter Q as a decision, pf >= 0.90 row).

Counted: intervals importing with pf < 0.90 in the AC result of the final plan. Extrapolation to the
year: each sampled day stands for its month (days in month × the day's count; ``--quick``: each
stands for its quarter, ×365/4), a stratified estimate of the seasonal pattern, not of day-to-day
weather.

    python benchmarks/grid_dispatch_year.py [--quick]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit
from dispatch.from_park import problem_from_park
from dispatch.solver import Dispatcher
from ems.park import example_park_path, load_park
from ems.synthetic import synthesize_truth
from grid_models import build_network
from services.annual import truth_forecast
from services.network_check import dispatch_with_ac_check

YEAR, N = 2026, 96


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="four days (one per quarter)")
    args = ap.parse_args()
    months = [1, 4, 7, 10] if args.quick else list(range(1, 13))
    park = load_park(example_park_path("demo"))
    pn = build_network(park)
    before = after = 0
    est_before = est_after = 0.0
    t_base = t_grid = 0.0
    for month in months:
        start = dt.datetime(YEAR, month, 14, 16, 0, tzinfo=dt.UTC)  # the 15th, 00:00 Beijing time
        p = problem_from_park(park, truth_forecast(park, synthesize_truth(park, start, N, seed=month), 0, N))
        t0 = time.perf_counter()
        _, base = dispatch_with_ac_check(Dispatcher(), p, pn)
        t1 = time.perf_counter()
        _, grid = dispatch_with_ac_check(Dispatcher(), p, pn, grid_model=True)
        t2 = time.perf_counter()
        t_base, t_grid = t_base + t1 - t0, t_grid + t2 - t1
        weight = 365 / 4 if args.quick else calendar.monthrange(YEAR, month)[1]
        b, g = base.power_factor_intervals_final, grid.power_factor_intervals_final
        before, after = before + b, after + g
        est_before, est_after = est_before + weight * b, est_after + weight * g
        print(
            f"{YEAR}-{month:02d}-15: pf < 0.90 in {b:3d} intervals (baseline, {t1 - t0:5.1f} s) -> {g:3d} "
            f"(reactive dispatch, {t2 - t1:5.1f} s, {grid.iterations} re-solves)",
            flush=True,
        )
    days = len(months)
    print(f"{days} sampled days, {days * N} intervals: pf < 0.90 in {before} -> {after}")
    print(f"year, extrapolated (each day weighted by its month): {est_before:,.0f} -> {est_after:,.0f} intervals")
    print(
        f"time per day: baseline {t_base / days:.1f} s, reactive dispatch {t_grid / days:.1f} s "
        f"({t_grid / t_base:.1f}x); a full year of reactive dispatch ~{365 * t_grid / days / 60:.0f} min"
    )
    emit(
        {
            "sampled_days": days,
            "pf_below_090_sample_baseline_intervals": before,
            "pf_below_090_sample_reactive_intervals": after,
            "pf_below_090_year_est_baseline_intervals": round(est_before),
            "pf_below_090_year_est_reactive_intervals": round(est_after),
            "time_per_day_baseline_s": round(t_base / days, 2),
            "time_per_day_reactive_s": round(t_grid / days, 2),
            "ratio_time_reactive_vs_baseline": round(t_grid / t_base, 2),
        }
    )


if __name__ == "__main__":
    main()
