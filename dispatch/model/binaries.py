"""Where the no-simultaneity indicators must be binary.

Cycling energy through a battery (charging and discharging in the same interval) only
burns its losses. With local RE lost counted by origin (:mod:`dispatch.model.origin`) and the
flow tie-breaker (:mod:`dispatch.model.objective`) that never pays while prices are positive,
so the LP relaxation is exact there. It pays where the import or export price is negative
(burning imported energy earns money): there ``u`` is binary from the start. Any interval where
a solution still charges and discharges at once is made binary and re-solved by the solver
(:func:`simultaneous`); simultaneous import and export left by a time-limited solve is netted
by the solver instead (it never needs a binary where the import price is at least the export price).

Grid import/export exclusivity ``v`` is binary where the import price is below the export price.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from dispatch.problem import DispatchProblem


def battery_binary_mask(p: DispatchProblem) -> np.ndarray:
    """Intervals where the charge indicator must be binary a priori: negative prices (bool, shape T)."""
    return (np.asarray(p.import_price) < 0) | (np.asarray(p.export_price) < 0)


def simultaneous(m: pyo.ConcreteModel, tol_kw: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Intervals of the loaded solution with charge and discharge (any battery), and with import and
    export, both above ``tol_kw`` (bool arrays, shape T)."""
    T = m.shape.T
    batt = np.zeros(T, dtype=bool)
    for b in m.B:
        pc = np.array([m.pc[b, t].value or 0.0 for t in range(T)])
        pd = np.array([m.pd[b, t].value or 0.0 for t in range(T)])
        batt |= (pc > tol_kw) & (pd > tol_kw)
    imp = np.array([m.imp[t].value or 0.0 for t in range(T)])
    exp = np.array([m.exp[t].value or 0.0 for t in range(T)])
    return batt, (imp > tol_kw) & (exp > tol_kw)


def grid_binary_mask(p: DispatchProblem) -> np.ndarray:
    """Intervals where import and export must be exclusive by a binary (bool, shape T)."""
    if p.export_limit_kw <= 0:
        return np.zeros(p.T, dtype=bool)
    return np.asarray(p.import_price) < np.asarray(p.export_price)


def set_domains(m: pyo.ConcreteModel, battery_mask: np.ndarray, grid_mask: np.ndarray) -> int:
    """Make ``u``/``v`` binary where the masks say so, continuous in [0, 1] elsewhere; returns the count."""
    count = 0
    for t in m.T:
        dom = pyo.Binary if battery_mask[t] else pyo.UnitInterval
        for b in m.B:
            if m.u[b, t].domain is not dom:
                m.u[b, t].domain = dom
        count += len(m.B) * bool(battery_mask[t])
        gdom = pyo.Binary if grid_mask[t] else pyo.UnitInterval
        if m.v[t].domain is not gdom:
            m.v[t].domain = gdom
        count += bool(grid_mask[t])
    return count
