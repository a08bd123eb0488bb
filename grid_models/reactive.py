"""Inverter reactive power: fixed power factor and Q(U) within the P–Q capability.

Capability (active power priority): ``|Q| <= min(q_max, sqrt(S² - P²))``. Fixed power factor
needs no iteration; Q(U) depends on the bus voltage it changes, so the series is re-solved
with the devices' Q taken from the voltages of the previous solution until Q moves by less
than :data:`Q_TOLERANCE_KVAR` (a fixed point: the final Q equals the curve at the final voltage).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from grid_models.network import NetworkModelError, ParkNetwork, ReactiveSpec
from grid_models.results import SeriesResult

Q_TOLERANCE_KVAR = 0.01
MAX_ITERATIONS = 30


def capability_kvar(spec: ReactiveSpec, p_kw: np.ndarray) -> np.ndarray:
    """Largest |Q| at active power ``p_kw``."""
    return np.minimum(spec.q_max_kvar, np.sqrt(np.maximum(spec.s_kva**2 - p_kw**2, 0.0)))


def fixed_pf_kvar(spec: ReactiveSpec, p_kw: np.ndarray) -> np.ndarray:
    cap = capability_kvar(spec, p_kw)
    return np.clip(spec.tan_phi * np.abs(p_kw), -cap, cap)


def q_of_u_kvar(spec: ReactiveSpec, p_kw: np.ndarray, vm_pu: np.ndarray) -> np.ndarray:
    cap = capability_kvar(spec, p_kw)
    return np.clip(np.interp(vm_pu, spec.curve_v, spec.curve_q), -cap, cap)


def apply_fixed_pf(pn: ParkNetwork, device_ids: list[str], p_kw: np.ndarray, q_kvar: np.ndarray) -> np.ndarray:
    """``q_kvar`` with the fixed-power-factor devices' columns replaced."""
    q = q_kvar.copy()
    for j, d in enumerate(device_ids):
        spec = pn.reactive.get(d)
        if spec is not None and spec.mode == "fixed_pf":
            q[:, j] = fixed_pf_kvar(spec, p_kw[:, j])
    return q


def solve_q_of_u(
    pn: ParkNetwork,
    device_ids: list[str],
    p_kw: np.ndarray,
    q_kvar: np.ndarray,
    run: Callable[[np.ndarray], SeriesResult],
) -> SeriesResult:
    """Solve ``q = curve(U(q))`` for the Q(U) devices; ``run(q)`` solves the series.

    ``g(q) = curve(U(q)) - q`` falls strictly with q (more Q raises U, the curve falls with U),
    so each interval's root is found by the secant method (after one half step), which also
    converges where a plain fixed-point iteration oscillates on a steep curve.
    """
    cols = [
        (j, pn.reactive[d], pn.bus_ids.index(pn.bus_of(d)))
        for j, d in enumerate(device_ids)
        if d in pn.reactive and pn.reactive[d].mode == "q_of_u"
    ]
    if not cols:
        return run(q_kvar)
    q = q_kvar.copy()
    jj = [j for j, _, _ in cols]
    q[:, jj] = 0.0
    prev_q: np.ndarray | None = None
    prev_g: np.ndarray | None = None
    for _ in range(MAX_ITERATIONS):
        res = run(q)
        g = np.column_stack(
            [q_of_u_kvar(spec, p_kw[:, j], np.nan_to_num(res.vm_pu[:, b], nan=1.0)) - q[:, j] for j, spec, b in cols]
        )
        if np.max(np.abs(g)) < Q_TOLERANCE_KVAR:
            return res
        now = q[:, jj]
        step = 0.5 * g
        if prev_q is not None and prev_g is not None:
            dg, dq = g - prev_g, now - prev_q
            ok = np.abs(dg) > 1e-12
            step = np.where(ok, -g * dq / np.where(ok, dg, 1.0), step)
        prev_q, prev_g = now.copy(), g
        q[:, jj] = now + step
    raise NetworkModelError(f"Q(U) control did not settle in {MAX_ITERATIONS} iterations")
