"""Network losses in the power balance, linearised around each interval's AC operating point.

``loss[t] = loss_base[t] + Σ_j loss_dp[j,t]·inj[j,t]`` [kW] with ``loss_dp = ∂loss/∂inj`` from the
grid model and ``loss_base = loss_kw − Σ_j loss_dp·p_ref`` (:class:`~dispatch.problem.GridLinearisation`,
refreshed by the AC check loop in ``services/network_check.py``); the balance
(:mod:`dispatch.model.balance`) serves ``loss`` beside the load, so the import carries the losses
and the connection-point limit and demand charge see them. Without a linearisation ``loss = 0``
(the lossless balance).

Trust region: ``|inj[j,t] − p_ref[j,t]| <= step + s_step`` for the linearised devices (``step_kw`` of
the linearisation, BIG without one). Losses are quadratic in the flows, so the first-order model's
error grows with the square of the move; the AC loop shrinks ``step`` when a plan turns out worse in
the AC check than the one it was linearised at (sequential linear programming with a trust region).
The region is soft: ``s_step`` [kW] costs ``STEP_PRICE`` times the problem's economic bound
(:mod:`dispatch.model.penalties`), more than any saving a move can win, so the region holds; but
less than shedding load or breaking a limit, which a larger move may still avoid.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from dispatch.model.network import injection
from dispatch.model.params import BIG, _param, _series
from dispatch.problem import DispatchProblem


def add_loss_parameters(m: pyo.ConcreteModel) -> None:
    """Per-interval base and sensitivities, over the controllable devices only when linearised."""
    m.JL = pyo.Set(initialize=m.shape.controllable if m.shape.grid_linear else (), ordered=True)
    m.loss_base = _param(m.T)
    m.loss_dp = _param(m.JL, m.T)
    m.p_ref = _param(m.JL, m.T)
    m.step = _param()


def load_losses(m: pyo.ConcreteModel, p: DispatchProblem) -> None:
    """Write the loss linearisation of ``p`` (zeros without one)."""
    g = p.grid
    if g is None:
        _series(m.loss_base, np.zeros(p.T))
        return
    base = np.asarray(g.loss_kw, dtype=float).copy()
    for j in m.JL:
        a = np.asarray(g.loss_dp.get(j, np.zeros(p.T)), dtype=float)
        ref = np.asarray(g.p_ref_kw.get(j, np.zeros(p.T)), dtype=float)
        base -= a * ref
        _series(m.loss_dp, a, j)
        _series(m.p_ref, ref, j)
    _series(m.loss_base, base)
    m.step.value = BIG if g.step_kw is None else g.step_kw


def add_losses(m: pyo.ConcreteModel) -> None:
    """The loss expression ``m.loss[t]`` used by the balance, and the trust region."""
    m.inj = pyo.Expression(m.JL, m.T, rule=lambda m, j, t: injection(m, j, t))  # shared by the rows below
    m.loss = pyo.Expression(m.T, rule=lambda m, t: m.loss_base[t] + sum(m.loss_dp[j, t] * m.inj[j, t] for j in m.JL))
    m.s_step = pyo.Var(m.JL, m.T, within=pyo.NonNegativeReals)
    m.step_up = pyo.Constraint(m.JL, m.T, rule=lambda m, j, t: m.inj[j, t] - m.p_ref[j, t] - m.s_step[j, t] <= m.step)
    m.step_down = pyo.Constraint(m.JL, m.T, rule=lambda m, j, t: m.p_ref[j, t] - m.inj[j, t] - m.s_step[j, t] <= m.step)
