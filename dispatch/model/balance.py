"""Active-power balance of the park per interval.

``Σ_g (avail − curt) + Σ_b (pd − pc) + imp − exp + Σ_k g + Σ_d dg = demand_fixed − shed + Σ_f x + loss``
(all kW; ``demand_fixed`` is the demand forecast minus the shiftable baselines, ``shed`` the
penalised unserved part, :mod:`dispatch.model.shedding`; ``loss`` the linearised network losses,
:mod:`dispatch.model.losses`, 0 without a grid linearisation).
"""

from __future__ import annotations

import pyomo.environ as pyo

from dispatch.model.curtailment import generation


def served_load(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
    """Load served in interval ``t``: fixed demand minus shedding plus flexible loads [kW]."""
    return m.demand[t] - m.shed[t] + sum(m.x[f, t] for f in m.F)


def add_balance(m: pyo.ConcreteModel) -> None:
    """One equality per interval."""

    def rule(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        supply = (
            sum(generation(m, g, t) for g in m.G)
            + sum(m.pd[b, t] - m.pc[b, t] for b in m.B)
            + m.imp[t]
            - m.exp[t]
            + sum(m.g[k, t] for k in m.K)
            + sum(m.dg[d, t] for d in m.D)
        )
        return supply == served_load(m, t) + m.loss[t]

    m.balance = pyo.Constraint(m.T, rule=rule)
