"""Local renewable energy lost by a given plan, counted by origin as the optimiser counts it.

The KPI ``local_re_consumption_ratio`` must score a plan the way stage 1 of the objective does
(:mod:`dispatch.model.origin`), whoever made the plan (optimiser, rule-based baseline, executed
closed loop): an export of grid-charged battery energy is not a renewable loss, PV stored and later
exported is, and round-trip and self-discharge losses of stored RE are.

With every power of the plan fixed, only the origin split is free: per battery ``pc_re <= pc``,
``pd_re <= pd``, ``0 <= e_re <= e`` with ``e_re[t] = keep·e_re[t−1] + Δt·(η_c·pc_re − pd_re/η_d)``,
``exp_re <= exp``, grid-origin charge ``Σ(pc − pc_re) <= imp + green``, and the RE reaching loads
``G + Σ(pd_re − pc_re) − exp_re`` between 0 and what the balance says was served
(``G + Σ(pd − pc) + imp − exp + green``). The content at the start is the battery's carried RE content
``e_re0`` (:attr:`dispatch.problem.BatterySpec.e_re0_kwh`); here the part of it that enters,
``c_in <= e_re0``, is a column, and what does not enter counts as lost (``η_d`` per kWh, what exporting it
would cost), so measured flows whose SOC falls faster than their powers say stay feasible and a
consistent plan loses nothing by it. The loss is minimised over the split — the most favourable
consistent attribution, the model's own — as a small LP handed to HiGHS directly (scipy's ``linprog``
wrapper tripled the time of a 96-interval case; this runs with every plan's KPIs):

``lost = Δt·Σ curt + Σ_t [Δt·(exp_re + Σ_b (1 − η_c·η_d)·pc_re) + Σ_b η_d·(1 − keep)·e_re[t−1]]
+ Σ_b η_d·(e_re0 − c_in)``, with ``e_re[−1] = c_in``.

:func:`re_content_kwh` reads the RE content the flows leave in each battery, the start of the next plan.
Among the loss-minimal attributions it takes the one leaving the least RE stored (a tie-breaker of
``_END_WEIGHT`` per kWh): less stored RE never makes a later loss larger (what is not RE cannot be lost
as RE), while more could be exported later as RE, so the carried content is the most favourable one
consistent with the executed flows, as the whole-trajectory attribution would choose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import highspy
import numpy as np
import scipy.sparse as sp

from dispatch.problem import BatterySpec, DispatchProblem


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
_END_WEIGHT = 1e-5  # per kWh of RE left stored: the tie-breaker of :func:`re_content_kwh` (module doc)


@dataclass
class MeteredFlows:
    """Executed or metered powers of some intervals [kW] (a :class:`Flows` without a schedule), e.g. the
    intervals a closed loop ran since its last plan; ``soc``: at the end of each interval (0..1)."""

    battery_charge_kw: dict[str, np.ndarray]
    battery_discharge_kw: dict[str, np.ndarray]
    soc: dict[str, np.ndarray]
    gen_avail_kw: dict[str, np.ndarray]
    curtail_kw: dict[str, np.ndarray]
    grid_import_kw: np.ndarray
    grid_export_kw: np.ndarray
    green_kw: np.ndarray  # a plain array here, a property of the schedule

    @property
    def T(self) -> int:
        return len(self.grid_import_kw)

    @property
    def gen_p_kw(self) -> dict[str, np.ndarray]:
        return {g: self.gen_avail_kw[g] - self.curtail_kw[g] for g in self.gen_avail_kw}


def carried_re_kwh(p: DispatchProblem) -> float:
    """Deliverable local RE stored at the start, ``Σ_b η_d·e_re0`` [kWh]: available local RE of the horizon
    beside its generation (the KPI's denominator, docs/dispatch.md)."""
    return sum(b.eta_discharge * _content0(b) for b in p.batteries)


def re_lost_kwh(p: DispatchProblem, s: Flows) -> float:
    """Local RE lost by plan ``s`` (curtailed, exported or burnt in storage) [kWh]."""
    return _attribute(p, s, least_end_content=False)[0]


def re_content_kwh(p: DispatchProblem, s: Flows) -> dict[str, float]:
    """RE content each battery holds at the end of ``s`` [kWh], starting from ``p``'s ``e_re0_kwh``: the
    loss-minimal attribution leaving the least RE stored (module doc); what the next plan starts from."""
    return _attribute(p, s, least_end_content=True)[1]


def _content0(b: BatterySpec) -> float:
    return max(0.0, min(b.e_re0_kwh, b.soc0 * b.e_kwh))  # also for the baseline of an invalid problem


def _attribute(p: DispatchProblem, s: Flows, *, least_end_content: bool) -> tuple[float, dict[str, float]]:
    """(RE lost [kWh], RE content per battery at the end [kWh]) of the loss-minimal attribution."""
    T, h = s.T, p.dt_h
    bats = [b for b in p.batteries if b.id in s.battery_charge_kw]
    carried = sum(b.eta_discharge * _content0(b) for b in bats)  # lost unless it enters (c_in)
    if T == 0:
        return 0.0, {b.id: _content0(b) for b in bats}
    if not s.gen_avail_kw and not carried:
        return 0.0, {b.id: 0.0 for b in bats}
    curtailed = sum(float(c.sum()) for c in s.curtail_kw.values()) * h
    gen = sum((s.gen_p_kw[g] for g in s.gen_p_kw), np.zeros(T))
    green = s.green_kw
    imp, exp = s.grid_import_kw, s.grid_export_kw
    nb = len(bats)
    n_x = (3 * nb + 1) * T + nb  # per battery pc_re, pd_re, e_re; then exp_re; then c_in per battery
    n = n_x + 2 * T  # then the slacks of rows (0) and (2)

    def col(b: int, kind: int) -> int:  # first column of battery b's block ``kind`` (0 pc_re, 1 pd_re, 2 e_re)
        return (3 * b + kind) * T

    x_exp = 3 * nb * T
    x_in = x_exp + T
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
        # c_in: self-discharge in interval 0, less the η_d per kWh charged in ``carried`` when it does not enter
        c[x_in + i] = b.eta_discharge * (1.0 - keep) - b.eta_discharge
        ub[x_in + i] = _content0(b)
        ub[col(i, 0) : col(i, 0) + T] = pc + _TOL_KW
        ub[col(i, 1) : col(i, 1) + T] = pd + _TOL_KW
        ub[col(i, 2) : col(i, 2) + T] = s.soc[b.id] * b.e_kwh + _TOL_KW
        # e_re[t] − keep·e_re[t−1] − Δt·η_c·pc_re + Δt/η_d·pd_re = 0 (e_re[−1] = c_in), row 3T + i·T + t
        r = 3 * T + i * T + ts
        eq_rows += [r, r, r, r[1:], r[:1]]
        eq_cols += [col(i, 2) + ts, col(i, 0) + ts, col(i, 1) + ts, col(i, 2) + ts[:-1], np.array([x_in + i])]
        eq_vals += [
            np.ones(T),
            np.full(T, -h * b.eta_charge),
            np.full(T, h / b.eta_discharge),
            np.full(T - 1, -keep),
            np.array([-keep]),
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
    cost = c.copy()
    if least_end_content:
        cost[[col(i, 2) + T - 1 for i in range(nb)]] += _END_WEIGHT
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lb, ub
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
    content = {b.id: max(0.0, float(x[col(i, 2) + T - 1])) for i, b in enumerate(bats)}
    return curtailed + carried + float(c[:n_x] @ x[:n_x]), content
