"""Benchmark: the peak-import safety margin in the closed loop (issue 15, uncertainty), same run.

The annual simulation's closed loop (``services.annual``: forecasts from the measured past, hourly MPC,
the synthetic plant) over the first ``--days`` days of 2026, demo park, three times on the same weather:

* without a margin (the baseline);
* with the margin learned from the loop's own net-load forecast errors (``ems.forecast.peak_margin``,
  quantile ``--quantile``), covered by battery headroom where it can be (the simulated batteries hold
  the planned grid exchange, as the live import guard does);
* the same margin as a plain back-off of the planned import (``peak_margin_from_batteries=False``);
* no margin, scenario-based MPC over ``--scenarios`` net-load scenarios from the same errors
  (``dispatch.scenario_mpc``; 0 skips it).

Printed per run: highest metered peak [kW], demand charge, energy and total cost [CNY] of the period
(prorated demand charge, ``services.cost_lines``), exceedances (intervals whose metered import went
above the cap planned for them), local RE consumption and the median re-plan time, with ratios
against the baseline.

    python benchmarks/uncertainty.py [--quick] [--days N] [--quantile Q] [--scenarios K] [--park PATH]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit
from ems.park import example_park_path, load_park
from services.annual import SimulationConfig, SimulationResult, simulate_year
from services.annual_margin import MarginFigures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="7 days instead of 31")
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--quantile", type=float, default=0.95)
    ap.add_argument("--scenarios", type=int, default=3)
    ap.add_argument("--park", type=Path, default=example_park_path("demo"))
    args = ap.parse_args()
    days = args.days or (7 if args.quick else 31)
    park = load_park(args.park)
    cfg = SimulationConfig(days=days)
    runs: dict[str, SimulationResult] = {}
    configs = [
        ("without", cfg),
        ("reserve", dataclasses.replace(cfg, peak_margin_quantile=args.quantile)),
        ("backoff", dataclasses.replace(cfg, peak_margin_quantile=args.quantile, peak_margin_from_batteries=False)),
    ]
    if args.scenarios > 1:
        configs.append(("scenarios", dataclasses.replace(cfg, scenarios=args.scenarios)))
    for name, c in configs:
        runs[name] = simulate_year(park, c)
        r = runs[name]
        print(f"{name}: {r.replans} re-plans in {r.wall_seconds:.0f} s, fallbacks {dict(r.fallbacks)}", flush=True)
    fig = {k: MarginFigures.of(r) for k, r in runs.items()}
    med = {k: statistics.median(r.replan_seconds) * 1000 for k, r in runs.items()}
    margins = sorted(runs["reserve"].peak_margin_kw)
    base = fig["without"]
    print(f"\n{park.name}, {days} days from {cfg.start:%Y-%m-%d %H:%M} UTC, q = {args.quantile:g}")
    print(f"median learned margin (first interval of each re-plan): {margins[len(margins) // 2]:,.0f} kW")
    re = {k: 100 * r.kpis.local_re_consumption_ratio for k, r in runs.items()}
    head = f"{'':12}{'peak kW':>12}{'demand CNY':>14}{'energy CNY':>15}{'total CNY':>15}{'exceed':>8}{'local RE %':>11}"
    print(head + f"{'re-plan ms':>12}")
    for k, f in fig.items():
        print(
            f"{k:<12}{f.peak_kw:>12,}{f.demand_charge_cny:>14,}{f.energy_cny:>15,}{f.total_cny:>15,}"
            f"{f.exceedances:>8}{re[k]:>11.2f}{med[k]:>12.1f}"
        )
    for k in [k for k in fig if k != "without"]:
        f = fig[k]
        print(
            f"{k} / without: peak {f.peak_kw / base.peak_kw:.4f}, total cost {f.total_cny / base.total_cny:.4f}, "
            f"re-plan time {med[k] / med['without']:.2f}x"
        )
    out: dict[str, object] = {"park": park.name, "days": days, "quantile": args.quantile, "scenarios": args.scenarios}
    out["median_margin_kw"] = round(margins[len(margins) // 2], 1)
    for k, f in fig.items():
        out[f"{k}_peak_kw"] = float(f.peak_kw)
        out[f"{k}_demand_charge_cny"] = float(f.demand_charge_cny)
        out[f"{k}_energy_cny"] = float(f.energy_cny)
        out[f"{k}_total_cny"] = float(f.total_cny)
        out[f"{k}_exceedances_intervals"] = f.exceedances
        out[f"{k}_replan_median_ms"] = round(med[k], 2)
        out[f"{k}_local_re_pct"] = round(re[k], 3)
        if k != "without":
            out[f"ratio_peak_{k}_vs_without"] = round(float(f.peak_kw / base.peak_kw), 4)
            out[f"ratio_total_cost_{k}_vs_without"] = round(float(f.total_cny / base.total_cny), 4)
            out[f"ratio_replan_time_{k}_vs_without"] = round(med[k] / med["without"], 2)
    emit(out)


if __name__ == "__main__":
    main()
