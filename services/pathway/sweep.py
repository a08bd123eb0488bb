"""Sensitivity sweeps and Pareto fronts on Dask distributed: one single-year sizing per task.

A scenario changes some of: certificate price, contract price, storage cost (scale of the battery
capex), intensity target, clean-share target, and the factor year (the residual factor
``cn-national-excl-market-YYYY`` of the registry). Tasks run on a ``LocalCluster`` by default or on a
running scheduler (``scheduler_address``); results are gathered as they complete into one table.
An infeasible target is a result (``status = "infeasible"``); any other exception in a task is
reported with that task (``status = "error"``) while the others complete.

Dask distributed rather than ``concurrent.futures``: the same code runs on a laptop and on a cluster
(``--scheduler``), with work stealing, retries of lost workers and a dashboard, for free.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from ems.carbon.factors import FactorRegistry
from ems.carbon.matching import storage_aware_interval
from ems.park import Park
from services.pathway.check import plan_accounts, plan_indicators
from services.pathway.data import sizing_data
from services.pathway.options import PlanOptions
from services.pathway.representative import representative_periods
from services.pathway.solve import PlanInfeasible, solve_sizing


@dataclass(frozen=True)
class Scenario:
    certificate_price_cny_per_mwh: Decimal | None = None
    contract_price_cny_per_mwh: Decimal | None = None
    storage_cost_scale: Decimal | None = None
    intensity_target: Decimal | None = None
    clean_share_target: Decimal | None = None
    factor_year: int | None = None

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items() if v is not None) or "base"


@dataclass(frozen=True)
class SweepSettings:
    hours: int | None = None
    representative_days: int | None = None


@dataclass
class SweepResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    workers: int = 0

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "error"]


def grid(**values: Sequence[Any]) -> list[Scenario]:
    """The Cartesian product of the given values (empty lists are left out)."""
    keys = [k for k, v in values.items() if v]
    return [Scenario(**dict(zip(keys, combo, strict=True))) for combo in itertools.product(*(values[k] for k in keys))]


def scenario_inputs(park: Park, options: PlanOptions, s: Scenario) -> tuple[Park, PlanOptions]:
    """The park file and options of one scenario."""
    market = options.market.model_copy(
        update={
            k: v
            for k, v in (
                ("certificate_price_cny_per_mwh", s.certificate_price_cny_per_mwh),
                ("contract_price_cny_per_mwh", s.contract_price_cny_per_mwh),
            )
            if v is not None
        }
    )
    tech = options.technologies
    if s.storage_cost_scale is not None:
        scaled = {
            name: inv.model_copy(update={"capex_cny_per_unit": inv.capex_cny_per_unit * s.storage_cost_scale})
            for name, inv in (("battery_energy", tech.battery_energy), ("battery_power", tech.battery_power))
            if inv is not None
        }
        tech = tech.model_copy(update=scaled)
    targets = options.targets.model_copy(
        update={
            k: v
            for k, v in (("intensity_t_per_tce", s.intensity_target), ("clean_share", s.clean_share_target))
            if v is not None
        }
    )
    if s.factor_year is not None:
        carbon = park.carbon.model_copy(update={"residual_factor": f"cn-national-excl-market-{s.factor_year}"})
        park = park.model_copy(update={"carbon": carbon})
    return park, options.model_copy(update={"market": market, "technologies": tech, "targets": targets})


def run_scenario(park: Park, options: PlanOptions, s: Scenario, cfg: SweepSettings) -> dict[str, Any]:
    """One task: size the year for scenario ``s``; a row of plain data (floats for plotting)."""
    p, o = scenario_inputs(park, options, s)
    d = sizing_data(p, o, FactorRegistry.published(), hours=cfg.hours)
    if cfg.representative_days:
        d = representative_periods(d, cfg.representative_days)
    row: dict[str, Any] = {"scenario": s.label(), **{k: _plain(v) for k, v in asdict(s).items()}}
    t0 = time.perf_counter()
    try:
        r = solve_sizing(d)
    except PlanInfeasible as exc:
        return {**row, "status": "infeasible", "error": str(exc), "solve_s": time.perf_counter() - t0}
    row.update(
        status="ok",
        error=None,
        solve_s=time.perf_counter() - t0,
        cost_cny=str(r.costs_decimal()["total"]),
        co2_t=r.co2_t,
        capacity={k: round(v, 1) for k, v in r.capacity.items()},
        certificates_mwh=r.certificates_kwh / 1000,
        contract_mwh=r.contract_kwh / 1000,
    )
    if (d.weight == 1.0).all():
        ind = plan_indicators(r, p.carbon, o.other_fuels)
        acc = plan_accounts(r)
        match = storage_aware_interval(acc, p.timezone)  # the project's named storage-aware score
        row.update(
            intensity_t_per_tce=float(ind.intensity_t_per_tce or 0),
            clean_share=float(ind.clean_share or 0),
            cfe_score=float(match.cfe_score or 0),
        )
    return row


def _plain(v: Any) -> Any:
    return str(v) if isinstance(v, Decimal) else v


def run_sweep(
    park: Park,
    options: PlanOptions,
    scenarios: Iterable[Scenario],
    cfg: SweepSettings | None = None,
    *,
    scheduler_address: str | None = None,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> SweepResult:
    """Run every scenario as a Dask task; rows in scenario order, failures reported per task."""
    from dask.distributed import Client, LocalCluster, as_completed

    cfg = cfg or SweepSettings()
    todo = list(scenarios)
    t0 = time.perf_counter()
    cluster = None
    if scheduler_address is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster if cluster is not None else scheduler_address)
    try:
        n_workers = len(client.scheduler_info()["workers"])
        park_f, opts_f = client.scatter([park, options], broadcast=True)
        futures = [
            client.submit(run_scenario, park_f, opts_f, s, cfg, key=f"pathway-{i}", pure=False)
            for i, s in enumerate(todo)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        rows: list[dict[str, Any] | None] = [None] * len(todo)
        for fut in as_completed(futures):
            i = index[fut.key]
            if fut.status == "error":
                exc = fut.exception()
                rows[i] = {
                    "scenario": todo[i].label(),
                    **{k: _plain(v) for k, v in asdict(todo[i]).items()},
                    "status": "error",
                    "error": f"{type(exc).__name__}: {exc}",
                }
            else:
                rows[i] = fut.result()
            if progress:
                progress(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return SweepResult([r for r in rows if r is not None], time.perf_counter() - t0, n_workers)


def run_serial(park: Park, options: PlanOptions, scenarios: Iterable[Scenario], cfg: SweepSettings) -> SweepResult:
    """The same tasks one after another in this process (the benchmark's baseline)."""
    t0 = time.perf_counter()
    rows = [run_scenario(park, options, s, cfg) for s in scenarios]
    return SweepResult(rows, time.perf_counter() - t0, 1)


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Mask of the non-dominated rows of ``points`` (every column minimised)."""
    n = len(points)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = np.all(points <= points[i], axis=1) & np.any(points < points[i], axis=1)
        keep[i] = not dominated.any()
    return keep
