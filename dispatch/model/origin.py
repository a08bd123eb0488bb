"""Local renewable energy by origin: what is lost, counted where it is lost.

Local RE (PV, wind) reaches the park's loads directly or through a battery; it is *lost* when it
is curtailed, exported, or burnt in the battery's losses. Grid energy exported from a battery is
not a local RE loss. To tell them apart, the battery's content is split by origin
(per battery b, interval t):

* ``pc_re <= pc``, ``pd_re <= pd`` [kW]: the RE part of charge and discharge;
* ``e_re[t] = keep·e_re[t−1] + Δt·(η_c·pc_re − pd_re/η_d)``, ``0 <= e_re <= e``, starting from the
  carried content ``e_re[−1] = e_re0 <= e0`` (the RE part of the energy stored at the horizon start,
  a parameter: the closed loops carry what the executed intervals left, :func:`dispatch.re_origin.re_content_kwh`;
  the grid part ``e − e_re`` obeys the same dynamics and stays >= 0);
* ``exp_re <= exp`` [kW]: the RE part of the export;
* ``Σ_b (pc − pc_re) <= imp + Σ_k g + Σ_d dg``: grid-origin charge comes from outside the park, not
  from a battery's own discharge (which would relabel stored grid energy as RE);
* RE reaching loads, ``re_load = Σ_g(avail − curt) + Σ_b pd_re − Σ_b pc_re − exp_re``, lies in
  ``[0, served load]`` (RE cannot be charged or exported twice; what reaches loads is at most the load;
  the complement is served by imports, green supply and grid-origin discharge).

The RE lost over the horizon is the available RE, generated plus deliverable stored at the start
``η_d·e_re0``, minus what reached loads minus what is deliverable from storage at the end
``η_d·e_re[T−1]``. Substituting the dynamics gives, per interval (with ``e_re[−1] = e_re0``),

``loss[t] = Δt·(Σ_g curt + exp_re + Σ_b (1 − η_c·η_d)·pc_re) + Σ_b η_d·(1 − keep)·e_re[t−1]``

i.e. the round-trip loss is charged when RE enters the battery. ``re_lost`` (stage 1) leaves out the last
term, the self-discharge of stored RE (the KPI, :mod:`dispatch.re_origin`, counts it): at most
``Σ_b η_d·(1 − keep^T)·E`` per horizon (46 kWh a day for the surplus park's battery, 0.04 % of a day's
loss there), and counted it made swapping stored RE for grid energy pay in stage 1, which stage 2 then had
to honour at any price — on the surplus park a 10.6 MW import peak at 0.95 CNY/kWh to save a few kWh of RE
self-discharge (issue 15).

Proof sketch that cycling never disposes of RE (issue 23): take a plan and let the battery deliver ``d`` in
interval t in place of RE that is curtailed instead, then recharge ``c = d/(η_c·η_d)`` from RE that would
otherwise be curtailed later (or do both in the same interval). Every load is served as before. If the
delivered energy was RE, the RE reaching loads and the RE stored at the end are unchanged; if it was grid
energy, the RE reaching loads falls by ``d`` and the RE stored at the end grows by ``η_c·c = d/η_d``,
deliverable ``d``. Either way the loss is unchanged: curtailing and burning cost stage 1 the same, and the
throughput tie-breaker picks the plan that does not cycle. The attribution is the most favourable consistent
one (the model chooses ``pc_re, pd_re, exp_re``): export counts as RE only where no grid-origin energy could
have been exported instead. Stored RE carried in (``e_re0``) is therefore lost when it is exported (``η_d``
per kWh stored), and not when it serves load or stays stored: without the carry, every re-plan saw the
stored RE as grid energy and sold it at no RE cost (issue 15).

Without local generators there is nothing to lose: the loss is 0 and no origin variables are built.
"""

from __future__ import annotations

import pyomo.environ as pyo

from dispatch.model.balance import served_load
from dispatch.model.curtailment import generation


def exported_re(m: pyo.ConcreteModel, t: int) -> pyo.Expression | float:
    """The RE part of the export in interval ``t`` [kW]; none under anti-backflow."""
    return m.exp_re[t] if m.shape.export_allowed else 0.0


def add_origin(m: pyo.ConcreteModel) -> None:
    """Origin split of battery flows and export, and the RE lost per horizon ``re_lost`` [kWh]."""
    m.re_lost = pyo.Var(bounds=lambda m: (0.0, m.re_bound))
    if not m.shape.generators:
        m.re_def = pyo.Constraint(expr=m.re_lost == 0)
        return
    m.pc_re = pyo.Var(m.B, m.T, bounds=lambda m, b, t: (0.0, m.pc_max[b]))
    m.pd_re = pyo.Var(m.B, m.T, bounds=lambda m, b, t: (0.0, m.pd_max[b]))
    m.e_re = pyo.Var(m.B, m.T, bounds=lambda m, b, t: (0.0, m.e_max[b]))
    if m.shape.export_allowed:
        m.exp_re = pyo.Var(m.T, bounds=lambda m, t: (0.0, m.export_limit))
        m.exp_re_le = pyo.Constraint(m.T, rule=lambda m, t: m.exp_re[t] <= m.exp[t])
    m.pc_re_le = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: m.pc_re[b, t] <= m.pc[b, t])
    m.pd_re_le = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: m.pd_re[b, t] <= m.pd[b, t])
    m.e_re_le = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: m.e_re[b, t] <= m.e[b, t])

    def prev(m: pyo.ConcreteModel, b: str, t: int) -> pyo.Expression:
        return m.e_re0[b] if t == 0 else m.e_re[b, t - 1]

    m.e_re_dynamics = pyo.Constraint(
        m.B,
        m.T,
        rule=lambda m, b, t: (
            m.e_re[b, t]
            == m.keep[b] * prev(m, b, t) + m.dt_h * (m.eta_c[b] * m.pc_re[b, t] - m.inv_eta_d[b] * m.pd_re[b, t])
        ),
    )

    def re_load(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        return (
            sum(generation(m, g, t) for g in m.G) + sum(m.pd_re[b, t] - m.pc_re[b, t] for b in m.B) - exported_re(m, t)
        )

    # grid-origin charge comes from outside the park (imports, green supply), never from a battery's own
    # discharge: otherwise charging and discharging at once would relabel grid content as RE
    m.grid_charge_source = pyo.Constraint(
        m.T,
        rule=lambda m, t: (
            sum(m.pc[b, t] - m.pc_re[b, t] for b in m.B)
            <= m.imp[t] + sum(m.g[k, t] for k in m.K) + sum(m.dg[d, t] for d in m.D)
        ),
    )
    m.re_load_min = pyo.Constraint(m.T, rule=lambda m, t: re_load(m, t) >= 0)
    m.re_load_max = pyo.Constraint(m.T, rule=lambda m, t: re_load(m, t) <= served_load(m, t) + m.loss[t])

    def loss(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        return m.dt_h * (
            sum(m.curt[g, t] for g in m.G) + exported_re(m, t) + sum(m.rt_loss[b] * m.pc_re[b, t] for b in m.B)
        )

    m.re_def = pyo.Constraint(expr=m.re_lost == sum(loss(m, t) for t in m.T))
