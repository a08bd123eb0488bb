"""Notifier cycle time (``ems notify``) with and without the cache of services.alert_cache.

    python benchmarks/notifier_cycle.py [--quick]

Park: the demo park. Data: 5-minute power samples of every profiled device from 1 January (park
time) to the benchmark's "now": 60 days, 14 in --quick (profiles of benchmarks/carbon.py).
Each cycle evaluates every alert rule (the year-to-date carbon budget included, an AC power flow
of the latest readings) and delivers due messages (none configured).

Baseline, measured in the same run: a cycle without the cache (every cycle rebuilds the network,
accounts the year to date and makes a new HTTP client). Then a cycle with a warm cache (nothing changed), and a cycle
after a late reading for the previous day (the budget is recomputed, the network is reused).
Times are medians; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.carbon import START, power_profiles
from benchmarks.common import database_url, emit
from ems.outbox import Receivers, senders
from ems.park import example_park_path, load_park
from ems.store import Store
from ems.telemetry import ReadingBatch
from entrypoints.operate.notifier import run_cycle
from services.alert_cache import NotifierCache

STEP_MIN = 5


def median_s(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    days = 14 if args.quick else 60
    park = load_park(example_park_path("demo"))
    ids = {d.id for d in park.devices}
    now = START + dt.timedelta(days=days)
    with database_url() as url, Store.connect(url, park) as store:
        t0 = time.perf_counter()
        for d in range(days):
            n = 24 * 60 // STEP_MIN
            day = START + dt.timedelta(days=d)
            starts = np.datetime64(day.replace(tzinfo=None), "us") + np.arange(n) * np.timedelta64(STEP_MIN, "m")
            prof = {k: v for k, v in power_profiles(park, starts, STEP_MIN).items() if k in ids}
            times = [day + dt.timedelta(minutes=STEP_MIN * i) for i in range(n)]
            rows = [(t, dev, "p_kw", float(p[i]), 0) for dev, p in prof.items() for i, t in enumerate(times)]
            store.ingest(ReadingBatch.from_rows(rows), now=now)
        store.refresh_rollups()
        print(f"{days} days x {len(prof)} devices ingested in {time.perf_counter() - t0:.1f} s")
        rc = Receivers()
        uncached = median_s(lambda: run_cycle(store, park, rc, now), 3)
        cache, send = NotifierCache(), senders(rc)  # what run_notifier keeps between cycles
        run_cycle(store, park, rc, now, cache=cache, send=send)  # fills the cache
        hit = median_s(lambda: run_cycle(store, park, rc, now, cache=cache, send=send), 5)
        late = iter(range(1000))

        def after_late_reading() -> None:
            t = now - dt.timedelta(days=1, seconds=7 + next(late))  # a new sample between existing ones
            store.ingest(ReadingBatch.from_rows([(t, "M_GRID", "p_kw", 1000.0, 0)]), now=now)
            run_cycle(store, park, rc, now, cache=cache, send=send)

        miss = median_s(after_late_reading, 3)
        assert cache.misses == 4 and cache.hits == 5, (cache.hits, cache.misses)
    print(f"cycle without cache     {uncached * 1000:8.0f} ms  (baseline)")
    print(f"cycle, cache warm       {hit * 1000:8.0f} ms  ({uncached / hit:.1f}x faster)")
    print(f"cycle after late data   {miss * 1000:8.0f} ms  ({uncached / miss:.1f}x faster)")
    emit(
        {
            "days": days,
            "cycle_uncached_ms": round(uncached * 1000, 1),
            "cycle_cache_hit_ms": round(hit * 1000, 1),
            "cycle_late_data_ms": round(miss * 1000, 1),
            "hit_speedup_ratio": round(uncached / hit, 2),
        }
    )


if __name__ == "__main__":
    main()
