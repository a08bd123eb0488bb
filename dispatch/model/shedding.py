"""Soft load shedding: a forecast the park cannot serve degrades that interval, not the horizon.

``0 <= shed[t] <= demand_fixed[t]`` [kW]; the balance serves ``demand_fixed − shed``. Shedding is
priced above every economic term (:mod:`dispatch.model.penalties`), so it appears only where
nothing else can serve the load (a 200 MW spike against a 60 MW connection) and is reported.
"""

from __future__ import annotations

import pyomo.environ as pyo


def add_shedding(m: pyo.ConcreteModel) -> None:
    """Unserved fixed demand per interval."""
    m.shed = pyo.Var(m.T, bounds=lambda m, t: (0.0, m.demand[t]))
