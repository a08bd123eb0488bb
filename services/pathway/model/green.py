"""Green supply bought: direct lines, monthly contracts, certificates.

* Direct lines: ``0 <= d0_t <= D0_t`` (the park's existing line, its plant's output) and
  ``0 <= dn_t <= cf_direct_t·cap[direct_kw]`` (a new line to a plant of the same rating).
* Contracts: ``0 <= V_g <= V_max`` per settlement month, delivered flat over the month through the
  grid connection: ``c_t = V_g·months_g / H_g`` with ``H_g = Σ_{t∈g} w_t`` (the contract is a
  ``contract_period`` volume in ``ems.carbon``: it covers grid import of the month, never more).
* Certificates: ``0 <= Z <= Z_max·s`` and ``Z <= Σ_t w_t·i_t`` (``ems.carbon`` rule: a retirement
  never exceeds the eligible consumption = grid import − contract claims), ``s`` the horizon share.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from services.pathway.data import SizingData


def add_direct_lines(m: pyo.ConcreteModel, data: SizingData) -> None:
    m.d0 = pyo.Var(m.T, bounds=lambda m, t: (0.0, float(data.direct_existing_kw[t])))
    m.dn = pyo.Var(m.T, within=pyo.NonNegativeReals)
    if "direct_kw" in m.K:
        m.direct_limit = pyo.Constraint(m.T, rule=lambda m, t: m.dn[t] <= float(data.cf_direct[t]) * m.cap["direct_kw"])
    else:
        for t in m.T:
            m.dn[t].fix(0.0)


def month_hours(data: SizingData) -> np.ndarray:
    """``H_g``: weighted modelled hours of each settlement month."""
    return np.bincount(data.month, weights=data.weight, minlength=len(data.months_weight))


def contract_kw(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
    d: SizingData = m.data
    g = int(d.month[t])
    return m.V[g] * float(d.months_weight[g] / m.month_hours[g])


def add_contracts(m: pyo.ConcreteModel, data: SizingData) -> None:
    m.month_hours = month_hours(data)
    m.V = pyo.Var(m.M, bounds=(0.0, data.contract_max_kwh_per_month))


def add_certificates(m: pyo.ConcreteModel, data: SizingData) -> None:
    m.Z = pyo.Var(bounds=(0.0, data.certificate_max_kwh * data.horizon_share))
    m.certificate_eligible = pyo.Constraint(expr=sum(float(data.weight[t]) * m.imp[t] for t in m.T) >= m.Z)
