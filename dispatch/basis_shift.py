"""A simplex basis moved with the horizon: the warm start of an MPC re-solve.

A re-plan ``k`` intervals later solves nearly the same LP with every time-indexed column and row
moved ``k`` places: what was basic at ``t + k`` is most likely basic at ``t`` now. Started from the
previous optimal basis *unshifted* (each interval taking its neighbour's statuses), a re-solve of 96
intervals took about as many simplex iterations as a cold start (~210 for stage 1, ~150 for stage 2,
demo park); shifted, 0–1 and ~10–40. The last ``k`` intervals, new to the horizon, repeat the previous
last interval's statuses (as the MIP start does, :func:`dispatch.solver._shifted_values`). The count of
basic variables may then differ from the number of rows, so the basis is handed over as *alien*: HiGHS
completes it and replaces dependent columns while factorising (``Highs::setBasis``, ``HighsBasis.alien``).

Statuses travel as small integer arrays (HiGHS's ``HighsBasisStatus`` codes) read from the basic
variable list and the solution: reading ``HighsBasis.col_status`` builds one Python enum object per
entry, ~2 ms per stage for 3,400 columns and rows, more than the simplex run itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np

_S = highspy.HighsBasisStatus
LOWER, BASIC, UPPER, ZERO = int(_S.kLower), int(_S.kBasic), int(_S.kUpper), int(_S.kZero)
_STATUS = np.array([_S(c) for c in range(int(_S.kNonbasic) + 1)], dtype=object)  # code -> enum


@dataclass
class BasisCodes:
    """A basis as status codes per column and per row."""

    col: np.ndarray
    row: np.ndarray

    def to_highs(self, *, alien: bool) -> highspy.HighsBasis:
        out = highspy.HighsBasis()
        out.col_status = _STATUS[self.col].tolist()
        out.row_status = _STATUS[self.row].tolist()
        out.valid = True
        out.alien = alien
        return out


def optimal_basis(h: highspy.Highs, bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> BasisCodes:
    """The basis of ``h``'s last solve: basic as HiGHS lists them, every other column or row at the
    bound its value sits nearer to (``bounds``: column lower, upper, row lower, upper)."""
    _, basic = h.getBasicVariables()  # type: ignore[attr-defined]  # column j, or row i as −(1 + i)
    sol = h.getSolution()
    col = _nonbasic(np.asarray(sol.col_value), bounds[0], bounds[1])
    row = _nonbasic(np.asarray(sol.row_value), bounds[2], bounds[3])
    basic = np.asarray(basic)
    col[basic[basic >= 0]] = BASIC
    row[-1 - basic[basic < 0]] = BASIC
    return BasisCodes(col, row)


def _nonbasic(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # inf − inf for free variables
        at_upper = np.isfinite(upper) & ~(np.abs(x - lower) <= np.abs(x - upper))
    out = np.where(at_upper, UPPER, LOWER).astype(np.int8)
    out[~np.isfinite(lower) & ~np.isfinite(upper)] = ZERO
    return out


class HorizonShift:
    """For each column and row of a compiled LP, the column or row that held the same quantity ``k``
    intervals later (itself when not time-indexed). ``time_sets``: the model's time index sets; a
    component is time-indexed when the last factor of its index set is one of them."""

    def __init__(self, columns: Sequence, rows: Sequence, time_sets: Iterable, T: int) -> None:
        self.T = T
        self._time = {id(s) for s in time_sets}
        self._col = self._positions([(v.parent_component(), v.index()) for v in columns])
        self._row = self._positions([(r.constraint.parent_component(), r.constraint.index()) for r in rows])
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def sources(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(column sources, row sources) for a horizon moved ``k >= 0`` intervals."""
        if k not in self._cache:
            self._cache[k] = (self._source(self._col, k), self._source(self._row, k))
        return self._cache[k]

    def basis(self, previous: BasisCodes, k: int) -> highspy.HighsBasis:
        """``previous`` (a basis of the same LP, ``k`` intervals earlier) moved ``k`` intervals."""
        if k == 0:
            return previous.to_highs(alien=False)
        cols, rows = self.sources(k)
        return BasisCodes(previous.col[cols], previous.row[rows]).to_highs(alien=True)

    # ------------------------------------------------------------------ internals

    def _positions(self, entries: list[tuple[object, object]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group of each entry or −1, its interval, table group × interval -> entry)."""
        groups: dict[tuple[int, object], int] = {}
        timed_comp: dict[int, bool] = {}
        gid = np.full(len(entries), -1)
        tix = np.full(len(entries), -1)
        for j, (comp, idx) in enumerate(entries):
            if id(comp) not in timed_comp:
                subsets = list(comp.index_set().subsets()) if comp.is_indexed() else []  # type: ignore[attr-defined]
                timed_comp[id(comp)] = bool(subsets) and id(subsets[-1]) in self._time
            if not timed_comp[id(comp)]:
                continue
            key = idx if isinstance(idx, tuple) else (idx,)
            gid[j] = groups.setdefault((id(comp), key[:-1]), len(groups))
            tix[j] = key[-1]
        table = np.full((len(groups), self.T), -1)
        timed = gid >= 0
        table[gid[timed], tix[timed]] = np.flatnonzero(timed)
        return gid, tix, table

    def _source(self, pos: tuple[np.ndarray, np.ndarray, np.ndarray], k: int) -> np.ndarray:
        gid, tix, table = pos
        src = np.arange(len(gid))
        timed = gid >= 0
        moved = table[gid[timed], np.minimum(tix[timed] + k, self.T - 1)]
        src[timed] = np.where(moved >= 0, moved, src[timed])
        return src
