"""Objectives: local renewable consumption first, then cost plus carbon.

Stage 1: minimise the local renewable energy not consumed in the park,
``Σ_t Δt·(Σ_g curt[g,t] + exp[t])`` [kWh] (export is counted as lost local RE: the park only
exports when local generation exceeds what it can use), plus the network slack penalty, plus a
tie-breaker ``ε·Σ_t Δt·Σ_b (pc + pd)`` (``ε = THROUGHPUT_WEIGHT``, 10⁻⁴ kWh per kWh of battery
throughput) so that among equally good plans the one that cycles least is chosen. Stage 1 would
also "consume" surplus PV by charging and discharging at once (burning the losses) where the
indicator ``u`` is continuous; the solver detects such intervals and makes them binary
(:func:`dispatch.model.binaries.simultaneous`).

Stage 2: minimise, in CNY,
``Σ_t Δt·[price·imp − export_price·exp + Σ_k c_k·g + Σ_d c_d·dg + Σ_b tp_b·pd + cp·ef·imp]
+ demand_charge·peak + pen_T·Σ_b e_short + pen_K·Σ g_short``
subject to ``re_loss <= re_bound`` (the stage-1 optimum plus a tolerance). In weighted
mode the single objective is ``cost + w·re_loss``. The network slack penalty
``pen_N·Δt·Σ (s_up + s_lo)`` is part of both stages.
"""

from __future__ import annotations

import pyomo.environ as pyo

THROUGHPUT_WEIGHT = 1e-4  # stage-1 tie-breaker: kWh of RE-loss equivalent per kWh of throughput


def throughput(m: pyo.ConcreteModel) -> pyo.Expression:
    """Battery throughput, charge plus discharge, over the horizon [kWh]."""
    return m.dt_h * sum(m.pc[b, t] + m.pd[b, t] for b in m.B for t in m.T)


def re_loss(m: pyo.ConcreteModel) -> pyo.Expression:
    """Local renewable energy curtailed or exported over the horizon [kWh]."""
    return m.dt_h * sum(sum(m.curt[g, t] for g in m.G) + m.exp[t] for t in m.T)


def network_penalty(m: pyo.ConcreteModel) -> pyo.Expression:
    """Penalty of network slack [CNY]."""
    return m.pen_network * m.dt_h * sum(m.s_up[r, t] + m.s_lo[r, t] for r in m.R for t in m.T)


def cost(m: pyo.ConcreteModel) -> pyo.Expression:
    """Energy, green, degradation, demand and carbon cost plus SOC and contract penalties [CNY]."""
    per_interval = sum(
        (m.price[t] + m.carbon_price * m.ef[t]) * m.imp[t]
        - m.export_price[t] * m.exp[t]
        + sum(m.contract_price[k] * m.g[k, t] for k in m.K)
        + sum(m.direct_price[d] * m.dg[d, t] for d in m.D)
        + sum(m.throughput_cost[b] * m.pd[b, t] for b in m.B)
        for t in m.T
    )
    return (
        m.dt_h * per_interval
        + m.demand_charge * m.peak
        + m.pen_terminal * sum(m.e_short[b] for b in m.B)
        + m.pen_contract * sum(m.g_short[k, j] for k in m.K for j in m.KB)
    )


def add_objectives(m: pyo.ConcreteModel) -> None:
    """Three objective components, compiled together and combined per stage by the solver:
    ``obj_re`` (local RE lost, kWh), ``obj_cost`` (CNY), ``obj_net`` (network slack penalty, CNY) and
    ``obj_throughput`` (battery throughput, kWh).

    Stage 1 minimises ``obj_re + ε·obj_throughput + obj_net``; stage 2 ``obj_cost + obj_net`` with
    ``re_loss <= re_bound``;
    weighted mode ``w·obj_re + obj_cost + obj_net``. Switching stages changes only the cost vector
    and one row bound, so HiGHS re-solves from the stage-1 basis.
    """
    m.re_loss = pyo.Expression(expr=re_loss(m))
    m.obj_re = pyo.Objective(expr=m.re_loss, sense=pyo.minimize)
    m.obj_cost = pyo.Objective(expr=cost(m), sense=pyo.minimize)
    m.obj_net = pyo.Objective(expr=network_penalty(m), sense=pyo.minimize)
    m.obj_throughput = pyo.Objective(expr=throughput(m), sense=pyo.minimize)
    m.re_limit = pyo.Constraint(expr=m.re_loss <= m.re_bound)
