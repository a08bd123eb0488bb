"""Grid connection: ``i_t >= 0``, ``0 <= x_t <= X_max`` (0 under anti-backflow), and the metered import
``i_t + c_t`` (contract deliveries pass the connection point) below each settlement month's peak:
``i_t + c_t <= peak_g <= import_limit`` — the connection limit and the demand charge's billed maximum."""

from __future__ import annotations

import pyomo.environ as pyo

from services.pathway.data import SizingData
from services.pathway.model.green import contract_kw


def add_grid(m: pyo.ConcreteModel, data: SizingData) -> None:
    m.imp = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.exp = pyo.Var(m.T, bounds=(0.0, data.export_limit_kw))
    m.peak = pyo.Var(m.M, bounds=(0.0, data.import_limit_kw))
    m.peak_limit = pyo.Constraint(m.T, rule=lambda m, t: m.imp[t] + contract_kw(m, t) <= m.peak[int(data.month[t])])
