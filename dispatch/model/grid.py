"""Grid-mix import and export at the connection point.

``0 <= imp <= import_limit``, ``0 <= exp <= export_limit`` (0 = anti-backflow);
where export is allowed, ``imp <= import_limit·v`` and ``exp <= export_limit·(1 − v)``
with ``v`` binary only where simultaneous import and export can pay
(import price below export price). The connection point also carries green-contract
deliveries: :func:`add_connection_point` bounds ``imp + Σ g`` and defines the peak
(``peak >= imp[t] + Σ_k g[k,t] + margin[t]``, ``peak >= peak_so_far``) that carries the monthly demand
charge; ``margin[t]`` is the safety margin against forecast errors (0 = none).
"""

from __future__ import annotations

import pyomo.environ as pyo


def add_grid(m: pyo.ConcreteModel) -> None:
    """Import/export variables within connection limits, optional exclusivity, peak import."""
    m.imp = pyo.Var(m.T, bounds=lambda m, t: (0.0, m.import_limit))
    m.exp = pyo.Var(m.T, bounds=lambda m, t: (0.0, m.export_limit))
    m.v = pyo.Var(m.T, bounds=(0.0, 1.0))
    if m.shape.export_allowed:
        m.import_flag = pyo.Constraint(m.T, rule=lambda m, t: m.imp[t] <= m.import_limit * m.v[t])
        m.export_flag = pyo.Constraint(m.T, rule=lambda m, t: m.exp[t] <= m.export_limit * (1 - m.v[t]))
    m.peak = pyo.Var(bounds=lambda m: (m.peak_so_far, None))


def add_connection_point(m: pyo.ConcreteModel) -> None:
    """Power through the connection point: grid-mix import plus green-contract deliveries.

    Green-power trading contracts are delivered by the public grid, so they pass the same
    connection point and meter as grid-mix import (direct green lines do not):
    ``imp[t] + Σ_k g[k,t] <= import_limit`` and ``peak >= imp[t] + Σ_k g[k,t] + margin[t]`` (the demand
    charge is levied on the metered import). The margin backs the planned import off the peak that is
    paid for (with ``peak >= peak_so_far``: at most ``peak_so_far − margin`` while the month's peak is
    not raised), so an under-forecast of up to ``margin`` does not set a new peak. It is not applied to
    the hard ``import_limit``: that is a protection limit held in real time, and tightening it by a
    statistical margin would make the plan shed load rather than pay a higher peak.

    Where real-time control lets the batteries absorb the error (``shape.peak_reserve``), part ``r[t]``
    of the margin may instead be held in reserve by the batteries, so no import is given up for it:

    * ``peak >= flow[t] + margin[t] − r[t]``, ``peak >= flow[t]``, ``0 <= r[t] <= margin[t]``;
    * power: ``r[t] <= Σ_b (pd_max_b − pd[b,t] + pc[b,t])`` (stop charging, discharge up to the rating);
    * energy: ``Δt·r[t] <= Σ_b η_d,b·(e[b,t] − e_lo,b + e_under[b,t])``, one interval of the reserve
      above the SOC floor (a longer error is met by the next re-plan from the measured SOC; ``e_under``
      keeps the row feasible when a measured SOC starts below the floor).
    """

    def flow(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        return m.imp[t] + sum(m.g[k, t] for k in m.K)

    m.pcc_limit = pyo.Constraint(m.T, rule=lambda m, t: flow(m, t) <= m.import_limit)
    if not m.shape.peak_reserve:
        m.peak_def = pyo.Constraint(m.T, rule=lambda m, t: m.peak >= flow(m, t) + m.peak_margin[t])
        return
    m.r_peak = pyo.Var(m.T, bounds=lambda m, t: (0.0, m.peak_margin[t]))
    m.peak_def = pyo.Constraint(m.T, rule=lambda m, t: m.peak >= flow(m, t) + m.peak_margin[t] - m.r_peak[t])
    m.peak_flow = pyo.Constraint(m.T, rule=lambda m, t: m.peak >= flow(m, t))
    m.reserve_power = pyo.Constraint(
        m.T, rule=lambda m, t: m.r_peak[t] <= sum(m.pd_max[b] - m.pd[b, t] + m.pc[b, t] for b in m.B)
    )
    m.reserve_energy = pyo.Constraint(
        m.T,
        rule=lambda m, t: (
            m.dt_h * m.r_peak[t] <= sum(m.eta_d[b] * (m.e[b, t] - m.e_lo[b] + m.e_under[b, t]) for b in m.B)
        ),
    )
