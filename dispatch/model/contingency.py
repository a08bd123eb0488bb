"""N-1: post-contingency branch flows as linear limits (prepared from PTDF/LODF in ``services/``).

Each row ``r`` is a :class:`~dispatch.problem.NetworkRow` in kW: the flow of one branch with one
other branch out of service, ``base'[r,t] + Σ_j a[r,j]·inj[j,t] <= upper_r + k_r·c_up[r,t]``
(and ``>= lower_r − k_r·c_lo``), ``base' = base − Σ_j a·p_ref``, ``k_r = min_j |a[r,j]|`` — the same
form as :mod:`dispatch.model.network`, in its own family so that the preventive N-1 limits can be
switched on, reported and priced separately. Slacks cost the network penalty
(:mod:`dispatch.model.penalties`): a plan that cannot be N-1 secure is reported, not infeasible.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from dispatch.model.network import injection
from dispatch.model.params import BIG, _param, _series
from dispatch.model.penalties import slack_scale
from dispatch.problem import DispatchProblem


def add_contingency_parameters(m: pyo.ConcreteModel) -> None:
    m.C = pyo.Set(initialize=m.shape.contingency_rows, ordered=True)
    m.cont_coeff = _param(m.C, m.J)
    m.cont_base = _param(m.C, m.T)
    m.cont_upper = _param(m.C)
    m.cont_lower = _param(m.C)
    m.cont_scale = _param(m.C)


def load_contingency(m: pyo.ConcreteModel, p: DispatchProblem) -> None:
    for r in p.contingency:
        base = np.asarray(r.base, dtype=float).copy()
        for dev in m.shape.controllable:
            a = float(r.coeffs.get(dev, 0.0))
            m.cont_coeff[r.name, dev] = a
            if a and dev in r.p_ref_kw:
                base -= a * np.asarray(r.p_ref_kw[dev], dtype=float)
        _series(m.cont_base, base, r.name)
        m.cont_upper[r.name] = min(r.upper, BIG)
        m.cont_lower[r.name] = max(r.lower, -BIG)
        m.cont_scale[r.name] = slack_scale(r.coeffs)


def add_contingency(m: pyo.ConcreteModel) -> None:
    """Post-contingency flow rows with penalised slacks ``c_up``/``c_lo`` [kW of the row's device]."""
    m.c_up = pyo.Var(m.C, m.T, within=pyo.NonNegativeReals)
    m.c_lo = pyo.Var(m.C, m.T, within=pyo.NonNegativeReals)

    def value(m: pyo.ConcreteModel, r: str, t: int) -> pyo.Expression:
        return m.cont_base[r, t] + sum(m.cont_coeff[r, j] * injection(m, j, t) for j in m.J)

    m.cont_upper_con = pyo.Constraint(
        m.C, m.T, rule=lambda m, r, t: value(m, r, t) - m.cont_scale[r] * m.c_up[r, t] <= m.cont_upper[r]
    )
    m.cont_lower_con = pyo.Constraint(
        m.C, m.T, rule=lambda m, r, t: value(m, r, t) + m.cont_scale[r] * m.c_lo[r, t] >= m.cont_lower[r]
    )
