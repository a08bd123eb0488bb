"""Network limits from the grid model's linear sensitivities.

For each row r (a transformer or line loading, a linearised bus voltage) and interval t:
``lower_r − k_r·s_lo[r,t] <= base'[r,t] + Σ_j a[r,j]·inj[j,t] <= upper_r + k_r·s_up[r,t]`` where
``inj`` is the controllable injection of device j (battery ``pd − pc``, generator
``avail − curt``, flexible load ``−x``, direct line ``dg``), ``base' = base − Σ_j a·p_ref``,
and ``k_r = min_j |a[r,j]|`` puts the slacks in kW of the row's most sensitive device. They are
priced above every economic term (:mod:`dispatch.model.penalties`), so they are used only where no
plan meets the limit; an unavoidable violation is reported, not infeasible.
"""

from __future__ import annotations

import pyomo.environ as pyo

from dispatch.model.curtailment import generation


def injection(m: pyo.ConcreteModel, j: str, t: int) -> pyo.Expression:
    """Controllable injection of device ``j`` in the project sign convention [kW]."""
    if j in m.B:
        return m.pd[j, t] - m.pc[j, t]
    if j in m.G:
        return generation(m, j, t)
    if j in m.F:
        return -m.x[j, t]
    return m.dg[j, t]


def add_network(m: pyo.ConcreteModel) -> None:
    """Linear network rows with penalised slacks."""
    m.s_up = pyo.Var(m.R, m.T, within=pyo.NonNegativeReals)
    m.s_lo = pyo.Var(m.R, m.T, within=pyo.NonNegativeReals)

    def value(m: pyo.ConcreteModel, r: str, t: int) -> pyo.Expression:
        return m.net_base[r, t] + sum(m.net_coeff[r, j] * injection(m, j, t) for j in m.J)

    m.net_upper_con = pyo.Constraint(
        m.R, m.T, rule=lambda m, r, t: value(m, r, t) - m.net_scale[r] * m.s_up[r, t] <= m.net_upper[r]
    )
    m.net_lower_con = pyo.Constraint(
        m.R, m.T, rule=lambda m, r, t: value(m, r, t) + m.net_scale[r] * m.s_lo[r, t] >= m.net_lower[r]
    )
