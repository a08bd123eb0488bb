"""Update a compiled dispatch LP in place when only numbers on its right-hand sides, bounds or costs
change (an MPC re-plan: new forecasts, prices, measured SOC, month-to-date peak).

Compiling the Pyomo model to matrices (``pyomo.repn.plugins.standard_form``) dominates a re-solve.
Every such number is a mutable parameter, and the LP's row sides and costs are sums of parameter
terms, so once, after a compile, :class:`LpSensitivity` records their exact derivatives with respect
to each parameter (Pyomo's symbolic differentiation, evaluated) and, for column bounds, which
parameter each bound is. A later re-plan then costs one sparse product:
``new = old + J·Δparams``, handed to HiGHS with ``changeRowsBounds`` / ``changeColsBounds`` /
``changeColsCost`` on the instance that still holds the previous basis.

Matrix coefficients that are parameter terms (block memberships shifting with the horizon) are
tracked the same way and changed entry by entry (``changeCoeff``). The update is exact when the
derivatives do not change; it is refused (``None``: recompile) when a changed parameter enters a
column bound other than as the bound itself, or a term multiplied by another changed parameter
(``price·dt_h`` is linear in the price while ``dt_h`` stays), or a parameter of a variable or row the
compile left out (a variable appearing only with coefficients that were zero then, a constraint
with no variable left: the LP has no column or row to change, so a change needs a recompile).
Variable domains are the caller's: the solver updates in place only LPs compiled without binaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.core.base.param import ParamData, ScalarParam
from pyomo.core.expr.calculus.derivatives import Modes, differentiate
from pyomo.core.expr.numeric_expr import (
    NPV_DivisionExpression,
    NPV_NegationExpression,
    NPV_ProductExpression,
    NPV_SumExpression,
)
from pyomo.core.expr.visitor import identify_mutable_parameters
from pyomo.repn import generate_standard_repn


@dataclass
class LpVectors:
    """The numbers of an LP that a parameter change may move (HiGHS conventions, ±inf unbounded)."""

    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    costs: dict[str, np.ndarray]
    coeffs: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    """matrix entries (rows, columns, values) that changed since the previous vectors"""


class _Params:
    """Every mutable parameter value of a model, numbered."""

    def __init__(self, m: pyo.ConcreteModel) -> None:
        self.data = [d for p in m.component_objects(pyo.Param) for d in p.values()]
        self.index = {id(d): i for i, d in enumerate(self.data)}

    def values(self) -> np.ndarray:
        # ``_value`` rather than the ``value`` property: a fifth of the time, and this runs every re-plan
        return np.fromiter((d._value for d in self.data), dtype=float, count=len(self.data))


class LpSensitivity:
    """Derivatives of the compiled LP's row sides and costs by parameter, and the column bounds that
    are parameters; built once per compile (see module doc)."""

    def __init__(self, m: pyo.ConcreteModel, rows: list, columns: list, base: LpVectors) -> None:
        self.params = _Params(m)
        n_par, n_row, n_col = len(self.params.data), len(rows), len(columns)
        self.base = base
        self.values = self.params.values()
        self.slow = np.zeros(n_par, dtype=bool)  # changing one of these needs a recompile
        self._factor_pairs: set[tuple[int, int]] = set()  # (p, q): d/dp of some term depends on q
        col_of = {id(v): j for j, v in enumerate(columns)}

        # row sides: rhs = bound − constant of the body
        lo_r: list[tuple[int, int, float]] = []
        hi_r: list[tuple[int, int, float]] = []
        a_entries: list[tuple[int, int, float]] = []  # (matrix entry, parameter, derivative)
        keys: list[tuple[int, int]] = []
        a_values: list[float] = []
        for i, row in enumerate(rows):
            lb, body, ub = row.constraint.to_bounded_expression()
            repn = generate_standard_repn(body, compute_values=False, quadratic=False)
            for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True):
                if id(v) not in col_of:  # left out by the compile (module doc)
                    self._mark_slow(c)
                    continue
                dc = self._derivatives(c)
                if dc:
                    a_entries += [(len(keys), p, d) for p, d in dc]
                    keys.append((i, col_of[id(v)]))
                    a_values.append(float(pyo.value(c)))
            side = ub if row.bound_type >= 0 else lb
            for p, d in self._derivatives(side - repn.constant if side is not None else -repn.constant):
                if row.bound_type <= 0:
                    lo_r.append((i, p, d))
                if row.bound_type >= 0:
                    hi_r.append((i, p, d))
        compiled = {id(row.constraint) for row in rows}
        for con in m.component_data_objects(pyo.Constraint, active=True):
            if id(con) not in compiled:  # no variable with a nonzero coefficient: the compile dropped it
                for part in con.to_bounded_expression():
                    self._mark_slow(part)
        self.J_row_lower = _matrix(lo_r, n_row, n_par)
        self.J_row_upper = _matrix(hi_r, n_row, n_par)
        # matrix coefficients that are parameter terms (block memberships, efficiencies, sensitivities)
        self.J_coeff = _matrix(a_entries, len(keys), n_par)
        self.coeff_rows = np.array([k[0] for k in keys], dtype=int)
        self.coeff_cols = np.array([k[1] for k in keys], dtype=int)
        self.coeff_values = np.array(a_values)

        # costs: the coefficient of each column in each objective component
        self.J_cost = {}
        for obj in m.component_data_objects(pyo.Objective):
            repn = generate_standard_repn(obj.expr, compute_values=False, quadratic=False)
            entries = []
            for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True):
                if id(v) not in col_of:
                    self._mark_slow(c)
                    continue
                entries += [(col_of[id(v)], p, d) for p, d in self._derivatives(c)]
            self.J_cost[obj.parent_component().local_name] = _matrix(entries, n_col, n_par)

        # column bounds: a bound that is itself one parameter is that parameter, clipped by the domain
        self.col_lower_param = np.full(n_col, -1)
        self.col_upper_param = np.full(n_col, -1)
        self.dom_lower = np.full(n_col, -np.inf)
        self.dom_upper = np.full(n_col, np.inf)
        for j, v in enumerate(columns):
            dl, du = v.domain.bounds()
            self.dom_lower[j] = -np.inf if dl is None else dl
            self.dom_upper[j] = np.inf if du is None else du
            for bound, target in ((v._lb, self.col_lower_param), (v._ub, self.col_upper_param)):
                if bound is None or isinstance(bound, (int, float)):
                    continue
                if id(bound) in self.params.index:
                    target[j] = self.params.index[id(bound)]
                else:
                    self._mark_slow(bound)
        self._pairs = np.array(sorted(self._factor_pairs), dtype=int).reshape(-1, 2)

    def update(self) -> LpVectors | None:
        """The LP's vectors at the model's current parameter values, or ``None`` when the change needs a
        recompile; on success they become the new base."""
        new = self.params.values()
        delta = new - self.values
        changed = np.flatnonzero(delta)
        if self.slow[changed].any():
            return None
        mask = delta != 0
        if self._factor_pairs and (mask[self._pairs[:, 0]] & mask[self._pairs[:, 1]]).any():
            return None
        d_coeff = self.J_coeff @ delta
        moved = np.flatnonzero(d_coeff)
        self.coeff_values = self.coeff_values + d_coeff
        b = self.base
        lower = b.col_lower.copy()
        upper = b.col_upper.copy()
        has = self.col_lower_param >= 0
        lower[has] = np.maximum(new[self.col_lower_param[has]], self.dom_lower[has])
        has = self.col_upper_param >= 0
        upper[has] = np.minimum(new[self.col_upper_param[has]], self.dom_upper[has])
        self.base = LpVectors(
            lower,
            upper,
            b.row_lower + self.J_row_lower @ delta,
            b.row_upper + self.J_row_upper @ delta,
            {k: c + self.J_cost[k] @ delta for k, c in b.costs.items()},
            (self.coeff_rows[moved], self.coeff_cols[moved], self.coeff_values[moved]),
        )
        self.values = new
        return self.base

    # ------------------------------------------------------------------ internals

    def _mark_slow(self, expr: object) -> None:
        if expr is None or isinstance(expr, (int, float)):
            return
        for d in identify_mutable_parameters(expr):
            self.slow[self.params.index[id(d)]] = True

    def _derivatives(self, expr: object) -> list[tuple[int, float]]:
        """(parameter number, value of d expr / d parameter) for every parameter in ``expr``."""
        if isinstance(expr, (int, float)):
            return []
        try:
            return list(self._forward(expr)[1].items())
        except _Unsupported:
            return self._symbolic(expr)

    def _forward(self, e: object) -> tuple[float, dict[int, float]]:
        """(value, gradient by parameter number) of a parameter expression made of sums, products,
        negations and divisions by constants: forward-mode differentiation, a tenth of the time of
        Pyomo's symbolic derivatives (the sensitivity analysis of the first plan); records the factor
        pairs of products as :meth:`_symbolic` does. Any other node raises :class:`_Unsupported`."""
        if isinstance(e, (int, float)):
            return float(e), {}
        kind = type(e)
        if kind in _PARAM_TYPES:
            p = self.params.index.get(id(e))
            return (float(e._value), {p: 1.0}) if p is not None else (float(pyo.value(e)), {})  # type: ignore[attr-defined]
        if kind is NPV_SumExpression:
            total = 0.0
            grad: dict[int, float] = {}
            for arg in e.args:  # type: ignore[attr-defined]
                v, g = self._forward(arg)
                total += v
                for p, d in g.items():
                    grad[p] = grad.get(p, 0.0) + d
            return total, grad
        if kind is NPV_ProductExpression:
            (va, ga), (vb, gb) = (self._forward(arg) for arg in e.args)  # type: ignore[attr-defined]
            self._factor_pairs.update((p, q) for p in ga for q in gb)
            self._factor_pairs.update((q, p) for p in ga for q in gb)
            grad = {p: vb * d for p, d in ga.items()}
            for p, d in gb.items():
                grad[p] = grad.get(p, 0.0) + va * d
            return va * vb, grad
        if kind is NPV_NegationExpression:
            v, g = self._forward(e.args[0])  # type: ignore[attr-defined]
            return -v, {p: -d for p, d in g.items()}
        if kind is NPV_DivisionExpression and isinstance(e.args[1], (int, float)):  # type: ignore[attr-defined]
            v, g = self._forward(e.args[0])  # type: ignore[attr-defined]
            c = float(e.args[1])  # type: ignore[attr-defined]
            return v / c, {p: d / c for p, d in g.items()}
        raise _Unsupported(kind.__name__)

    def _symbolic(self, expr: object) -> list[tuple[int, float]]:
        """:meth:`_derivatives` by Pyomo's symbolic differentiation, for any expression."""
        found = list(identify_mutable_parameters(expr))
        if not found:
            return []
        out = []
        derivs = differentiate(expr, wrt_list=found, mode=Modes.reverse_symbolic)
        for d, dexpr in zip(found, derivs, strict=True):
            p = self.params.index[id(d)]
            if not isinstance(dexpr, (int, float)):
                for q in identify_mutable_parameters(dexpr):
                    self._factor_pairs.add((p, self.params.index[id(q)]))
            out.append((p, float(pyo.value(dexpr))))
        return out


class _Unsupported(Exception):
    """An expression node :meth:`LpSensitivity._forward` does not differentiate."""


_PARAM_TYPES = (ParamData, ScalarParam)


def _matrix(entries: list[tuple[int, int, float]], n: int, n_par: int) -> sp.csr_matrix:
    if not entries:
        return sp.csr_matrix((n, n_par))
    r, c, v = zip(*entries, strict=True)
    return sp.csr_matrix((v, (r, c)), shape=(n, n_par))
