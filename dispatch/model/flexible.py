"""Flexible loads: shiftable energy within a window.

``0 <= x[f,t] <= p_max·window[t]`` and, per block j (a day of the horizon),
``Σ_t in j x[f,t]·Δt = E[f,j]``. The shiftable baseline is removed from the demand,
so the block energy is served exactly once, at the time the model chooses.
"""

from __future__ import annotations

import pyomo.environ as pyo


def add_flexible_loads(m: pyo.ConcreteModel) -> None:
    """Shiftable consumption variables and their daily energy."""
    m.x = pyo.Var(m.F, m.T, bounds=lambda m, f, t: (0.0, m.flex_cap[f, t]))
    m.flex_energy = pyo.Constraint(
        m.F,
        m.FB,
        rule=lambda m, f, j: m.dt_h * sum(m.flex_in_block[f, j, t] * m.x[f, t] for t in m.T) == m.flex_e[f, j],
    )
