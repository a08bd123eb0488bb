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
consistent attribution, the model's own — as a small LP handed to HiGHS directly (scipy's ``linprog``
wrapper tripled the time of a 96-interval case; this runs with every plan's KPIs):

``lost = Δt·Σ curt + Σ_t [Δt·(exp_re + Σ_b (1 − η_c·η_d)·pc_re) + Σ_b η_d·(1 − keep)·e_re[t−1]]``.
"""

from __future__ import annotations

from typing import Protocol

import highspy
import numpy as np
import scipy.sparse as sp

from dispatch.problem import DispatchProblem


class Flows(Protocol):
    """The plan's powers the attribution reads (a :class:`dispatch.schedule.Schedule`; stated
    structurally, since the schedule computes its KPIs with this module)."""

    battery_charge_kw: dict[str, np.ndarray]
    battery_discharge_kw: dict[str, np.ndarray]
    soc: dict[str, np.ndarray]
    gen_avail_kw: dict[str, np.ndarray]
    curtail_kw: dict[str, np.ndarray]
    grid_import_kw: np.ndarray
    grid_export_kw: np.ndarray

    @property
    def T(self) -> int: ...

    @property
    def gen_p_kw(self) -> dict[str, np.ndarray]: ...

    @property
    def green_kw(self) -> np.ndarray: ...


_TOL_KW = 1e-6  # solver round-off in the plan's powers must not make the attribution infeasible
# Measured flows (the live demo scores what the meters saw) need not balance: rows (0) and (2) below get
# slack columns at this cost per kWh, so labelling everything grid energy is always feasible; a balanced
# plan never uses them (any RE loss costs at most 1 per kWh).
_SLACK_COST = 1e3


def re_lost_kwh(p: DispatchProblem, s: Flows) -> float:
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
    n_x = (3 * nb + 1) * T  # per battery pc_re, pd_re, e_re; then exp_re
    n = n_x + 2 * T  # then the slacks of rows (0) and (2)

    def col(b: int, kind: int) -> int:  # first column of battery b's block ``kind`` (0 pc_re, 1 pd_re, 2 e_re)
        return (3 * b + kind) * T

    x_exp = 3 * nb * T
    c = np.zeros(n)
    c[x_exp : x_exp + T] = h
    c[n_x:] = _SLACK_COST * h
    lb, ub = np.zeros(n), np.full(n, np.inf)
    ub[x_exp : x_exp + T] = exp + _TOL_KW
    ts = np.arange(T)
    eq_rows: list[np.ndarray] = []
    eq_cols: list[np.ndarray] = []
    eq_vals: list[np.ndarray] = []
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
        # e_re[t] − keep·e_re[t−1] − Δt·η_c·pc_re + Δt/η_d·pd_re = 0, row 3T + i·T + t
        r = 3 * T + i * T + ts
        eq_rows += [r, r, r, r[1:]]
        eq_cols += [col(i, 2) + ts, col(i, 0) + ts, col(i, 1) + ts, col(i, 2) + ts[:-1]]
        eq_vals += [
            np.ones(T),
            np.full(T, -h * b.eta_charge),
            np.full(T, h / b.eta_discharge),
            np.full(T - 1, -keep),
        ]
    # inequality rows per t: (0) −Σpc_re <= imp + green − Σpc; (1) Σpc_re − Σpd_re + exp_re <= G;
    # (2) Σpd_re − Σpc_re − exp_re <= served − G = Σ(pd − pc) + imp − exp + green
    ub_rows = [T + ts, 2 * T + ts, ts, 2 * T + ts]
    ub_cols = [x_exp + ts, x_exp + ts, n_x + ts, n_x + T + ts]
    ub_vals = [np.ones(T), -np.ones(T), -np.ones(T), -np.ones(T)]
    for i in range(nb):
        for row0, kind, v in ((0, 0, -1.0), (T, 0, 1.0), (T, 1, -1.0), (2 * T, 1, 1.0), (2 * T, 0, -1.0)):
            ub_rows.append(row0 + ts)
            ub_cols.append(col(i, kind) + ts)
            ub_vals.append(np.full(T, v))
    b_ub = np.concatenate([imp + green - pc_sum, gen, pd_sum - pc_sum + imp - exp + green]) + _TOL_KW
    n_eq = nb * T
    a = sp.csc_array(
        (np.concatenate(ub_vals + eq_vals), (np.concatenate(ub_rows + eq_rows), np.concatenate(ub_cols + eq_cols))),
        shape=(3 * T + n_eq, n),
    )
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, 3 * T + n_eq
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = c, lb, ub
    lp.row_lower_ = np.concatenate([np.full(3 * T, -np.inf), np.zeros(n_eq)])
    lp.row_upper_ = np.concatenate([b_ub, np.zeros(n_eq)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, 3 * T + n_eq
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    highs.run()
    status = highs.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise ValueError(
            f"origin attribution of the plan failed ({highs.modelStatusToString(status)}); its powers do not balance"
        )
    x = np.asarray(highs.getSolution().col_value)
    return curtailed + float(c[:n_x] @ x[:n_x])
