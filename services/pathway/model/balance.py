"""Hourly energy balance (1-h steps, kW = kWh); the surplus ``curt_t >= 0`` is curtailed local RE:

``A_t + d0_t + dn_t + pd_t + i_t + c_t >= L_t + el_t + pc_t + x_t``

(Every other supply costs money or emissions, so an optimal plan never leaves a surplus of it.)
"""

from __future__ import annotations

import pyomo.environ as pyo

from services.pathway.data import SizingData
from services.pathway.model.green import contract_kw
from services.pathway.model.renewables import available_kw


def add_balance(m: pyo.ConcreteModel, data: SizingData) -> None:
    def rule(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        supply = available_kw(m, t) + m.d0[t] + m.dn[t] + m.pd[t] + m.imp[t] + contract_kw(m, t)
        return supply >= float(data.load_kw[t]) + m.el[t] + m.pc[t] + m.exp[t]

    m.balance = pyo.Constraint(m.T, rule=rule)
