"""Benchmark: the cost of the grid-model constraint families in dispatch (issue 20), same run.

Demo park, one day-ahead horizon (96 intervals, ``--quick``: 48) from 13 April 00:00 local,
synthetic forecasts, HiGHS single thread:

* one solve without the new families (the baseline) against one solve with the grid linearisation
  (losses in the balance, inverter reactive power, power factor, voltage rows) and with the N-1
  rows added (the demo's feeders are radial, so most outages island a bus and add no rows);
* the whole AC check loop (``services.network_check.dispatch_with_ac_check``) without and with the
  grid model: wall time, re-solves, the planned connection-point power against the AC slack power,
  and the intervals importing below power factor 0.90.

    python benchmarks/grid_dispatch.py [--quick]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit
from dispatch.from_park import problem_from_park
from dispatch.problem import DispatchProblem
from dispatch.solver import Dispatcher
from ems.park import example_park_path, load_park
from ems.synthetic import synthesize_truth
from grid_models import build_network
from services.annual import truth_forecast
from services.grid_linearisation import contingency_rows, grid_linearisation
from services.network_check import dispatch_with_ac_check

START = dt.datetime(2026, 4, 12, 16, 0, tzinfo=dt.UTC)  # 13 April 00:00 Beijing time


def solve_ms(p: DispatchProblem, reps: int) -> float:
    """Median wall time of a cold solve (new model each time: build, compile, HiGHS) [ms]."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        s = Dispatcher().solve(p)
        times.append(time.perf_counter() - t0)
        assert s.status != "fallback", s.fallback_reason
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="48 intervals, one repetition")
    args = ap.parse_args()
    n, reps = (48, 1) if args.quick else (96, 3)
    park = load_park(example_park_path("demo"))
    pn = build_network(park)
    p = problem_from_park(park, truth_forecast(park, synthesize_truth(park, START, n, seed=11), 0, n))

    t0 = time.perf_counter()
    grid = grid_linearisation(p, pn)
    linearise_ms = 1000 * (time.perf_counter() - t0)
    rows, islanding = contingency_rows(p, pn)
    p_grid = dataclasses.replace(p, grid=grid)
    p_n1 = dataclasses.replace(p, grid=grid, contingency=rows)
    base_ms = solve_ms(p, reps)
    grid_ms = solve_ms(p_grid, reps)
    n1_ms = solve_ms(p_n1, reps)
    print(f"demo park, {n} intervals, median of {reps}:")
    print(f"  per-interval linearisation (grid model, {n} Jacobians): {linearise_ms:8.0f} ms")
    print(f"  solve without the new families:                        {base_ms:8.0f} ms")
    print(f"  solve with losses, reactive power, pf and voltages:    {grid_ms:8.0f} ms ({grid_ms / base_ms:.1f}x)")
    print(
        f"  ... and N-1 ({len(rows)} rows; {len(islanding)} outages island a bus): "
        f"{n1_ms:8.0f} ms ({n1_ms / base_ms:.1f}x)"
    )

    t0 = time.perf_counter()
    _, plain = dispatch_with_ac_check(Dispatcher(), p, pn)
    plain_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, full = dispatch_with_ac_check(Dispatcher(), p, pn, grid_model=True)
    full_s = time.perf_counter() - t0
    print("AC check loop (fast path):")
    print(
        f"  lossless:    {plain_s:6.1f} s, {plain.iterations} re-solves, planned exchange off the AC slack "
        f"power by up to {plain.exchange_error_kw:7.1f} kW, {plain.power_factor_intervals_final} intervals pf < 0.90"
    )
    print(
        f"  grid model:  {full_s:6.1f} s, {full.iterations} re-solves, planned exchange off the AC slack "
        f"power by up to {full.exchange_error_kw:7.1f} kW, {full.power_factor_intervals_final} intervals pf < 0.90"
        f" ({full_s / plain_s:.1f}x the time)"
    )
    emit(
        {
            "intervals": n,
            "linearise_ms": round(linearise_ms, 1),
            "solve_baseline_ms": round(base_ms, 1),
            "solve_grid_families_ms": round(grid_ms, 1),
            "solve_grid_and_n1_ms": round(n1_ms, 1),
            "ratio_grid_families_vs_baseline": round(grid_ms / base_ms, 2),
            "ratio_grid_and_n1_vs_baseline": round(n1_ms / base_ms, 2),
            "n1_rows": len(rows),
            "ac_loop_lossless_s": round(plain_s, 2),
            "ac_loop_grid_model_s": round(full_s, 2),
            "ratio_ac_loop_grid_vs_lossless": round(full_s / plain_s, 2),
            "exchange_error_lossless_kw": round(plain.exchange_error_kw, 1),
            "exchange_error_grid_model_kw": round(full.exchange_error_kw, 1),
            "pf_below_090_intervals_lossless": plain.power_factor_intervals_final,
            "pf_below_090_intervals_grid_model": full.power_factor_intervals_final,
        }
    )


if __name__ == "__main__":
    main()
