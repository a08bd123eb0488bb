"""Scenario-based (two-stage stochastic) MPC: one plan that is good across a few forecast scenarios.

Each scenario ``k`` (probability ``π_k``) is a full dispatch model (:func:`dispatch.model.build_model`)
of its own problem (e.g. the demand forecast shifted by a quantile of past errors). The decisions
executed before the next re-plan, the first ``shared`` intervals of what the plant follows, must not
depend on which scenario comes true (*non-anticipativity*); everything later is recourse:

* shared: grid import and export, contract and direct-line intake, flexible loads, ``t < shared``
  (the plant holds the planned grid exchange, as :mod:`services.annual` executes a plan);
* per scenario: batteries (they absorb the difference in real time), curtailment, peak, SOC, origin.

Objective, weighted mode only (a lexicographic stage over scenarios would make the expected RE loss a
hard bound for every cost trade-off): ``Σ_k π_k·(obj_cost_k + w·re_lost_k + max(1, w/V)·obj_soft_k +
ε·obj_flows_k)``, the terms of :mod:`dispatch.model.objective`. Binaries are relaxed (LP). One fresh
compile and HiGHS solve per call: the model is ``K`` times the deterministic one, so a re-plan costs
roughly ``K`` cold solves. :class:`ScenarioDispatcher` keeps the Pyomo model between re-plans of the same
shape (only the parameters are reloaded, as :class:`~dispatch.solver.Dispatcher` does) and recompiles it;
there is no in-place LP update or warm start.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from dispatch.model import ModelShape, build_model, load_problem
from dispatch.model.objective import FLOW_WEIGHT
from dispatch.model.penalties import soft_penalties
from dispatch.problem import DispatchProblem, check_problem
from dispatch.results import read_schedule
from dispatch.rules import rule_based_schedule
from dispatch.schedule import Schedule
from dispatch.solver import SolverOptions, highs_lp

#: variables decided now for every scenario alike: (name, whether indexed by device before time)
SHARED = (("imp", False), ("exp", False), ("g", True), ("dg", True), ("x", True))


class ScenarioDispatcher:
    """Keeps the scenario model between :meth:`solve` calls of the same shape, scenario count and ``shared``."""

    def __init__(self, options: SolverOptions | None = None) -> None:
        self.options = options or SolverOptions()
        self.model: pyo.ConcreteModel | None = None
        self._key: tuple[object, ...] | None = None
        self.rebuilds = 0

    def solve(
        self,
        problems: Sequence[DispatchProblem],
        weights: Sequence[float],
        shared: int,
        report: int | None = None,
    ) -> Schedule:
        """Plan over ``problems`` (same shape; scenario ``k`` with probability ``weights[k]``) with the first
        ``shared`` intervals' grid exchange, contracts, direct lines and flexible loads common to all; returns
        the schedule of scenario ``report`` (default: the middle one), or the rule-based fallback of it."""
        t0 = time.perf_counter()
        k_rep = len(problems) // 2 if report is None else report
        found = [f"scenario {k}: {m}" for k, p in enumerate(problems) for m in check_problem(p)]
        if not problems or len(weights) != len(problems) or not np.isclose(sum(weights), 1.0):
            found.append(f"{len(problems)} scenarios with weights {list(weights)} (must sum to 1)")
        elif len({ModelShape.of(p) for p in problems}) > 1:
            found.append("scenarios differ in shape")
        if found:
            return _fallback(problems[k_rep] if problems else None, "invalid input: " + "; ".join(found), t0)
        top = self._prepare(problems, weights, shared)
        info = LinearStandardFormCompiler().write(top, mixed_form=True, set_sense=None)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", self.options.threads)
        h.setOptionValue("time_limit", self.options.time_limit_s)
        h.passModel(highs_lp(info, info.c.toarray()[0]))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return _fallback(problems[k_rep], f"scenario LP: {h.modelStatusToString(h.getModelStatus())}", t0)
        for v, val in zip(info.columns, h.getSolution().col_value, strict=True):
            v.set_value(float(val), skip_validation=True)
        w = self.options.re_weight_cny_per_kwh
        s = read_schedule(
            getattr(top, f"s{k_rep}"),
            problems[k_rep],
            method="lp",
            status="optimal",
            objective_mode=f"scenarios({len(problems)}, weighted w={w})",
            solver_status="optimal",
        )
        s.notes.append(f"scenario-based plan over {len(problems)} scenarios, first {shared} intervals shared")
        s.solve_time_s = time.perf_counter() - t0
        return s

    def _prepare(self, problems: Sequence[DispatchProblem], weights: Sequence[float], shared: int) -> pyo.ConcreteModel:
        key = (ModelShape.of(problems[0]), len(problems), shared)
        if self.model is None or key != self._key or not all(_fits(self.model, k, p) for k, p in enumerate(problems)):
            self.model = self._build(problems, shared)
            self._key = key
            self.rebuilds += 1
        else:
            for k, p in enumerate(problems):
                load_problem(getattr(self.model, f"s{k}"), p)
        top = self.model
        w = self.options.re_weight_cny_per_kwh
        for k, (pi, p) in enumerate(zip(weights, problems, strict=True)):
            top.pi[k] = pi
            top.soft_weight[k] = max(1.0, w / soft_penalties(p).economic_bound_cny_per_kwh)
        return top

    def _build(self, problems: Sequence[DispatchProblem], shared: int) -> pyo.ConcreteModel:
        top = pyo.ConcreteModel(name="scenario_dispatch")
        top.S = pyo.RangeSet(0, len(problems) - 1)
        top.pi = pyo.Param(top.S, mutable=True, initialize=0.0)
        top.soft_weight = pyo.Param(top.S, mutable=True, initialize=1.0)
        models = []
        for k, p in enumerate(problems):
            m = build_model(p)
            for obj in m.component_objects(pyo.Objective):
                obj.deactivate()
            top.add_component(f"s{k}", m)
            models.append(m)
        w = self.options.re_weight_cny_per_kwh
        top.objective = pyo.Objective(
            expr=sum(
                top.pi[k]
                * (
                    m.obj_cost.expr
                    + w * m.obj_re.expr
                    + top.soft_weight[k] * m.obj_soft.expr
                    + FLOW_WEIGHT * m.obj_flows.expr
                )
                for k, m in enumerate(models)
            ),
            sense=pyo.minimize,
        )
        top.nonanticipative = pyo.ConstraintList()
        first = models[0]
        for m in models[1:]:
            for name, by_device in SHARED:
                ref, var = getattr(first, name), getattr(m, name)
                for idx in var:
                    t = idx[-1] if by_device else idx
                    if t < shared:
                        top.nonanticipative.add(var[idx] == ref[idx])
        return top


def _fits(top: pyo.ConcreteModel, k: int, p: DispatchProblem) -> bool:
    return bool(getattr(top, f"s{k}").shape.fits(p))


def solve_scenarios(
    problems: Sequence[DispatchProblem],
    weights: Sequence[float],
    shared: int,
    options: SolverOptions | None = None,
    report: int | None = None,
) -> Schedule:
    """One-shot :meth:`ScenarioDispatcher.solve` (builds a fresh model)."""
    return ScenarioDispatcher(options).solve(problems, weights, shared, report)


def _fallback(p: DispatchProblem | None, reason: str, t0: float) -> Schedule:
    if p is None:
        raise ValueError(reason)
    s = rule_based_schedule(p)
    s.status = "fallback"
    s.fallback_reason = reason
    s.solve_time_s = time.perf_counter() - t0
    return s
