"""Pathway planner benchmark: sizing build+solve, representative days, and a sweep on Dask vs serial.

    python -m benchmarks.pathway [--quick]

1. The demo park's sizing LP over the full year (8,760 h; ``--quick``: four weeks): data, build
   (Pyomo + standard-form compile), solve with HiGHS dual simplex; baseline: the same LP solved with
   HiGHS's interior-point method (with crossover), measured in the same run.
2. Representative days (tsam, 12 days; ``--quick``: 6 days of the four weeks): time and cost/CO2 error
   against the chronological solve of step 1.
3. A sweep of 64 scenarios (certificate price × storage cost × intensity target × factor year; four weeks
   of hours each; ``--quick``: 8 scenarios of two days) on a 2-worker ``LocalCluster`` vs the same
   tasks run serially in this process: speed-up, tasks per minute, cluster overhead.

Ends with one JSON line (units in the key names).
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal

from ems.park import example_park_path, load_park
from services.pathway.data import sizing_data
from services.pathway.options import load_options
from services.pathway.representative import representative_error, representative_periods
from services.pathway.solve import solve_sizing
from services.pathway.sweep import SweepSettings, grid, run_serial, run_sweep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="four weeks, 8 sweep tasks (a smoke run)")
    args = ap.parse_args()
    park = load_park(example_park_path("demo"))
    opts = load_options(example_park_path("demo").parent / "demo_pathway.yaml")
    hours = 24 * 28 if args.quick else None
    out: dict[str, object] = {"quick": args.quick}

    t0 = time.perf_counter()
    data = sizing_data(park, opts, hours=hours)
    data_s = time.perf_counter() - t0
    full = solve_sizing(data)
    ipm = solve_sizing(data, method="ipm")
    print(f"sizing, {data.T} h: data {data_s:.1f} s, build {full.build_s:.1f} s, solve {full.solve_s:.1f} s (simplex)")
    gap = abs(ipm.objective_cny / full.objective_cny - 1)
    print(f"  baseline IPM (+crossover): solve {ipm.solve_s:.1f} s; relative cost difference {gap:.1e}")
    out.update(
        sizing_hours=data.T,
        sizing_data_s=round(data_s, 2),
        sizing_build_s=round(full.build_s, 2),
        sizing_solve_s=round(full.solve_s, 2),
        sizing_build_solve_s=round(full.build_s + full.solve_s, 2),
        sizing_ipm_solve_s=round(ipm.solve_s, 2),
        sizing_simplex_vs_ipm_speedup=round(ipm.solve_s / full.solve_s, 2),
        sizing_cost_cny=str(full.costs_decimal()["total"]),
    )

    days = 6 if args.quick else 12
    t0 = time.perf_counter()
    rep_data = representative_periods(data, days)
    rep = solve_sizing(rep_data)
    rep_s = time.perf_counter() - t0
    err = representative_error(full, rep, days)
    print(
        f"representative {days} days ({rep_data.T} h): {rep_s:.1f} s incl. clustering "
        f"({(full.build_s + full.solve_s) / rep_s:.1f}x faster); cost error {100 * err.cost_rel:+.2f} %, "
        f"CO2 error {100 * err.co2_rel:+.2f} %"
    )
    out.update(
        representative_days=days,
        representative_s=round(rep_s, 2),
        representative_speedup=round((full.build_s + full.solve_s) / rep_s, 2),
        representative_cost_error_percent=round(100 * err.cost_rel, 3),
        representative_co2_error_percent=round(100 * err.co2_rel, 3),
        representative_capacity_error_kw={k: round(v, 1) for k, v in err.capacity_abs.items()},
    )

    d = Decimal
    if args.quick:
        scenarios = grid(certificate_price_cny_per_mwh=[d(5), d(30)], intensity_target=[d("0.2"), d("0.5")])
        scenarios += grid(certificate_price_cny_per_mwh=[d(5), d(30)], storage_cost_scale=[d("0.6"), d(1)])
        cfg = SweepSettings(hours=48)
    else:
        scenarios = grid(
            certificate_price_cny_per_mwh=[d(5), d(30)],
            storage_cost_scale=[d("0.6"), d(1)],
            intensity_target=[d("0.2"), d("0.3"), d("0.5"), d(1)],
            factor_year=[2021, 2022, 2023, 2023],
        )
        cfg = SweepSettings(hours=24 * 28)  # ~1-2 s per task: long enough for two workers to pay off
    t0 = time.perf_counter()
    dist = run_sweep(park, opts, scenarios, cfg, workers=2)
    dist_s = time.perf_counter() - t0
    serial = run_serial(park, opts, scenarios, cfg)
    same = [a.get("cost_cny") for a in dist.rows] == [b.get("cost_cny") for b in serial.rows]
    task_s = sum(r.get("solve_s", 0.0) for r in serial.rows) / len(scenarios)
    print(
        f"sweep, {len(scenarios)} tasks of {cfg.hours} h: LocalCluster(2) {dist_s:.1f} s "
        f"({60 * len(scenarios) / dist_s:.1f} tasks/min) vs serial {serial.wall_s:.1f} s "
        f"({60 * len(scenarios) / serial.wall_s:.1f} tasks/min): speed-up {serial.wall_s / dist_s:.2f}x; "
        f"same results: {same}; failed: {len(dist.failed)}"
    )
    out.update(
        sweep_tasks=len(scenarios),
        sweep_task_hours=cfg.hours,
        sweep_local_cluster_s=round(dist_s, 2),
        sweep_serial_s=round(serial.wall_s, 2),
        sweep_speedup=round(serial.wall_s / dist_s, 2),
        sweep_tasks_per_min_cluster=round(60 * len(scenarios) / dist_s, 1),
        sweep_tasks_per_min_serial=round(60 * len(scenarios) / serial.wall_s, 1),
        sweep_mean_solve_s=round(task_s, 3),
        sweep_overhead_s=round(dist_s - serial.wall_s / 2, 2),  # cluster start, worker imports, transfers
        sweep_same_results=same,
        full_year_build_solve_le_20s=None if args.quick else bool(full.build_s + full.solve_s <= 20),
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
