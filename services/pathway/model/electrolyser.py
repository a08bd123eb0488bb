"""Optional electrolyser, a flexible load: ``0 <= el_t <= cap[electrolyser_kw]``, ``Σ_t w_t·el_t = E_H2``
(the hydrogen plan's electricity for the year). Without the option ``el_t = 0``."""

from __future__ import annotations

import pyomo.environ as pyo

from services.pathway.data import SizingData


def add_electrolyser(m: pyo.ConcreteModel, data: SizingData) -> None:
    if "electrolyser_kw" not in m.K:
        m.el = pyo.Param(m.T, initialize=0.0)
        return
    m.el = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.electrolyser_limit = pyo.Constraint(m.T, rule=lambda m, t: m.el[t] <= m.cap["electrolyser_kw"])
    m.electrolyser_energy = pyo.Constraint(
        expr=sum(float(data.weight[t]) * m.el[t] for t in m.T) == data.electrolyser_kwh
    )
