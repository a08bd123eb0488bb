"""Park dispatch: a Pyomo model solved with HiGHS, rule-based baseline/fallback, rolling horizon.

Arrays in (:class:`~dispatch.problem.DispatchProblem`), a :class:`~dispatch.schedule.Schedule` out;
no HTTP or SQL here. See ``docs/dispatch.md``.
"""

from __future__ import annotations

from dispatch.from_park import problem_from_park
from dispatch.mpc import RollingHorizon
from dispatch.problem import DispatchProblem, NetworkRow
from dispatch.rules import rule_based_schedule
from dispatch.schedule import Kpis, Schedule
from dispatch.solver import Dispatcher, SolverOptions, solve

__all__ = [
    "DispatchProblem",
    "Dispatcher",
    "Kpis",
    "NetworkRow",
    "RollingHorizon",
    "Schedule",
    "SolverOptions",
    "problem_from_park",
    "rule_based_schedule",
    "solve",
]
