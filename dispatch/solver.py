"""Solve a dispatch problem with HiGHS (highspy), with fallback.

:class:`Dispatcher` keeps the Pyomo model between calls. A problem of the same shape (an MPC
re-plan, the next day-ahead) only updates the model's mutable parameters; the model is
compiled to matrices with Pyomo's standard-form compiler (``pyomo.repn.plugins.standard_form``,
~10 ms for 96 intervals) and handed to a fresh HiGHS instance in one call, started from the
previous simplex basis (LP) or with the previous plan shifted by the elapsed intervals (MIP).
Pyomo's own persistent HiGHS interface (``pyomo.contrib.solver.solvers.highs``) is the
benchmark baseline: ~100-150 ms build+solve for 96 intervals, dominated by per-coefficient
parameter updates (see docs/dispatch.md).

Any failure (invalid data, infeasible, solver error, time limit without a solution) returns
the rule-based schedule with ``status="fallback"`` and the reason: the dispatcher never
raises for data reasons.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from dispatch.basis_shift import BasisCodes, HorizonShift, optimal_basis
from dispatch.lp_update import LpSensitivity, LpVectors
from dispatch.model import ModelShape, build_model, load_problem
from dispatch.model.binaries import battery_binary_mask, grid_binary_mask, set_domains, simultaneous
from dispatch.model.objective import FLOW_WEIGHT
from dispatch.model.params import BIG
from dispatch.model.penalties import soft_penalties
from dispatch.problem import DispatchProblem, check_problem
from dispatch.results import read_schedule
from dispatch.rules import rule_based_schedule
from dispatch.schedule import Schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SolverOptions:
    """Solver settings.

    ``objective``: ``"lexicographic"`` (two solves: minimise local RE lost, then cost with the loss
    held within ``re_tolerance_rel``/``re_tolerance_kwh`` of its optimum) or ``"weighted"``
    (one solve of ``cost + re_weight_cny_per_kwh · re_lost``). ``binaries``: ``"auto"`` (where they
    matter), ``"always"`` or ``"never"`` (pure LP relaxation). ``time_limit_s`` is for the whole plan
    (all stages and rounds); on reaching it the best feasible plan found is returned with its gap.
    """

    time_limit_s: float = 10.0
    mip_rel_gap: float = 1e-4
    objective: str = "lexicographic"
    re_weight_cny_per_kwh: float = 10.0
    re_tolerance_rel: float = 1e-7
    re_tolerance_kwh: float = 1e-5  # 10 mWh: 1e-6 sat at the solver's feasibility tolerance and blocked plans
    binaries: str = "auto"
    threads: int = 1

    def problems(self) -> list[str]:
        """Every invalid setting, named (empty = usable)."""
        out = []
        if self.objective not in OBJECTIVES:
            out.append(f"objective {self.objective!r} unknown (valid: {', '.join(OBJECTIVES)})")
        if self.binaries not in ("auto", "always", "never"):
            out.append(f"binaries {self.binaries!r} unknown (valid: auto, always, never)")
        if not self.time_limit_s > 0:
            out.append(f"time_limit_s must be positive, got {self.time_limit_s}")
        if not 0 <= self.mip_rel_gap < 1:
            out.append(f"mip_rel_gap must be in [0, 1), got {self.mip_rel_gap}")
        if not self.re_weight_cny_per_kwh >= 0:
            out.append(f"re_weight_cny_per_kwh must be >= 0, got {self.re_weight_cny_per_kwh}")
        return out


OBJECTIVES = ("lexicographic", "weighted")
MAX_BINARY_ROUNDS = 3  # solve, then at most twice more with binaries where the relaxation cycled


class _SolveFailed(Exception):
    """A solve ended without a usable solution; the message is the reason."""


@dataclass
class _Compiled:
    """The model as matrices, in the column/row order HiGHS sees."""

    columns: list
    rows: list
    costs: dict[str, np.ndarray]  # objective name -> cost vector
    re_col: int
    lp: highspy.HighsLp

    def vectors(self) -> LpVectors:
        lp = self.lp
        return LpVectors(
            np.asarray(lp.col_lower_),
            np.asarray(lp.col_upper_),
            np.asarray(lp.row_lower_),
            np.asarray(lp.row_upper_),
            self.costs,
        )


@dataclass
class _Round:
    """One round's plan: values in column order, how it ranks, what HiGHS said."""

    x: np.ndarray
    status: str
    mode: str
    objective: float
    re_lost_kwh: float
    cycling: int  # intervals with simultaneous charge and discharge
    n_bin: int
    mip_gap: float | None

    @property
    def rank(self) -> tuple[bool, float, float]:
        """Physically meaningful first, then less local RE lost, then the final stage's objective."""
        return (self.cycling > 0, round(self.re_lost_kwh, 3), self.objective)


def highs_lp(info: Any, col_cost: np.ndarray) -> highspy.HighsLp:
    """A model compiled by Pyomo's ``LinearStandardFormCompiler`` (mixed form) as a HiGHS LP with
    the given column costs: bounds, row sides from each row's bound type, the column-wise matrix."""
    cols, rows = info.columns, info.rows
    n = len(cols)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    lp.col_cost_ = col_cost
    lp.col_lower_ = np.array([-np.inf if v.lb is None else v.lb for v in cols], dtype=float)
    lp.col_upper_ = np.array([np.inf if v.ub is None else v.ub for v in cols], dtype=float)
    kind = np.array([r.bound_type for r in rows], dtype=int)
    rhs = np.asarray(info.rhs, dtype=float)
    lp.row_lower_ = np.where(kind <= 0, rhs, -np.inf)
    lp.row_upper_ = np.where(kind >= 0, rhs, np.inf)
    a = info.A
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(rows)
    return lp


def _compile(m: pyo.ConcreteModel) -> _Compiled:
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    cols = info.columns
    lp = highs_lp(info, np.zeros(len(cols)))  # costs are set per objective stage
    integer = np.array([v.is_integer() for v in cols], dtype=bool)
    if integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    c = info.c.toarray()
    costs = {obj.parent_component().local_name: c[i] for i, obj in enumerate(info.objectives)}
    re_col = next(i for i, v in enumerate(cols) if v is m.re_lost)
    return _Compiled(cols, info.rows, costs, re_col, lp)


class Dispatcher:
    """A reusable optimiser: persistent Pyomo model + HiGHS; one :meth:`solve` per (re-)plan."""

    def __init__(self, options: SolverOptions | None = None, *, update_in_place: bool = False) -> None:
        """``update_in_place``: re-plans of the same shape update the HiGHS LP's bounds and costs
        (:mod:`dispatch.lp_update`) instead of recompiling the Pyomo model; it costs one sensitivity
        analysis per compile, so it pays for a rolling horizon, not a one-off plan."""
        self.options = options or SolverOptions()
        self.update_in_place = update_in_place
        self._sens: LpSensitivity | None = None
        self._lp: tuple[_Compiled, highspy.Highs] | None = None  # the LP the sensitivities describe
        self._horizon: HorizonShift | None = None  # its columns and rows moved with the horizon
        self._stage_basis: dict[str, BasisCodes] = {}  # each stage's last optimal basis of that LP
        self.in_place_updates = 0
        self.simplex_iterations = 0  # of the last plan, every stage and round (warm-start diagnostics)
        self.model: pyo.ConcreteModel | None = None
        self.shape: ModelShape | None = None
        self._highs: highspy.Highs | None = None
        self._basis: highspy.HighsBasis | None = None
        self._has_solution = False
        self.rebuilds = 0

    def solve(self, p: DispatchProblem, *, shift: int = 0) -> Schedule:
        """Optimise ``p``; on any failure return the rule-based schedule marked as fallback.

        ``shift``: intervals the horizon moved since the previous solve (MPC), used to shift
        the previous plan into a MIP start.
        """
        t0 = time.perf_counter()
        problems = check_problem(p) + self.options.problems()
        if problems:
            return _fallback(p, "invalid input: " + "; ".join(problems), t0)
        try:
            schedule = self._optimise(p, shift)
        except _SolveFailed as exc:
            self._basis = None
            self._forget_lp()
            return _fallback(p, str(exc), t0)
        except Exception as exc:  # solver or model errors must not reach the controller
            log.exception("dispatch solve failed")
            self.model = None  # the persistent state may be inconsistent: rebuild next time
            return _fallback(p, f"solver error: {type(exc).__name__}: {exc}", t0)
        schedule.solve_time_s = time.perf_counter() - t0
        return schedule

    # ------------------------------------------------------------------ internals

    def _prepare(self, p: DispatchProblem) -> tuple[pyo.ConcreteModel, highspy.Highs]:
        if self.model is None or self.shape is None or not self.shape.fits(p):
            self.model = build_model(p)
            self.shape = self.model.shape
            self.rebuilds += 1
            self._basis = None
            self._has_solution = False
            self._forget_lp()
        else:
            load_problem(self.model, p)
        # A fresh HiGHS instance per plan (0.2 ms): HiGHS's MIP time limit runs on the instance's
        # cumulative clock, so a long-lived instance ends up failing every MIP at once with
        # "time limit reached". The LP basis and the MIP start carry the warm start across instances.
        self._highs = highspy.Highs()
        self._configure(self._highs)
        return self.model, self._highs

    def _configure(self, h: highspy.Highs) -> None:
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", self.options.threads)
        h.setOptionValue("mip_rel_gap", self.options.mip_rel_gap)

    def _masks(self, p: DispatchProblem) -> tuple[np.ndarray, np.ndarray]:
        mode = self.options.binaries
        if mode == "never":
            return np.zeros(p.T, dtype=bool), np.zeros(p.T, dtype=bool)
        if mode == "always":
            return np.ones(p.T, dtype=bool), np.full(p.T, p.export_limit_kw > 0)
        return battery_binary_mask(p), grid_binary_mask(p)

    def _optimise(self, p: DispatchProblem, shift: int) -> Schedule:
        m, _ = self._prepare(p)
        self.simplex_iterations = 0
        bm, gm = self._masks(p)
        # a MIP start from the previous plan, only worth computing when there are binaries
        start_values = _shifted_values(m, shift) if self._has_solution and (bm.any() or gm.any()) else None
        deadline = time.perf_counter() + self.options.time_limit_s
        best: _Round | None = None
        best_columns: list = []
        r: _Round | None = None
        for _ in range(MAX_BINARY_ROUNDS):
            n_bin = set_domains(m, bm, gm)
            try:
                columns, r = self._solve_stages(m, p, n_bin, start_values, deadline, shift)
            except _SolveFailed:
                if best is None:
                    raise
                break  # a later round ran out of time: keep the best earlier plan
            batt, _ = simultaneous(m)
            r.cycling = int(batt.sum())
            if best is None or r.rank < best.rank:
                best, best_columns = r, columns
            if self.options.binaries != "auto" or not (batt & ~bm).any() or time.perf_counter() >= deadline:
                break
            # the relaxation charged and discharged at once: binaries there, and re-solve
            bm = bm | batt
            self._highs = highspy.Highs()  # a fresh instance for the re-solve (see _prepare)
            self._configure(self._highs)
            start_values = None
        assert best is not None
        if best is not r:  # the model holds the last round's values
            for v, val in zip(best_columns, best.x, strict=True):
                v.set_value(float(val), skip_validation=True)
        self._has_solution = True
        notes = _net_grid_flows(m, p)
        method = "milp" if best.n_bin else "lp"
        s = read_schedule(m, p, method=method, status=best.status, objective_mode=best.mode, solver_status=best.status)
        s.n_binaries = best.n_bin
        s.mip_gap = best.mip_gap
        s.notes.extend(notes)
        if p.generators:  # the objective's own measure, beside the KPI ratio (docs/dispatch.md)
            s.notes.append(f"local RE lost, counted by origin: {best.re_lost_kwh:.1f} kWh")
        if best.cycling:
            s.notes.append(
                f"simultaneous charge and discharge in {best.cycling} intervals (not resolved: binaries off, "
                f"the time limit came first, or every one of {MAX_BINARY_ROUNDS} binary rounds still cycled)"
            )
        return s

    def _solve_stages(
        self,
        m: pyo.ConcreteModel,
        p: DispatchProblem,
        n_bin: int,
        start_values: dict[int, float] | None,
        deadline: float,
        shift: int = 0,
    ) -> tuple[list, _Round]:
        """Compile, load into HiGHS, solve (two stages or weighted) and load the solution into ``m``."""
        m.re_bound.value = BIG  # stage 2's bound of an earlier round must not constrain this one
        comp, h = self._load_lp(m, n_bin)
        warm = shift if self._lp is not None and self._lp[1] is h else None
        start = None
        if n_bin and start_values is not None:
            start = np.array([start_values.get(id(v), 0.0) for v in comp.columns])
        opts = self.options
        cost, re, soft = comp.costs["obj_cost"], comp.costs["obj_re"], comp.costs["obj_soft"]
        tie = FLOW_WEIGHT * comp.costs["obj_flows"]
        v_bound = soft_penalties(p).economic_bound_cny_per_kwh
        sol: np.ndarray | None = None
        if opts.objective == "weighted":
            w = opts.re_weight_cny_per_kwh
            objective = w * re + cost + max(1.0, w / v_bound) * soft + tie
            status = self._run(h, objective, deadline, "weighted", start, warm)
            mode = f"weighted(w={w} CNY per kWh of local RE lost)"
        elif not p.generators:  # no local RE, nothing to lose: stage 1 is trivial (re_lost == 0)
            objective = cost + soft + tie
            status = self._run(h, objective, deadline, "stage 2 (cost)", start, warm)
            mode = "lexicographic"
        else:
            now = time.perf_counter()
            stage1_deadline = now + 0.5 * (deadline - now) if n_bin else deadline
            self._run(h, re + soft / v_bound + tie, stage1_deadline, "stage 1 (local RE)", start, warm)
            x1 = np.asarray(h.getSolution().col_value)
            bound = float(x1[comp.re_col]) * (1 + opts.re_tolerance_rel) + opts.re_tolerance_kwh
            h.changeColBounds(comp.re_col, 0.0, bound)
            m.re_bound.value = bound
            objective = cost + soft + tie
            mode = "lexicographic"
            try:  # the stage-1 optimum is feasible for stage 2: a MIP start
                status = self._run(h, objective, deadline, "stage 2 (cost)", x1 if n_bin else None, warm)
            except _SolveFailed as exc:
                if "infeasible" in str(exc):
                    raise
                # out of time in stage 2: the stage-1 plan is feasible and RE-optimal
                status = f"feasible ({exc}; stage-1 plan)"
                sol = x1
        if sol is None:
            sol = np.asarray(h.getSolution().col_value)
        for v, val in zip(comp.columns, sol, strict=True):
            v.set_value(float(val), skip_validation=True)
        if n_bin == 0:
            self._basis = h.getBasis()
        gap = None
        if n_bin:
            g = float(h.getInfo().mip_gap)
            gap = g if np.isfinite(g) else None
        r = _Round(sol, status, mode, float(objective @ sol), float(sol[comp.re_col]), 0, n_bin, gap)
        return comp.columns, r

    def _load_lp(self, m: pyo.ConcreteModel, n_bin: int) -> tuple[_Compiled, highspy.Highs]:
        """The LP in a HiGHS instance: the previous one updated in place when only bounds and costs
        changed (and there are no binaries), else compiled and passed to the fresh instance."""
        if n_bin == 0 and self._sens is not None and self._lp is not None:
            vec = self._sens.update()
            if vec is not None:
                comp, kept = self._lp
                n, r = comp.lp.num_col_, comp.lp.num_row_
                kept.changeColsBounds(n, np.arange(n), vec.col_lower, vec.col_upper)
                kept.changeRowsBounds(r, np.arange(r), vec.row_lower, vec.row_upper)  # type: ignore[attr-defined]
                for i, j, a in zip(*vec.coeffs, strict=True):
                    kept.changeCoeff(int(i), int(j), float(a))
                self.in_place_updates += 1
                return _Compiled(comp.columns, comp.rows, vec.costs, comp.re_col, comp.lp), kept
        self._forget_lp()
        h = self._highs
        assert h is not None
        comp = _compile(m)
        # a warning is HiGHS dropping coefficients below its small_matrix_value (1e-9), which a grid
        # model's sensitivities can produce; only an error is a rejected model
        if h.passModel(comp.lp) == highspy.HighsStatus.kError:
            raise _SolveFailed("HiGHS rejected the model (passModel)")
        if n_bin == 0 and self._basis is not None and len(self._basis.col_status) == comp.lp.num_col_:
            h.setBasis(self._basis)
        if n_bin == 0 and self.update_in_place:
            self._sens = LpSensitivity(m, comp.rows, comp.columns, comp.vectors())
            self._lp = (comp, h)
            self._horizon = HorizonShift(comp.columns, comp.rows, (m.T, m.TP), m.shape.T)
        return comp, h

    def _forget_lp(self) -> None:
        self._sens = self._lp = self._horizon = None
        self._stage_basis = {}

    def _run(
        self,
        h: highspy.Highs,
        cost: np.ndarray,
        deadline: float,
        stage: str,
        start: np.ndarray | None = None,
        warm: int | None = None,
    ) -> str:
        """Solve with ``cost``. ``warm``: intervals the horizon moved since the kept LP's previous plan
        (``None``: not the kept LP); the stage then starts from its own previous optimal basis, moved
        with the horizon (:mod:`dispatch.basis_shift`), not from whatever basis the instance holds."""
        n = len(cost)
        h.changeColsCost(n, np.arange(n), np.asarray(cost, dtype=float))
        if start is not None:  # after the model change, which would discard it
            h.setSolution(_solution(start))
        previous = self._stage_basis.get(stage) if warm is not None else None
        if warm is not None and previous is not None and self._horizon is not None:
            h.setBasis(self._horizon.basis(previous, warm))
        # HiGHS checks the limit against the instance's cumulative run time (see _prepare)
        h.setOptionValue("time_limit", h.getRunTime() + max(deadline - time.perf_counter(), 1e-3))
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        self.simplex_iterations += info.simplex_iteration_count
        has_solution = info.primal_solution_status == 2
        if status == highspy.HighsModelStatus.kOptimal:
            if warm is not None and self._sens is not None:
                b = self._sens.base
                self._stage_basis[stage] = optimal_basis(h, (b.col_lower, b.col_upper, b.row_lower, b.row_upper))
            return "optimal"
        if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            raise _SolveFailed(f"{stage}: model infeasible ({h.modelStatusToString(status)})")
        if has_solution:
            return f"feasible ({h.modelStatusToString(status)})"
        raise _SolveFailed(f"{stage}: no solution ({h.modelStatusToString(status)})")


def _solution(x: np.ndarray) -> highspy.HighsSolution:
    sol = highspy.HighsSolution()
    sol.col_value = x
    sol.value_valid = True
    return sol


_TIME_VARS = (
    *("pc", "pd", "e", "e_under", "e_over", "u", "curt", "imp", "exp", "v", "g", "dg", "x", "s_up", "s_lo"),
    *("shed", "pc_re", "pd_re", "e_re", "exp_re", "r_peak"),
)


def _net_grid_flows(m: pyo.ConcreteModel, p: DispatchProblem, tol_kw: float = 1e-4) -> list[str]:
    """Remove simultaneous import and export left by a time-limited solve where exporting does not pay
    more than importing costs: ``imp, exp -> imp − δ, exp − δ`` with ``δ = min(imp, exp)`` keeps the
    balance, lowers the peak and does not raise the cost. Returns a note when it changed anything."""
    if p.export_limit_kw <= 0:
        return []
    count = 0
    for t in m.T:
        imp, exp = m.imp[t].value or 0.0, m.exp[t].value or 0.0
        if min(imp, exp) > tol_kw and p.import_price[t] >= p.export_price[t]:
            d = min(imp, exp)
            m.imp[t].set_value(imp - d, skip_validation=True)
            m.exp[t].set_value(exp - d, skip_validation=True)
            if hasattr(m, "exp_re"):
                m.exp_re[t].set_value(min(m.exp_re[t].value or 0.0, exp - d), skip_validation=True)
            count += 1
    return [f"simultaneous import and export netted in {count} intervals"] if count else []


def _shifted_values(m: pyo.ConcreteModel, shift: int) -> dict[int, float]:
    """Previous values of every variable, time-indexed ones moved ``shift`` intervals earlier
    (the last value repeated at the end): a MIP start for the next horizon."""
    last = m.shape.T - 1
    out: dict[int, float] = {}
    for comp in m.component_objects(pyo.Var):
        timed = comp.local_name in _TIME_VARS
        for idx, v in comp.items():
            if timed:
                key = idx if isinstance(idx, tuple) else (idx,)
                src = comp[(*key[:-1], min(key[-1] + shift, last))] if len(key) > 1 else comp[min(key[0] + shift, last)]
                out[id(v)] = src.value or 0.0
            else:
                out[id(v)] = v.value or 0.0
    return out


def _fallback(p: DispatchProblem, reason: str, t0: float) -> Schedule:
    s = rule_based_schedule(p)
    s.status = "fallback"
    s.fallback_reason = reason
    s.solve_time_s = time.perf_counter() - t0
    return s


def solve(p: DispatchProblem, options: SolverOptions | None = None) -> Schedule:
    """One-shot optimisation (builds a fresh model); see :class:`Dispatcher` for re-planning."""
    return Dispatcher(options).solve(p)
