"""Exact splitting of integer milli-unit totals (Wh, gCO2) among rows: the largest-remainder rule.

For one interval with total ``V`` (integer milli-units) and integer weights ``w_j >= 0``
(``W = sum w_j``)::

    q_j = floor(V * w_j / W)          (exact integer arithmetic)
    r_j = V * w_j mod W               (remainder)
    the V - sum q_j missing units go, one each, to the rows with the largest r_j
    (ties: the lower row index)

so ``sum_j share_j == V`` exactly, every share is within one unit of its exact pro-rata
value, and a row with zero weight gets nothing. A negative total is split as ``-split(-V)``.
When every weight is zero the whole total goes to the ``fallback`` row (the explicit
remainder row), so nothing is ever lost.
"""

from __future__ import annotations

import numpy as np

_LIMIT = 2**62


def split_exact(total: np.ndarray, weights: np.ndarray, fallback: int) -> np.ndarray:
    """Split ``total`` (int64[T]) among rows by ``weights`` (int64[R, T], >= 0); returns int64[R, T].

    Columns sum exactly to ``total``. Raises ValueError on negative weights or overflow risk.
    """
    total = np.asarray(total, dtype=np.int64)
    w = np.asarray(weights, dtype=np.int64)
    if w.ndim != 2 or w.shape[1] != total.shape[0]:
        raise ValueError(f"weights shape {w.shape} does not match totals {total.shape}")
    if (w < 0).any():
        raise ValueError("allocation weights must be non-negative")
    r, n = w.shape
    out = np.zeros((r, n), dtype=np.int64)
    if n == 0 or r == 0:
        return out
    sign = np.where(total < 0, -1, 1).astype(np.int64)
    v = np.abs(total)
    big_w = w.sum(axis=0)
    if int(v.max(initial=0)) * int(w.max(initial=0)) >= _LIMIT:
        raise ValueError("values too large for exact int64 splitting")
    zero = big_w == 0
    safe_w = np.where(zero, 1, big_w)
    prod = v[None, :] * w
    q = prod // safe_w[None, :]
    rem = prod % safe_w[None, :]
    short = v - q.sum(axis=0)
    # rank rows by remainder, descending, ties to the lower row index (stable sort)
    order = np.argsort(-rem, axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(r)[:, None].repeat(n, axis=1), axis=0)
    q += (ranks < short[None, :]).astype(np.int64)
    q[:, zero] = 0
    q[fallback, zero] = v[zero]
    return q * sign[None, :]


def to_weights(x: np.ndarray, scale: float = 1000.0) -> np.ndarray:
    """Non-negative float weights to integers (``rint(x * scale)``, negatives clamped to 0)."""
    return np.rint(np.maximum(np.asarray(x, dtype=float), 0.0) * scale).astype(np.int64)
