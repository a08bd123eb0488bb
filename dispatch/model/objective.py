"""Objectives: local renewable consumption first, then cost plus carbon.

Four components, compiled together and combined per stage by the solver:

* ``obj_re`` — local renewable energy lost, ``re_lost`` [kWh], counted by origin
  (:mod:`dispatch.model.origin`: curtailment, RE exported, round-trip losses of stored RE);
* ``obj_cost`` [CNY] —
  ``Σ_t Δt·[(price + cp·ef)·imp − export_price·exp + Σ_k c_k·g + Σ_d c_d·dg + Σ_b wear_b·pd]
  + demand_charge·peak + pen_K·Σ g_short − Σ_b V_b·e[b,T−1]``, the last term being the value of the
  energy left in storage (:mod:`dispatch.model.terminal`);
* ``obj_soft`` [CNY] — the soft constraints, each priced above every economic term
  (:mod:`dispatch.model.penalties`): network slack ``pen_N·Δt·Σ(s_up + s_lo)`` (slack in kW; the same
  price for the N-1 rows' ``c_up + c_lo`` and the voltage rows' ``sv_up + sv_lo``,
  :mod:`dispatch.model.contingency`, :mod:`dispatch.model.reactive`), load shedding
  ``pen_S·Δt·Σ shed``, SOC band excursions ``pen_SOC·Σ(e_under + e_over)``, an explicit terminal
  target's shortfall ``pen_T·Σ e_short`` and the AC loop's moves beyond its trust region
  ``pen_step·Δt·Σ s_step`` (priced lowest of these, :data:`~dispatch.model.penalties.STEP_PRICE`);
* ``obj_flows`` [kWh] — ``Δt·Σ_t (Σ_b (pc + pd) + imp + exp + Σ_i |q_i|)``, a tie-breaker weighted by
  ``FLOW_WEIGHT`` in every stage: among equally good plans the one that cycles least, does not
  import and export at once and uses no more inverter reactive power than needed is chosen. The
  power-factor shortfall ``s_pf`` [kvarh] counts ``PF_WEIGHT`` times here: inverters supply reactive
  power to hold the power factor whenever they can, but no kWh of RE, import or cost is ever traded
  for it (the tariff adjustment is a percentage of the month's bill, not a price per interval).

Stage 1 minimises ``obj_re + obj_soft/V + ε·obj_flows`` (V: the economic bound, so the soft terms
keep dominating one kWh of RE); stage 2 ``obj_cost + obj_soft + ε·obj_flows`` with
``re_lost <= re_bound`` (the stage-1 optimum plus a tolerance, a column bound); weighted mode
``w·obj_re + obj_cost + max(1, w/V)·obj_soft + ε·obj_flows``.
"""

from __future__ import annotations

import pyomo.environ as pyo

FLOW_WEIGHT = 1e-4  # tie-breaker: kWh of RE (stage 1) or CNY (stage 2) per kWh of battery or grid flow
#: a capacitor bank's kvar in flow units: half an inverter's, as a bank's losses are lower and it leaves the
#: inverter's current for active power; positive, so that no step is in unless the power factor needs it
BANK_WEIGHT = 0.5
PF_WEIGHT = 10.0  # power-factor shortfall [kvarh] in flow units: worth 10 kvarh of inverter Q, never a kWh


def flows(m: pyo.ConcreteModel) -> pyo.Expression:
    """Battery throughput, grid import and export and inverter |Q| over the horizon [kWh, kvarh]."""
    return m.dt_h * sum(
        sum(m.pc[b, t] + m.pd[b, t] for b in m.B)
        + m.imp[t]
        + m.exp[t]
        + sum(m.q_abs[i, t] for i in m.QD)
        + BANK_WEIGHT * sum(m.bank_kvar[c] * m.n_bank[c, t] for c in m.CB)
        for t in m.T
    ) + PF_WEIGHT * m.dt_h * sum(m.s_pf[t] for t in m.TP)


def soft(m: pyo.ConcreteModel) -> pyo.Expression:
    """Penalty of every soft constraint [CNY]."""
    return (
        m.pen_network * m.dt_h * sum(m.s_up[r, t] + m.s_lo[r, t] for r in m.R for t in m.T)
        + m.pen_network * m.dt_h * sum(m.c_up[r, t] + m.c_lo[r, t] for r in m.C for t in m.T)
        + m.pen_network * m.dt_h * sum(m.sv_up[b, t] + m.sv_lo[b, t] for b in m.GB for t in m.T)
        + m.pen_shed * m.dt_h * sum(m.shed[t] for t in m.T)
        + m.pen_soc * sum(m.e_under[b, t] + m.e_over[b, t] for b in m.B for t in m.T)
        + m.pen_terminal * sum(m.e_short[b] for b in m.B)
        + m.pen_step * m.dt_h * sum(m.s_step[j, t] for j in m.JL for t in m.T)
    )


def cost(m: pyo.ConcreteModel) -> pyo.Expression:
    """Energy, green, wear, demand and carbon cost, contract shortfall, minus terminal value [CNY]."""
    last = m.shape.T - 1
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
        + m.pen_contract * sum(m.g_short[k, j] for k in m.K for j in m.KB)
        - sum(m.e_value[b] * m.e[b, last] for b in m.B)
    )


def add_objectives(m: pyo.ConcreteModel) -> None:
    """The four components as (inactive-by-combination) objectives; the solver reads their cost vectors."""
    m.obj_re = pyo.Objective(expr=m.re_lost, sense=pyo.minimize)
    m.obj_cost = pyo.Objective(expr=cost(m), sense=pyo.minimize)
    m.obj_soft = pyo.Objective(expr=soft(m), sense=pyo.minimize)
    m.obj_flows = pyo.Objective(expr=flows(m), sense=pyo.minimize)
