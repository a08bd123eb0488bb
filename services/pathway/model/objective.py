"""Annual cost [CNY] over the horizon, by component (``s`` the horizon share, ``a_k`` capex·CRF + O&M):

* capital: ``s·Σ_k a_k·cap[k]``
* energy: ``Σ_t w_t·price_t·i_t``;  export: ``−p_x·Σ_t w_t·x_t``
* demand charge: ``dc·Σ_g months_g·peak_g``
* contracts: ``p_c·Σ_g months_g·V_g``;  direct lines: ``Σ_t w_t·(p_d0·d0_t + p_dn·dn_t)``
* certificates: ``p_z·Z``;  carbon: ``cp·EF·R``;  battery wear: ``tp·Σ_t w_t·pd_t``
"""

from __future__ import annotations

import pyomo.environ as pyo

from services.pathway.data import SizingData

COMPONENTS = (
    "capital",
    "energy",
    "demand_charge",
    "contracts",
    "direct_lines",
    "certificates",
    "carbon",
    "battery_wear",
    "export_revenue",
)


def add_objective(m: pyo.ConcreteModel, data: SizingData) -> None:
    w = [float(x) for x in data.weight]
    T = range(data.T)
    price = data.price_cny_per_kwh
    annual = {c.name: float(c.annual_cny_per_unit) for c in data.candidates}
    terms = {
        "capital": data.horizon_share * sum(annual[k] * m.cap[k] for k in m.K),
        "energy": sum(w[t] * float(price[t]) * m.imp[t] for t in T),
        "demand_charge": data.demand_charge_cny_per_kw_month
        * sum(float(data.months_weight[g]) * m.peak[g] for g in m.M),
        "contracts": data.contract_price_cny_per_kwh * sum(float(data.months_weight[g]) * m.V[g] for g in m.M),
        "direct_lines": sum(w[t] * (data.direct_existing_price * m.d0[t] + data.direct_new_price * m.dn[t]) for t in T),
        "certificates": data.certificate_price_cny_per_kwh * m.Z,
        "carbon": data.carbon_price_cny_per_kg * float(data.carbon.residual_kg_per_kwh) * m.residual,
        "battery_wear": data.throughput_cny_per_kwh * sum(w[t] * m.pd[t] for t in T),
        "export_revenue": -data.export_price * sum(w[t] * m.exp[t] for t in T),
    }
    m.C = pyo.Set(initialize=COMPONENTS, ordered=True)
    m.cost = pyo.Expression(m.C, rule=lambda m, k: terms[k])
    m.obj = pyo.Objective(expr=sum(m.cost[k] for k in m.C), sense=pyo.minimize)
