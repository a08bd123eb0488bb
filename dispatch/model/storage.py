"""Battery storage: power limits, SOC dynamics, soft SOC band, terminal target or value, exclusivity.

Variables per battery b and interval t: charge ``pc[b,t]`` and discharge ``pd[b,t]``
[kW, >= 0], stored energy at the end of the interval ``e[b,t]`` [kWh, physically 0..E],
its excursions below ``soc_min·E`` and above ``soc_max·E`` ``e_under, e_over`` [kWh, penalised],
terminal shortfall ``e_short[b]`` [kWh] and the charge indicator ``u[b,t]`` in [0, 1]
(binary only where it matters, see :mod:`dispatch.model.binaries`).
"""

from __future__ import annotations

import pyomo.environ as pyo


def add_storage_variables(m: pyo.ConcreteModel) -> None:
    """``0 <= pc <= pc_max``, ``0 <= pd <= pd_max``, ``0 <= e <= E``."""
    m.pc = pyo.Var(m.B, m.T, bounds=lambda m, b, t: (0.0, m.pc_max[b]))
    m.pd = pyo.Var(m.B, m.T, bounds=lambda m, b, t: (0.0, m.pd_max[b]))
    m.e = pyo.Var(m.B, m.T, bounds=lambda m, b, t: (0.0, m.e_max[b]))
    m.e_under = pyo.Var(m.B, m.T, within=pyo.NonNegativeReals)
    m.e_over = pyo.Var(m.B, m.T, within=pyo.NonNegativeReals)
    m.e_short = pyo.Var(m.B, within=pyo.NonNegativeReals)
    m.u = pyo.Var(m.B, m.T, bounds=(0.0, 1.0))


def add_soc_band(m: pyo.ConcreteModel) -> None:
    """Soft SOC band ``soc_min·E − e_under <= e <= soc_max·E + e_over``: a measured start SOC outside
    the band (possible after a forecast error) is brought back as fast as the converter allows instead
    of making the horizon infeasible; the excursions are priced above every economic term."""
    m.soc_low = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: m.e[b, t] + m.e_under[b, t] >= m.e_lo[b])
    m.soc_high = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: m.e[b, t] - m.e_over[b, t] <= m.e_hi[b])


def add_soc_dynamics(m: pyo.ConcreteModel) -> None:
    """``e[t] = keep·e[t-1] + Δt·(η_c·pc[t] − pd[t]/η_d)`` with ``e[-1] = soc0·E`` and
    ``keep = (1 − self_discharge_per_h)^Δt``; separate charge and discharge efficiencies."""

    def rule(m: pyo.ConcreteModel, b: str, t: int) -> pyo.Expression:
        prev = m.e0[b] if t == 0 else m.e[b, t - 1]
        return m.e[b, t] == m.keep[b] * prev + m.dt_h * (m.eta_c[b] * m.pc[b, t] - m.inv_eta_d[b] * m.pd[b, t])

    m.soc_dynamics = pyo.Constraint(m.B, m.T, rule=rule)


def add_terminal_soc(m: pyo.ConcreteModel) -> None:
    """Soft terminal target where the park file sets one: ``e[T-1] + e_short >= soc_target·E`` with
    ``e_short`` penalised. Without a target (``e_target = 0``) the stored energy is valued instead
    (:mod:`dispatch.model.terminal`, the ``−V·e[T−1]`` term of the cost)."""
    last = m.shape.T - 1
    m.terminal_soc = pyo.Constraint(m.B, rule=lambda m, b: m.e[b, last] + m.e_short[b] >= m.e_target[b])


def add_exclusivity(m: pyo.ConcreteModel) -> None:
    """No simultaneous charge and discharge: ``pc <= pc_max·u``, ``pd <= pd_max·(1 − u)``.

    With ``u`` continuous this is the LP relaxation ``pc/pc_max + pd/pd_max <= 1``, exact
    whenever cycling energy through losses is unprofitable; ``u`` is made binary only
    in intervals where it can pay (negative prices) or where a solve still cycled.
    """
    m.charge_flag = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: m.pc[b, t] <= m.pc_max[b] * m.u[b, t])
    m.discharge_flag = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: m.pd[b, t] <= m.pd_max[b] * (1 - m.u[b, t]))


def add_storage(m: pyo.ConcreteModel) -> None:
    """All battery constraint families."""
    add_storage_variables(m)
    add_soc_dynamics(m)
    add_soc_band(m)
    add_terminal_soc(m)
    add_exclusivity(m)
