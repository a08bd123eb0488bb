"""New capacities: ``lower_k <= cap[k] <= upper_k`` (lower: built in earlier pathway years; upper: roof,
land or market limits). ``new(m, prefix)`` sums the candidates of one kind (PV over its buses)."""

from __future__ import annotations

import pyomo.environ as pyo

from services.pathway.data import SizingData


def add_capacities(m: pyo.ConcreteModel, data: SizingData) -> None:
    m.K = pyo.Set(initialize=[c.name for c in data.candidates], ordered=True)
    bounds = {c.name: (c.lower, c.upper) for c in data.candidates}
    m.cap = pyo.Var(m.K, bounds=lambda m, k: bounds[k])


def new(m: pyo.ConcreteModel, prefix: str) -> pyo.Expression | float:
    """Total new capacity of the candidates named ``prefix`` or ``prefix:*`` (0 when none)."""
    names = [k for k in m.K if k == prefix or k.startswith(prefix + ":")]
    return sum(m.cap[k] for k in names) if names else 0.0
