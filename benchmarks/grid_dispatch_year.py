"""Benchmark: the year's connection-point power factor after reactive dispatch (issue 20), same run.

Each day is one day-ahead horizon of 96 intervals from 00:00 local, demo park, synthetic truth as
forecast, planned with ``services.network_check.dispatch_with_ac_check`` three ways:

* baseline: lossless dispatch, inverters at unity (the plan the 17,002-interval figure came from);
* reactive: the grid model's linearisation, inverter Q as a decision, pf >= 0.90 row, AC loop;
* bank: the same with the inverters at unity and a switched 12 × 1,000 kvar bank on busbar MV_A capped
  at 12 operations a day (``--no-bank`` leaves it out).

Counted: intervals importing with pf < 0.90 in the AC result of the final plan, and the bank's
operations. Days: ``--year`` every day of 2026 (with ``--part K/N`` one of N interleaved shards, to
run on several cores; ``--merge FILES`` adds the shards' JSON lines up); default the 15th of every
month, each standing for its month; ``--quick`` the 15th of January, April, July and October, each
standing for its quarter.

    python benchmarks/grid_dispatch_year.py [--quick | --year [--part K/N]] [--no-bank]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit
from dispatch.from_park import problem_from_park
from dispatch.solver import Dispatcher
from ems.park import Compensation, Park, example_park_path, load_park
from ems.synthetic import synthesize_truth
from grid_models import build_network
from services.annual import truth_forecast
from services.network_check import dispatch_with_ac_check

YEAR, N = 2026, 96
VARIANTS = ("baseline", "reactive", "bank")
BANK_OPS_PER_DAY = 12


def banked(park: Park) -> Park:
    """The park with its inverters at unity and a switched, operation-capped bank on MV_A."""
    bank = Compensation(
        id="C1", bus="MV_A", q_kvar=12_000.0, steps=12, switched=True, max_operations_per_day=BANK_OPS_PER_DAY
    )
    network = park.network.model_copy(update={"reactive": {}, "compensation": [bank]})
    return park.model_copy(update={"network": network})


def days(args: argparse.Namespace) -> list[tuple[dt.date, float]]:
    """(local day, the days it stands for)."""
    if args.year:
        k, n = (int(x) for x in args.part.split("/"))
        every = [dt.date(YEAR, 1, 1) + dt.timedelta(d) for d in range(365)]
        return [(d, 1.0) for d in every[k - 1 :: n]]
    if args.quick:
        return [(dt.date(YEAR, m, 15), 365 / 4) for m in (1, 4, 7, 10)]
    return [(dt.date(YEAR, m, 15), float(calendar.monthrange(YEAR, m)[1])) for m in range(1, 13)]


def run(args: argparse.Namespace) -> dict[str, float]:
    park = load_park(example_park_path("demo"))
    parks = {"baseline": park, "reactive": park, "bank": banked(park)}
    variants = [v for v in VARIANTS if v != "bank" or args.bank]
    nets = {v: build_network(parks[v]) for v in variants}
    out: dict[str, float] = {"days": 0.0}
    for v in variants:
        out |= {f"{v}_pf_intervals": 0.0, f"{v}_pf_year_est_intervals": 0.0, f"{v}_time_s": 0.0}
    out |= {"bank_operations": 0.0, "bank_operations_max_per_day": 0.0}
    sample = days(args)
    for day, weight in tqdm(sample, desc="days", unit="day", disable=not sys.stderr.isatty()):
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) - dt.timedelta(hours=8)  # 00:00 local
        line = [f"{day}:"]
        for v in variants:
            p = problem_from_park(
                parks[v], truth_forecast(parks[v], synthesize_truth(parks[v], start, N, seed=day.toordinal()), 0, N)
            )
            t0 = time.perf_counter()
            s, report = dispatch_with_ac_check(Dispatcher(), p, nets[v], grid_model=v != "baseline")
            out[f"{v}_time_s"] += time.perf_counter() - t0
            n = report.power_factor_intervals_final
            out[f"{v}_pf_intervals"] += n
            out[f"{v}_pf_year_est_intervals"] += weight * n
            line.append(f"{v} pf<0.90 {n:3d} ({time.perf_counter() - t0:4.1f} s)")
            if v == "bank":
                ops = int(np.abs(np.diff(np.r_[0, s.bank_steps["C1"]])).sum())
                out["bank_operations"] += ops
                out["bank_operations_max_per_day"] = max(out["bank_operations_max_per_day"], ops)
        out["days"] += 1
        tqdm.write("  ".join(line))
    return out


def merge(files: list[str]) -> dict[str, float]:
    """Add up the JSON lines of ``--year --part`` shards (maxima stay maxima)."""
    total: dict[str, float] = {}
    for f in files:
        figures = json.loads(Path(f).read_text(encoding="utf-8").strip().splitlines()[-1])
        for k, x in figures.items():
            if k.startswith("ratio_"):
                continue  # recomputed from the totals
            total[k] = max(total.get(k, 0.0), x) if k.endswith("max_per_day") else total.get(k, 0.0) + x
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="four days (one per quarter)")
    ap.add_argument("--year", action="store_true", help="every day of the year")
    ap.add_argument("--part", default="1/1", help="with --year: shard K of N (days K, K+N, ...)")
    ap.add_argument("--no-bank", dest="bank", action="store_false", help="leave out the switched-bank variant")
    ap.add_argument("--merge", nargs="+", metavar="FILE", help="add up the last JSON lines of shard outputs")
    args = ap.parse_args()
    out = merge(args.merge) if args.merge else run(args)
    d = max(out["days"], 1.0)
    variants = [v for v in VARIANTS if f"{v}_time_s" in out]
    print(f"{out['days']:.0f} days, {out['days'] * N:.0f} intervals; pf < 0.90 in the AC result of the final plan:")
    for v in variants:
        print(
            f"  {v:9s} {out[f'{v}_pf_intervals']:6.0f} intervals (year, each day for its period: "
            f"{out[f'{v}_pf_year_est_intervals']:,.0f}); {out[f'{v}_time_s'] / d:5.1f} s per day"
        )
    if "bank_time_s" in out:
        print(
            f"  bank operations: {out['bank_operations'] / d:.1f} a day on average, "
            f"{out['bank_operations_max_per_day']:.0f} at most (cap {BANK_OPS_PER_DAY})"
        )
    ratio = out["reactive_time_s"] / out["baseline_time_s"] if out.get("baseline_time_s") else float("nan")
    print(f"time ratio reactive / baseline dispatch: {ratio:.1f}x")
    emit({**{k: round(x, 2) for k, x in out.items()}, "ratio_time_reactive_vs_baseline": round(ratio, 2)})


if __name__ == "__main__":
    main()
