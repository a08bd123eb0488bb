"""Forecast scoring benchmark: what the MPC loop spends after each metered interval.

    python benchmarks/forecast_scoring.py [--quick]

Steady state of ``ems mpc`` on the demo park: a forecast run every 15 min with a 96-interval horizon,
so 96 stored runs overlap the interval just metered and are scored again
(:func:`ems.forecast.runs.evaluate_metered`: one query for the runs, one history fetch, one upsert).
Baseline, measured in the same run: the obvious loop over the same runs with the per-run API
(``load_forecast`` + ``history_from_store`` for the run's window + ``evaluate_forecast``).
Target: well under a second per interval (the loop has 15 minutes; the demo at speed 360 has 2.5 s).
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import database_url, emit
from ems.forecast import Forecast
from ems.forecast.history import history_from_store
from ems.forecast.runs import evaluate_forecast, evaluate_metered, load_forecast, save_forecast
from ems.park import example_park_path, load_park
from ems.store import Store
from ems.synthetic import synthesize

NOW = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 park time
HORIZON = 96


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="24 overlapping runs instead of 96")
    args = ap.parse_args()
    n_runs = 24 if args.quick else 96
    park = load_park(example_park_path("demo"))
    step = dt.timedelta(minutes=park.interval_minutes)
    series = [d.id for d in park.devices if d.type in ("pv", "wind", "load")]
    with database_url() as url:
        store = Store.connect(url, park)
        try:
            t0 = time.perf_counter()
            # telemetry from a day before the oldest run (persistence) up to now, one reading a minute
            first = NOW - n_runs * step
            day = synthesize(park, first - dt.timedelta(days=1), hours=(NOW - first).total_seconds() / 3600 + 24)
            store.ingest(day.batch, now=NOW)
            rng = np.random.default_rng(1)
            runs = []
            with store.connection() as conn:
                for k in range(n_runs):
                    fc = Forecast(first + k * step, park.interval_minutes)
                    for s in series:
                        fc.load_kw[s] = rng.uniform(0, 1000, HORIZON)
                    runs.append(save_forecast(conn, fc))
            setup_s = time.perf_counter() - t0
            print(f"setup: {len(day.batch):,} readings, {n_runs} runs x {len(series)} series ({setup_s:.1f} s)")

            batched = []
            for _ in range(5):
                t = time.perf_counter()
                scored = evaluate_metered(store, park, NOW - step, NOW)
                batched.append(time.perf_counter() - t)
            assert len(scored) == n_runs

            baseline = []
            for _ in range(2):
                t = time.perf_counter()
                for run_id in runs:
                    with store.connection() as conn:
                        fc = load_forecast(conn, run_id)
                    hist = history_from_store(store, park, fc.start, NOW)
                    actual = {s: hist.series(s).at(fc.times) for s in series}
                    with store.connection() as conn:
                        evaluate_forecast(conn, run_id, actual)
                baseline.append(time.perf_counter() - t)
        finally:
            store.close()
    b, p = statistics.median(batched), statistics.median(baseline)
    print(f"evaluate_metered, {n_runs} runs x {len(series)} series (with persistence skill): {1000 * b:.0f} ms median")
    print(f"baseline, per-run load + history + evaluate (no skill): {1000 * p:.0f} ms median -> ratio {p / b:.1f}x")
    emit(
        {
            "runs": n_runs,
            "series_per_run": len(series),
            "score_ms": round(1000 * b, 1),
            "baseline_per_run_ms": round(1000 * p, 1),
            "ratio_vs_baseline": round(p / b, 2),
        }
    )


if __name__ == "__main__":
    main()
