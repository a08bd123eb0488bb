"""Tenant allocation speed: a year of the demo park's tenants, vectorised vs a naive Decimal loop.

    python benchmarks/footprint.py [--quick]

Data: a year of 15-minute interval energy for the demo park (35 040 intervals) from seeded
random profiles: PV on a day shape, wind, loads (three tenants, EV hub, offices on the shared
meter), the battery idle, grid import the balance. The carbon run is computed once (not timed);
timed is the footprint allocation: meter plan, gap filling of the tenant meters, held
instruments, and the exact split of 11 columns among the rows (tenants, shared:unallocated,
park:remainder) plus the lines.

Baseline measured in the same run: the obvious per-interval loop in ``decimal.Decimal`` doing
the same largest-remainder splits for the pro-rata columns (consumption mix and location CO2),
on a slice of the year (--quick: 2 000 intervals, otherwise 10 000) and scaled to the year; its
results are checked equal to the vectorised ones on that slice.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit
from ems.carbon.aggregate import to_milli
from ems.carbon.factors import FactorRegistry
from ems.carbon.run import compute_run
from ems.footprint.allocate import allocate
from ems.footprint.instruments import held_instruments
from ems.footprint.metering import meter_plan, read_metered
from ems.park import example_park_path, load_park

T0 = dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC)  # 2026-01-01 00:00 Asia/Shanghai


@dataclass(frozen=True)
class Energy:
    starts: np.ndarray
    devices: list[str]
    e_out_kwh: np.ndarray
    e_in_kwh: np.ndarray
    coverage: np.ndarray


def year_energy(n: int) -> Energy:
    park = load_park(example_park_path("demo"))
    rng = np.random.default_rng(42)
    h = park.interval_minutes / 60
    hour = (np.arange(n) * h) % 24
    day_shape = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    devs = [d.id for d in park.devices]
    out = np.zeros((len(devs), n))
    inn = np.zeros((len(devs), n))
    for i, d in enumerate(park.devices):
        if d.type == "pv":
            out[i] = d.p_rated_kw * h * day_shape * rng.uniform(0.3, 1.0, n)
        elif d.type == "wind":
            out[i] = d.p_total_kw * h * rng.uniform(0.0, 0.6, n)
        elif d.type == "load":
            inn[i] = d.p_peak_kw * h * rng.uniform(0.4, 0.9, n)
    gen = out.sum(axis=0)
    load = inn.sum(axis=0) * 1.01  # 1 % network losses
    grid = devs.index(park.network.grid_connection.meter or "")
    out[grid] = np.maximum(load - gen, 0)
    inn[grid] = np.maximum(gen - load, 0)
    starts = np.datetime64(T0.replace(tzinfo=None), "us") + np.arange(n) * np.timedelta64(15, "m")
    return Energy(starts, devs, out, inn, np.ones((len(devs), n)))


def naive(k: list[int], parts: dict[str, list[int]], weights: list[list[int]]) -> dict[str, list[list[int]]]:
    """Per interval, per column: Decimal shares, floor, largest remainder (ties to the lower row)."""
    out: dict[str, list[list[int]]] = {c: [] for c in parts}
    for t in range(len(k)):
        w = [Decimal(max(row[t], 0)) for row in weights]
        big_w = sum(w, Decimal(0))
        for c, tot in parts.items():
            v = Decimal(tot[t])
            if big_w == 0:
                out[c].append([0] * (len(w) - 1) + [int(v)])
                continue
            raw = [v * x / big_w for x in w]
            fl = [r.to_integral_value(rounding=ROUND_FLOOR) for r in raw]
            short = int(v - sum(fl, Decimal(0)))
            order = sorted(range(len(w)), key=lambda j: (-(raw[j] - fl[j]), j))
            for j in order[:short]:
                fl[j] += 1
            out[c].append([int(x) for x in fl])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short baseline slice (< 60 s)")
    args = ap.parse_args()
    park = load_park(example_park_path("demo"))
    n = 35040
    ie = year_energy(n)
    run = compute_run(park, ie, T0, T0 + dt.timedelta(days=365), FactorRegistry.published())
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        plan = meter_plan(park)
        al = allocate(run, plan, read_metered(plan, ie), held_instruments(run, park))
        times.append(time.perf_counter() - t0)
    fast_s = min(times)
    for c in al.columns:
        assert (al.columns[c].sum(axis=0) == al.park[c]).all(), c
    m = 2000 if args.quick else 10000
    a = run.accounts
    parts = {
        "local_re_kwh": to_milli(a.re_to_load_kwh)[:m].tolist(),
        "grid_kwh": to_milli(a.grid_to_load_kwh)[:m].tolist(),
    }
    t0 = time.perf_counter()
    ref = naive(al.park["consumption_kwh"][:m].tolist(), parts, al.columns["consumption_kwh"][:, :m].tolist())
    naive_s = (time.perf_counter() - t0) * n / m
    for c in parts:
        assert np.array_equal(np.array(ref[c]).T, al.columns[c][:, :m]), f"naive and vectorised differ on {c}"
    # the naive loop did 2 of the 11 columns: scale to all of them
    naive_s *= len(al.columns) / len(parts)
    print(f"demo park, {n} intervals, {len(al.rows)} rows ({', '.join(al.rows)}), {len(al.lines)} lines")
    print(f"vectorised allocation of a year: {fast_s * 1000:.1f} ms")
    print(f"naive Decimal loop (measured on {m} intervals x 2 columns, scaled to the year x 11): {naive_s:.1f} s")
    print(f"ratio: {naive_s / fast_s:.0f}x")
    emit(
        {
            "allocate_year_ms": round(fast_s * 1000, 1),
            "naive_decimal_year_s": round(naive_s, 2),
            "ratio_vs_baseline": round(naive_s / fast_s, 1),
            "intervals": n,
        }
    )


if __name__ == "__main__":
    main()
