"""Battery storage (existing plus new, one pool with the park's energy-weighted efficiencies).

``E = E0 + cap[battery_kwh]``, ``P = P0 + cap[battery_kw]``; ``e_t`` is the energy stored above the
floor ``soc_min·E``, so the floor never feeds the park (``ems.carbon``'s pool starts empty: nothing is
discharged that was not charged in the year, no unknown-origin energy):

* ``0 <= e_t <= (soc_max − soc_min)·E``
* ``e_t = keep·e_{t−1} + η_c·pc_t − pd_t/η_d − (1 − keep)·soc_min·E``  (1-h steps; ``e_{−1} = 0`` at
  the start of the year or of a representative period; self-discharge of the floor is made up by charging)
* ``pc_t + pd_t <= P`` (same charge and discharge rating; also the LP's exclusivity relaxation)
"""

from __future__ import annotations

import pyomo.environ as pyo

from services.pathway.data import SizingData
from services.pathway.model.capacity import new


def add_storage(m: pyo.ConcreteModel, data: SizingData) -> None:
    m.pc = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.pd = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.e = pyo.Var(m.T, within=pyo.NonNegativeReals)
    energy = data.battery_kwh + new(m, "battery_kwh")
    power = data.battery_kw + new(m, "battery_kw")
    if data.battery_kwh == 0 and "battery_kwh" not in m.K:
        for t in m.T:
            m.pc[t].fix(0.0)
            m.pd[t].fix(0.0)
            m.e[t].fix(0.0)
        return
    keep, floor_loss = data.keep_per_h, (1.0 - data.keep_per_h) * data.soc_min
    starts = data.period_start

    def dynamics(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        prev = 0.0 if starts[t] else keep * m.e[t - 1]
        return m.e[t] == prev + data.eta_charge * m.pc[t] - m.pd[t] / data.eta_discharge - floor_loss * energy

    m.soc_dynamics = pyo.Constraint(m.T, rule=dynamics)
    m.soc_upper = pyo.Constraint(m.T, rule=lambda m, t: m.e[t] <= (data.soc_max - data.soc_min) * energy)
    m.power_limit = pyo.Constraint(m.T, rule=lambda m, t: m.pc[t] + m.pd[t] <= power)
