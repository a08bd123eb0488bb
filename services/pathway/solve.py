"""Build, compile and solve the sizing LP with HiGHS; read the solution out in one place.

The Pyomo model is compiled to matrices with Pyomo's standard-form compiler (as the dispatcher does,
see ``dispatch/solver.py``) and passed to highspy in one call: for the full year (8,760 h, ~60k
columns) this is several times faster than writing an LP file or going through Pyomo's solver
plugins. HiGHS runs dual simplex by default (``method``): on this LP it was faster than the
interior-point method with crossover (full year: 15 s vs 19 s on a quiet 2-core machine, 37 s vs 69 s
on a loaded one; ``benchmarks/pathway.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from dispatch.solver import highs_lp
from services.pathway.data import SizingData
from services.pathway.model import build_model
from services.pathway.model.green import month_hours
from services.pathway.model.objective import COMPONENTS

CNY = Decimal("0.01")
MONEY_ROUNDING = "solver values (double precision) converted with Decimal(repr(x)), rounded half-to-even to 0.01 CNY"


class PlanInfeasible(ValueError):
    """No portfolio within the candidates and market limits meets the targets; the message says which."""


def money(x: float) -> Decimal:
    """A solver float as exact decimal CNY: ``Decimal(repr(x))`` rounded half-to-even to 0.01."""
    return Decimal(repr(float(x))).quantize(CNY, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Flows:
    """Hourly operation of the solution [kW = kWh per modelled hour]."""

    available_kw: np.ndarray  # local PV + wind, existing plus new
    curtailed_kw: np.ndarray
    direct_existing_kw: np.ndarray
    direct_new_kw: np.ndarray
    contract_kw: np.ndarray
    import_kw: np.ndarray  # grid mix, without contract deliveries
    export_kw: np.ndarray
    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    electrolyser_kw: np.ndarray

    @property
    def metered_import_kw(self) -> np.ndarray:
        return self.import_kw + self.contract_kw

    @property
    def local_re_kw(self) -> np.ndarray:
        return self.available_kw - self.curtailed_kw

    @property
    def direct_kw(self) -> np.ndarray:
        return self.direct_existing_kw + self.direct_new_kw


@dataclass(frozen=True)
class SizingResult:
    data: SizingData
    status: str
    objective_cny: float
    capacity: dict[str, float]  # total new capacity per candidate (kW; kWh for battery_kwh)
    contract_kwh_per_month: np.ndarray  # V_g per settlement month
    certificates_kwh: float
    residual_kwh: float
    co2_t: float
    flows: Flows
    costs_cny: dict[str, float]
    build_s: float
    solve_s: float

    @property
    def added(self) -> dict[str, float]:
        """Capacity added in this year (beyond what earlier pathway years built)."""
        return {c.name: max(self.capacity[c.name] - c.lower, 0.0) for c in self.data.candidates}

    @property
    def contract_kwh(self) -> float:
        return float(np.dot(self.contract_kwh_per_month, self.data.months_weight))

    def costs_decimal(self) -> dict[str, Decimal]:
        """Cost components in exact decimal CNY (:data:`MONEY_ROUNDING`); the total is their exact sum."""
        out = {k: money(v) for k, v in self.costs_cny.items()}
        out["total"] = sum(out.values(), Decimal(0))
        return out


def solve_sizing(
    data: SizingData, *, method: str = "simplex", threads: int = 1, time_limit_s: float = 600.0
) -> SizingResult:
    """Least-cost portfolio for ``data``; raises :class:`PlanInfeasible` when the targets cannot be met."""
    t0 = time.perf_counter()
    m = build_model(data)
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    lp = highs_lp(info, np.asarray(info.c.toarray()).ravel())
    build_s = time.perf_counter() - t0
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    h.setOptionValue("solver", method)
    h.setOptionValue("time_limit", time_limit_s)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        raise PlanInfeasible(_infeasible_message(data))
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"HiGHS ended without an optimal plan: {h.modelStatusToString(status)}")
    x = np.asarray(h.getSolution().col_value)
    for v, val in zip(info.columns, x, strict=True):
        v.set_value(float(val), skip_validation=True)
    return _read(m, data, time.perf_counter() - t0 - build_s, build_s)


def _arr(m: pyo.ConcreteModel, comp: Any) -> np.ndarray:
    return np.array([pyo.value(comp[t]) for t in m.T], dtype=float)


def _read(m: pyo.ConcreteModel, data: SizingData, solve_s: float, build_s: float) -> SizingResult:
    cap = {k: float(m.cap[k].value or 0.0) for k in m.K}
    V = np.array([float(m.V[g].value or 0.0) for g in m.M])
    contract = V[data.month] * data.months_weight[data.month] / month_hours(data)[data.month]
    avail = data.re_existing_kw + data.cf_pv * sum(v for k, v in cap.items() if k.startswith("pv:"))
    avail = avail + data.cf_wind * cap.get("wind", 0.0)
    d0, dn, el, pc, pd = _arr(m, m.d0), _arr(m, m.dn), _arr(m, m.el), _arr(m, m.pc), _arr(m, m.pd)
    imp, exp = _arr(m, m.imp), _arr(m, m.exp)
    surplus = np.maximum(avail + d0 + dn + pd + imp + contract - data.load_kw - el - pc - exp, 0.0)
    curtailed = np.minimum(surplus, avail)
    # a surplus beyond local RE (solver tolerance only) is taken off the direct lines, as in operation
    cut_new = np.minimum(surplus - curtailed, dn)
    cut_old = np.minimum(surplus - curtailed - cut_new, d0)
    flows = Flows(
        available_kw=avail,
        curtailed_kw=curtailed,
        direct_existing_kw=d0 - cut_old,
        direct_new_kw=dn - cut_new,
        contract_kw=contract,
        import_kw=np.maximum(imp, 0.0),
        export_kw=np.maximum(exp, 0.0),
        charge_kw=np.maximum(pc, 0.0),
        discharge_kw=np.maximum(pd, 0.0),
        electrolyser_kw=el,
    )
    costs = {k: float(pyo.value(m.cost[k])) for k in COMPONENTS}
    return SizingResult(
        data=data,
        status="optimal",
        objective_cny=float(pyo.value(m.obj)),
        capacity=cap,
        contract_kwh_per_month=V,
        certificates_kwh=float(m.Z.value or 0.0),
        residual_kwh=float(pyo.value(m.residual)),
        co2_t=float(pyo.value(m.co2_t)),
        flows=flows,
        costs_cny=costs,
        build_s=build_s,
        solve_s=solve_s,
    )


def _infeasible_message(data: SizingData) -> str:
    c = data.carbon
    wanted = []
    if c.intensity_target is not None:
        wanted.append(f"intensity <= {c.intensity_target} tCO2/tce")
    if c.clean_share_target is not None:
        wanted.append(f"clean-energy share >= {c.clean_share_target}")
    if c.direct_share_target is not None:
        wanted.append(f"direct-green share >= {c.direct_share_target}")
    if c.budget_tco2 is not None:
        wanted.append(f"carbon budget <= {c.budget_tco2} t")
    if c.hourly_match_target is not None:
        wanted.append(f"hourly-matched CFE score >= {c.hourly_match_target}")
    offered = ", ".join(f"{k.name} <= {k.upper}" if k.upper is not None else k.name for k in data.candidates)
    return (
        f"year {data.year}: no portfolio meets {'; '.join(wanted) or 'the limits'} with the candidates "
        f"({offered or 'none'}), contracts <= {data.contract_max_kwh_per_month / 1000:g} MWh/month and certificates "
        f"<= {data.certificate_max_kwh / 1000:g} MWh/a: raise a limit or add a technology"
    )
