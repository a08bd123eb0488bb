"""Local renewable energy lost by a given plan, counted by origin as the optimiser counts it.

The KPI ``local_re_consumption_ratio`` must score a plan the way stage 1 of the objective does
(:mod:`dispatch.model.origin`), whoever made the plan (optimiser, rule-based baseline, executed
closed loop): an export of grid-charged battery energy is not a renewable loss, PV stored and later
exported is, and round-trip and self-discharge losses of stored RE are.

With every power of the plan fixed, only the origin split is free: per battery ``pc_re <= pc``,
``pd_re <= pd``, ``0 <= e_re <= e`` with ``e_re[t] = keep·e_re[t−1] + Δt·(η_c·pc_re − pd_re/η_d)``
(``e_re[−1] = 0``: stored energy at the start counts as grid energy, as in the model), ``exp_re <= exp``,
grid-origin charge ``Σ(pc − pc_re) <= imp + green``, and the RE reaching loads
``G + Σ(pd_re − pc_re) − exp_re`` between 0 and what the balance says was served
(``G + Σ(pd − pc) + imp − exp + green``). The loss is minimised over the split — the most favourable
consistent attribution, the model's own — as a small LP (HiGHS through scipy):

``lost = Δt·Σ curt + Σ_t [Δt·(exp_re + Σ_b (1 − η_c·η_d)·pc_re) + Σ_b η_d·(1 − keep)·e_re[t−1]]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from dispatch.problem import DispatchProblem

if TYPE_CHECKING:
    from dispatch.schedule import Schedule

_TOL_KW = 1e-6  # solver round-off in the plan's powers must not make the attribution infeasible


def re_lost_kwh(p: DispatchProblem, s: Schedule) -> float:
    """Local RE lost by plan ``s`` (curtailed, exported or burnt in storage) [kWh]."""
    T, h = s.T, p.dt_h
    if not s.gen_avail_kw or T == 0:
        return 0.0
    curtailed = sum(float(c.sum()) for c in s.curtail_kw.values()) * h
    gen = sum((s.gen_p_kw[g] for g in s.gen_p_kw), np.zeros(T))
    green = s.green_kw
    imp, exp = s.grid_import_kw, s.grid_export_kw
    bats = [b for b in p.batteries if b.id in s.battery_charge_kw]
    nb = len(bats)
    n = (3 * nb + 1) * T  # per battery pc_re, pd_re, e_re; then exp_re

    def col(b: int, kind: int) -> int:  # first column of battery b's block ``kind`` (0 pc_re, 1 pd_re, 2 e_re)
        return (3 * b + kind) * T

    x_exp = 3 * nb * T
    c = np.zeros(n)
    c[x_exp : x_exp + T] = h
    lb, ub = np.zeros(n), np.zeros(n)
    ub[x_exp : x_exp + T] = exp + _TOL_KW
    eq_rows, eq_cols, eq_vals = [], [], []
    pc_sum = np.zeros(T)
    pd_sum = np.zeros(T)
    for i, b in enumerate(bats):
        pc, pd = s.battery_charge_kw[b.id], s.battery_discharge_kw[b.id]
        pc_sum, pd_sum = pc_sum + pc, pd_sum + pd
        keep = (1.0 - b.self_discharge_per_h) ** h
        c[col(i, 0) : col(i, 0) + T] = h * (1.0 - b.eta_charge * b.eta_discharge)
        c[col(i, 2) : col(i, 2) + T - 1] = b.eta_discharge * (1.0 - keep)  # e_re[t−1] pays in interval t
        ub[col(i, 0) : col(i, 0) + T] = pc + _TOL_KW
        ub[col(i, 1) : col(i, 1) + T] = pd + _TOL_KW
        ub[col(i, 2) : col(i, 2) + T] = s.soc[b.id] * b.e_kwh + _TOL_KW
        for t in range(T):  # e_re[t] − keep·e_re[t−1] − Δt·η_c·pc_re + Δt/η_d·pd_re = 0
            r = i * T + t
            eq_rows += [r, r, r]
            eq_cols += [col(i, 2) + t, col(i, 0) + t, col(i, 1) + t]
            eq_vals += [1.0, -h * b.eta_charge, h / b.eta_discharge]
            if t:
                eq_rows.append(r)
                eq_cols.append(col(i, 2) + t - 1)
                eq_vals.append(-keep)
    # inequality rows per t: (0) −Σpc_re <= imp + green − Σpc; (1) Σpc_re − Σpd_re + exp_re <= G;
    # (2) Σpd_re − Σpc_re − exp_re <= served − G = Σ(pd − pc) + imp − exp + green
    ub_rows, ub_cols, ub_vals = [], [], []
    for t in range(T):
        for i in range(nb):
            ub_rows += [t, T + t, T + t, 2 * T + t, 2 * T + t]
            ub_cols += [col(i, 0) + t, col(i, 0) + t, col(i, 1) + t, col(i, 1) + t, col(i, 0) + t]
            ub_vals += [-1.0, 1.0, -1.0, 1.0, -1.0]
        ub_rows += [T + t, 2 * T + t]
        ub_cols += [x_exp + t, x_exp + t]
        ub_vals += [1.0, -1.0]
    b_ub = np.concatenate([imp + green - pc_sum, gen, pd_sum - pc_sum + imp - exp + green]) + _TOL_KW
    a_ub = sp.csr_array((ub_vals, (ub_rows, ub_cols)), shape=(3 * T, n))
    a_eq = sp.csr_array((eq_vals, (eq_rows, eq_cols)), shape=(nb * T, n)) if nb else None
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=a_eq,
        b_eq=np.zeros(nb * T) if nb else None,
        bounds=np.column_stack([lb, ub]),
        method="highs",
    )
    if res.status != 0:
        raise ValueError(f"origin attribution of the plan failed ({res.message}); its powers do not balance")
    return curtailed + float(res.fun)
