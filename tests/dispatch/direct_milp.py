"""An independent formulation for the dispatch tests: a PV + battery + grid park written directly in
highspy's modelling API, sharing no code with ``dispatch.model`` (variables, constraints and objectives
are re-derived here from the physics, so a common mistake cannot hide in both)."""

from __future__ import annotations

from collections.abc import Sequence

import highspy


def solve_direct(
    demand_kw: Sequence[float],
    pv_kw: Sequence[float],
    *,
    dt_h: float,
    e_kwh: float,
    p_kw: float,
    eta: float,
    e0_kwh: float,
    import_price: Sequence[float],
    export_price: Sequence[float] | None = None,
    export_limit_kw: float = 0.0,
    re_weight: float = 0.0,
    loss_weight: float = 0.0,
    tie_weight: float = 1e-4,
    e_end_min_kwh: float = 0.0,
) -> dict[str, list[float]]:
    """Minimise ``Σ Δt·(price·imp − export_price·exp) + re_weight·Σ Δt·curt + loss_weight·(battery losses)
    + tie_weight·throughput`` with binary charge/discharge and import/export exclusivity.

    Battery losses are physical: ``(1 − η)·pc`` charging and ``(1/η − 1)·pd`` discharging [kWh].
    """
    T = len(demand_kw)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    big = 1e6
    pc = [h.addVariable(lb=0, ub=p_kw) for _ in range(T)]
    pd = [h.addVariable(lb=0, ub=p_kw) for _ in range(T)]
    u = [h.addVariable(lb=0, ub=1, type=highspy.HighsVarType.kInteger) for _ in range(T)]
    e = [h.addVariable(lb=0, ub=e_kwh) for _ in range(T)]
    curt = [h.addVariable(lb=0, ub=float(pv_kw[t])) for t in range(T)]
    imp = [h.addVariable(lb=0, ub=big) for _ in range(T)]
    exp = [h.addVariable(lb=0, ub=export_limit_kw) for _ in range(T)]
    w = [h.addVariable(lb=0, ub=1, type=highspy.HighsVarType.kInteger) for _ in range(T)]
    for t in range(T):
        h.addConstr(float(pv_kw[t]) - curt[t] + pd[t] - pc[t] + imp[t] - exp[t] == float(demand_kw[t]))
        prev = e0_kwh if t == 0 else e[t - 1]
        h.addConstr(e[t] == prev + dt_h * eta * pc[t] - dt_h / eta * pd[t])
        h.addConstr(pc[t] <= p_kw * u[t])
        h.addConstr(pd[t] <= p_kw - p_kw * u[t])
        h.addConstr(imp[t] <= big * w[t])
        h.addConstr(exp[t] <= export_limit_kw - export_limit_kw * w[t])
    h.addConstr(e[T - 1] >= e_end_min_kwh)
    xp = list(export_price) if export_price is not None else [0.0] * T
    obj = sum(
        dt_h * float(import_price[t]) * imp[t]
        - dt_h * xp[t] * exp[t]
        + re_weight * dt_h * curt[t]
        + loss_weight * dt_h * ((1 - eta) * pc[t] + (1 / eta - 1) * pd[t])
        + tie_weight * dt_h * (pc[t] + pd[t])
        for t in range(T)
    )
    h.minimize(obj)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return {
        name: [float(h.val(v)) for v in vs]
        for name, vs in (("pc", pc), ("pd", pd), ("e", e), ("curt", curt), ("imp", imp), ("exp", exp))
    }
