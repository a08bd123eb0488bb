"""Local PV and wind: curtailment is an explicit decision, never a silent loss.

``0 <= curt[g,t] <= avail[g,t]``; the generator injects ``avail − curt``.
"""

from __future__ import annotations

import pyomo.environ as pyo


def add_curtailment(m: pyo.ConcreteModel) -> None:
    """Curtailment variable bounded by the forecast available output [kW]."""
    m.curt = pyo.Var(m.G, m.T, bounds=lambda m, g, t: (0.0, m.avail[g, t]))


def generation(m: pyo.ConcreteModel, g: str, t: int) -> pyo.Expression:
    """Injected output of generator ``g``: ``avail − curt`` [kW]."""
    return m.avail[g, t] - m.curt[g, t]
