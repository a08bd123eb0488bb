"""Green electricity: green-power trading contracts and direct green connections.

Contract k: ``0 <= g[k,t] <= cap[k,t]`` (per-interval MW cap times its delivery profile)
and per settlement block j: ``e_min − short[k,j] <= Σ_t in j g[k,t]·Δt <= e_max`` (the
volume with its tolerance band; a shortfall is penalised, so a park that cannot absorb
the volume stays feasible). Direct line d: ``0 <= dg[d,t] <= min(avail[d,t], capacity)``.
The model decides how much to take.
"""

from __future__ import annotations

import pyomo.environ as pyo


def add_contracts(m: pyo.ConcreteModel) -> None:
    """Contract deliveries, caps and volume bands."""
    m.g = pyo.Var(m.K, m.T, bounds=lambda m, k, t: (0.0, m.contract_cap[k, t]))
    m.g_short = pyo.Var(m.K, m.KB, within=pyo.NonNegativeReals)

    def energy(m: pyo.ConcreteModel, k: str, j: int) -> pyo.Expression:
        return m.dt_h * sum(m.contract_in_block[k, j, t] * m.g[k, t] for t in m.T)

    m.contract_min = pyo.Constraint(
        m.K, m.KB, rule=lambda m, k, j: energy(m, k, j) + m.g_short[k, j] >= m.contract_e_min[k, j]
    )
    m.contract_max = pyo.Constraint(m.K, m.KB, rule=lambda m, k, j: energy(m, k, j) <= m.contract_e_max[k, j])


def add_direct(m: pyo.ConcreteModel) -> None:
    """Direct green connection intake within the plant's available profile and line capacity."""
    m.dg = pyo.Var(m.D, m.T, bounds=lambda m, d, t: (0.0, m.direct_avail[d, t]))


def add_green(m: pyo.ConcreteModel) -> None:
    """Both kinds of green supply."""
    add_contracts(m)
    add_direct(m)
