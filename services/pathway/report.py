"""The pathway report: plain data (no floats: decimals as strings) and one page of charts (PDF and PNG).

Rounding: money as :data:`services.pathway.solve.MONEY_ROUNDING`; capacities to 0.1 kW (kWh) and
energies to 0.001 MWh, half-to-even, from the solver's double-precision values via ``repr``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ems.carbon.indicators import CLEAN_SHARE_MIN, THRESHOLD_SOURCE
from services.pathway.options import PlanOptions
from services.pathway.pathway import PathwayPlan, YearPlan, model_intensity
from services.pathway.solve import MONEY_ROUNDING

SCHEMA = "ems.pathway-plan/1"


def dec(x: float, q: str) -> str:
    return str(Decimal(repr(float(x))).quantize(Decimal(q), rounding=ROUND_HALF_EVEN))


def year_dict(y: YearPlan) -> dict[str, Any]:
    r, d = y.result, y.data
    c = d.carbon
    f = r.flows
    w = d.weight
    return {
        "year": y.year,
        "build": {k: dec(v, "0.1") for k, v in r.added.items()},
        "capacity_new_total": {k: dec(v, "0.1") for k, v in r.capacity.items()},
        "buy": {
            "contract_mwh_per_month": [dec(v / 1000, "0.001") for v in r.contract_kwh_per_month],
            "contract_mwh": dec(r.contract_kwh / 1000, "0.001"),
            "certificates_mwh": dec(r.certificates_kwh / 1000, "0.001"),
            "certificates_to_retire": int(np.ceil(round(r.certificates_kwh / 1000, 6))),
        },
        "supply_mwh": {
            "local_re": dec(np.dot(w, f.local_re_kw) / 1000, "0.001"),
            "curtailed": dec(np.dot(w, f.curtailed_kw) / 1000, "0.001"),
            "direct_lines": dec(np.dot(w, f.direct_kw) / 1000, "0.001"),
            "contracts": dec(np.dot(w, f.contract_kw) / 1000, "0.001"),
            "grid_mix": dec(np.dot(w, f.import_kw) / 1000, "0.001"),
            "battery_discharge": dec(np.dot(w, f.discharge_kw) / 1000, "0.001"),
            "consumption": dec(d.energy_kwh / 1000, "0.001"),
        },
        "costs_cny": {k: str(v) for k, v in r.costs_decimal().items()},
        "factor": {
            "residual": c.residual_ref,
            "residual_kg_per_kwh": str(c.residual_kg_per_kwh),
            "provenance": c.residual_provenance,
        },
        "targets": {
            "intensity_t_per_tce": None if c.intensity_target is None else str(c.intensity_target),
            "clean_share": None if c.clean_share_target is None else str(c.clean_share_target),
            "direct_green_share": None if c.direct_share_target is None else str(c.direct_share_target),
            "budget_tco2": None if c.budget_tco2 is None else str(c.budget_tco2),
            "hourly_matching": None if c.hourly_match_target is None else str(c.hourly_match_target),
        },
        "model_bound": {"co2_t": dec(r.co2_t, "0.001"), "intensity_t_per_tce": dec(model_intensity(y), "0.000001")},
        "indicators": None if y.indicators is None else y.indicators.as_dict(),
        "hourly_matching_energytag": None if y.hourly_matching is None else str(y.hourly_matching),
        "solve_s": dec(r.build_s + r.solve_s, "0.01"),
    }


def plan_report(plan: PathwayPlan, options: PlanOptions) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "park": plan.park,
        "start_year": plan.start_year,
        "target_year": plan.target_year,
        "baseline_indicators": None if plan.baseline is None else plan.baseline.as_dict(),
        "baseline_hourly_matching_energytag": None
        if plan.baseline_hourly_matching is None
        else str(plan.baseline_hourly_matching),
        "years": [year_dict(y) for y in plan.years],
        "method": {
            "indicators": "market-based, computed by ems.carbon (account + compute_indicators) from each year's "
            "hourly operation; the LP constrains a bound on the safe side (model_bound)",
            "thresholds": THRESHOLD_SOURCE,
            "money_rounding": MONEY_ROUNDING,
            "pathway": "myopic, year by year; capacity only added; budget and targets ramp linearly",
        },
        "options": options.model_dump(mode="json"),
    }


_TECH_COLOURS = {"pv": "#f2b705", "wind": "#3a86ff", "battery_kwh": "#8338ec", "battery_kw": "#b388eb"}


def plot_plan(plan: PathwayPlan, out: Path) -> list[Path]:
    """Capacity by year, supply mix, indicator trajectory against thresholds, cost breakdown (PDF + PNG)."""
    years = [y.year for y in plan.years]
    x = np.arange(len(years))
    fig, ax = plt.subplots(2, 2, figsize=(12, 8.5))
    fig.suptitle(f"Zero-carbon pathway — {plan.park}")
    # capacity by year (new capacity in service, MW / MWh)
    a = ax[0, 0]
    names = sorted({k.split(":")[0] for y in plan.years for k in y.result.capacity})
    bottom = np.zeros(len(years))
    for n in names:
        v = np.array([sum(c for k, c in y.result.capacity.items() if k.split(":")[0] == n) for y in plan.years]) / 1000
        a.bar(x, v, bottom=bottom, label=n, color=_TECH_COLOURS.get(n))
        bottom += v
    a.set_title("new capacity in service [MW; battery_kwh in MWh]")
    a.legend(fontsize=8)
    # supply mix
    a = ax[0, 1]
    mix = {
        "local RE": [np.dot(y.data.weight, y.result.flows.local_re_kw) for y in plan.years],
        "direct lines": [np.dot(y.data.weight, y.result.flows.direct_kw) for y in plan.years],
        "contracts": [np.dot(y.data.weight, y.result.flows.contract_kw) for y in plan.years],
        "grid + certificates": [y.result.certificates_kwh for y in plan.years],
        "grid mix (residual)": [y.result.residual_kwh for y in plan.years],
    }
    bottom = np.zeros(len(years))
    for label, vals in mix.items():
        v = np.array(vals) / 1e6
        a.bar(x, v, bottom=bottom, label=label)
        bottom += v
    a.set_title("supply mix [GWh]")
    a.legend(fontsize=8)
    # indicators against thresholds
    a = ax[1, 0]
    inten = [float(y.indicators.intensity_t_per_tce or 0) if y.indicators else model_intensity(y) for y in plan.years]
    clean = [float(y.indicators.clean_share or 0) if y.indicators else np.nan for y in plan.years]
    a.plot(x, inten, "o-", label="tCO2/tce (ems.carbon)")
    a.axhline(0.20, color="r", ls="--", lw=1, label="0.20 / 0.30 tCO2/tce")
    a.axhline(0.30, color="r", ls=":", lw=1)
    a.set_ylabel("tCO2/tce")
    b = a.twinx()
    b.plot(x, clean, "s-", color="g", label="clean-energy share")
    b.axhline(float(CLEAN_SHARE_MIN), color="g", ls="--", lw=1)
    b.set_ylim(0, 1.05)
    a.set_title("indicators against the thresholds")
    a.legend(loc="upper left", fontsize=8)
    b.legend(loc="upper right", fontsize=8)
    # costs
    a = ax[1, 1]
    comps = [k for k in plan.years[0].result.costs_cny if k != "export_revenue"]
    bottom = np.zeros(len(years))
    for k in comps:
        v = np.array([y.result.costs_cny[k] for y in plan.years]) / 1e6
        a.bar(x, v, bottom=bottom, label=k)
        bottom += v
    a.set_title("annual cost [million CNY]")
    a.legend(fontsize=7)
    for a in ax.flat:
        a.set_xticks(x, [str(y) for y in years])
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".pdf"), out.with_suffix(".png")]
    for p in paths:
        fig.savefig(p, dpi=110, metadata={"CreationDate": None} if p.suffix == ".pdf" else None)
    plt.close(fig)
    return paths


def plot_sweep(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """Pareto fronts of a sweep: cost vs tCO2/tce and cost vs 24/7 CFE score (PDF + PNG)."""
    from services.pathway.sweep import pareto_front

    ok = [r for r in rows if r["status"] == "ok" and "intensity_t_per_tce" in r]
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.8))
    fronts = (("intensity_t_per_tce", 1.0, "tCO2/tce (ems.carbon)"), ("cfe_score", -1.0, "24/7 CFE score"))
    for a, (key, sign, label) in zip(ax, fronts, strict=True):
        if ok:
            cost = np.array([float(r["cost_cny"]) for r in ok]) / 1e6
            v = np.array([r[key] for r in ok])
            front = pareto_front(np.c_[cost, sign * v])
            a.scatter(v[~front], cost[~front], c="0.6", s=18, label="dominated")
            order = np.argsort(v[front])
            a.plot(v[front][order], cost[front][order], "o-", c="C3", label="Pareto front")
        a.set_xlabel(label)
        a.set_ylabel("annual cost [million CNY]")
        a.legend(fontsize=8)
    ax[0].axvline(0.20, color="r", ls="--", lw=1)
    failed = sum(r["status"] != "ok" for r in rows)
    fig.suptitle(f"sweep: {len(rows)} scenarios, {len(ok)} solved, {failed} infeasible or failed")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".pdf"), out.with_suffix(".png")]
    for p in paths:
        fig.savefig(p, dpi=110, metadata={"CreationDate": None} if p.suffix == ".pdf" else None)
    plt.close(fig)
    return paths
