"""Indicator targets and the carbon budget, linear and on the safe side of ``ems.carbon``'s definitions.

With ``s`` the horizon share, ``K = Σ_t w_t·(L_t + el_t)`` (fixed), ``EF`` the residual factor and the
market-based residual import ``R = Σ_t w_t·i_t − Z`` (contract deliveries are not in ``i``):

* energy [tce] ``= K·kgce/1000 + fuel_tce·s``; CO2 [t] ``= R·EF/1000 + fuel_t·s``
* intensity: ``CO2 <= I*·energy``
* clean share: ``(K − R)·kgce/1000 >= S*·energy``
* direct-green share: ``Σ_t w_t·y_t >= D*·K`` with ``y_t <= d0_t + dn_t`` and
  ``y_t <= L_t + el_t − G_t = d0_t + dn_t + pd_t + i_t + c_t − pc_t − x_t`` (``G_t = A_t − curt_t`` the
  local RE used, from the balance; ``y`` free): ``ems.carbon`` serves load with local RE first, then
  the direct line, so ``y_t <= min(D_t, max(K_t − G_t, 0))``, what it will count
* budget: ``CO2 <= B·s``
* hourly matching (``energytag-hourly`` CFE score ``>= H*``): ``Σ_t w_t·i_t <= (1 − H*)·K``

Why these bound what ``ems.carbon`` computes for the solution (checked in ``check.py``): its
consumption-attributed CO2 is ``Σ E_mkt − exported CO2 − pool CO2 left at year end <= R·EF`` (the
storage ledger's reconciliation; the pool starts empty and the battery starts at its floor), and the
grid-mix energy it finds in consumption is at most ``R`` (storage losses only remove some), so
its green energy is at least ``K − R``.

The hourly-matching bound: the plan's contracts are flat, time-matched deliveries (``check.py`` records
them per interval), so in every hour they cover ``C_t = c_t`` of the metered import ``i_t + c_t``.
Consumption that is not carbon-free comes only from the grid mix ``i_t`` — directly, or through the
storage pool, which carries each kWh's carbon-free share and only removes energy (losses, export,
what is left at year end). So non-CFE consumption ``<= Σ_t w_t·i_t`` in every hour-sum, and the
``energytag-hourly`` matched energy (``min(K_h, cfe_h + contract excess_h)``) is at least
``K − Σ_t w_t·i_t``. Certificates (GEC, no hourly production time) do not count, as in EnergyTag.
"""

from __future__ import annotations

import pyomo.environ as pyo

from services.pathway.data import SizingData
from services.pathway.model.green import contract_kw


def residual_kwh(m: pyo.ConcreteModel) -> pyo.Expression:
    d: SizingData = m.data
    return sum(float(d.weight[t]) * m.imp[t] for t in m.T) - m.Z


def energy_tce(data: SizingData) -> float:
    c = data.carbon
    return data.energy_kwh * float(c.kgce_per_kwh) / 1000.0 + float(c.fuel_tce) * data.horizon_share


def add_targets(m: pyo.ConcreteModel, data: SizingData) -> None:
    c, s = data.carbon, data.horizon_share
    ef = float(c.residual_kg_per_kwh)
    m.residual = pyo.Expression(expr=residual_kwh(m))
    m.co2_t = pyo.Expression(expr=m.residual * ef / 1000.0 + float(c.fuel_tco2) * s)
    energy = energy_tce(data)
    if c.intensity_target is not None:
        m.intensity_target = pyo.Constraint(expr=m.co2_t <= float(c.intensity_target) * energy)
    if c.clean_share_target is not None:
        m.clean_share_target = pyo.Constraint(
            expr=(data.energy_kwh - m.residual) * float(c.kgce_per_kwh) / 1000.0 >= float(c.clean_share_target) * energy
        )
    if c.budget_tco2 is not None:
        m.budget = pyo.Constraint(expr=m.co2_t <= float(c.budget_tco2) * s)
    if c.direct_share_target is not None:
        add_direct_share(m, data, float(c.direct_share_target))
    if c.hourly_match_target is not None:
        m.hourly_match_target = pyo.Constraint(
            expr=sum(float(data.weight[t]) * m.imp[t] for t in m.T)
            <= (1.0 - float(c.hourly_match_target)) * data.energy_kwh
        )


def add_direct_share(m: pyo.ConcreteModel, data: SizingData, share: float) -> None:
    m.y = pyo.Var(m.T)
    m.direct_used = pyo.Constraint(m.T, rule=lambda m, t: m.y[t] <= m.d0[t] + m.dn[t])
    m.direct_room = pyo.Constraint(
        m.T,
        rule=lambda m, t: m.y[t] <= m.d0[t] + m.dn[t] + m.pd[t] + m.imp[t] + contract_kw(m, t) - m.pc[t] - m.exp[t],
    )
    m.direct_share_target = pyo.Constraint(
        expr=sum(float(data.weight[t]) * m.y[t] for t in m.T) >= share * data.energy_kwh
    )
