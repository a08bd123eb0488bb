"""Snapshot and time-series power flow on a :class:`ParkNetwork` (the public entry points)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from grid_models.fast import fast_model
from grid_models.network import NetworkModelError, ParkNetwork
from grid_models.oltc import run_with_oltc
from grid_models.reactive import apply_fixed_pf, solve_q_of_u
from grid_models.reference import pandapower_series
from grid_models.results import PowerFlowResult, SeriesResult, violations


def _as_matrix(name: str, values: np.ndarray, steps: int | None, devices: int) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.ndim != 2 or a.shape[1] != devices or (steps is not None and a.shape[0] != steps):
        want = f"({steps if steps is not None else 'T'}, {devices})"
        raise NetworkModelError(f"{name} must have shape {want}, got {a.shape}")
    bad = ~np.isfinite(a)
    if bad.any():
        t, j = (int(x) for x in np.argwhere(bad)[0])
        raise NetworkModelError(f"{name} has {int(bad.sum())} non-finite values, first at interval {t}, device {j}")
    return a


def prepare_injections(
    pn: ParkNetwork, device_ids: list[str], p_kw: np.ndarray, q_kvar: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate (T, D) active powers and fill reactive powers from each device's power factor."""
    if len(set(device_ids)) != len(device_ids):
        raise NetworkModelError("device_ids contains duplicates")
    for d in device_ids:
        pn.element(d)
    p = _as_matrix("p_kw", p_kw, None, len(device_ids))
    if p.shape[0] == 0:
        raise NetworkModelError("p_kw has no intervals")
    if q_kvar is None:
        q = p * np.array([pn.q_ratio.get(d, 0.0) for d in device_ids])[None, :]
    else:
        q = _as_matrix("q_kvar", q_kvar, p.shape[0], len(device_ids))
    return p, q


def timeseries(
    pn: ParkNetwork,
    device_ids: list[str],
    p_kw: np.ndarray,
    q_kvar: np.ndarray | None = None,
    fast: bool = True,
    times: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
    control_taps: bool = False,
    shunt_steps: dict[str, np.ndarray] | None = None,
) -> SeriesResult:
    """Power flow for every interval of a schedule.

    ``p_kw``/``q_kvar`` are (T, D) injections of ``device_ids`` in generator convention;
    devices not listed keep the values stored in the net. ``fast=True`` uses the
    power-grid-model batch path, ``fast=False`` pandapower's Newton-Raphson per interval.
    ``progress(n)`` is called as intervals complete. Unless ``q_kvar`` is given, inverters
    with a reactive control (:mod:`grid_models.reactive`) set their own Q. ``control_taps`` runs the on-load tap
    changers' deadband control in every interval (fast path: :mod:`grid_models.oltc`; reference path:
    pandapower's ``DiscreteTapControl``);
    otherwise taps stay at the positions stored in the net. ``shunt_steps`` (capacitor bank id → (T,)
    steps in) switches banks per interval, on either path and with tap control.
    """
    p, q = prepare_injections(pn, device_ids, p_kw, q_kvar)
    for name, n in (shunt_steps or {}).items():
        if name not in set(pn.net.shunt.name) or len(n) != p.shape[0]:
            raise NetworkModelError(f"shunt_steps[{name!r}]: no such capacitor bank or not {p.shape[0]} intervals")
    if times is not None and len(times) != p.shape[0]:
        raise NetworkModelError(f"times has {len(times)} entries for {p.shape[0]} intervals")

    def run(q_run: np.ndarray) -> SeriesResult:
        if control_taps and pn.oltc is not None and fast:
            return run_with_oltc(pn, pn.oltc, device_ids, p, q_run, progress, shunt_steps)[0]
        if fast:
            return fast_model(pn).run(device_ids, p, q_run, progress, shunt_steps)
        return pandapower_series(pn, device_ids, p, q_run, progress, shunt_steps, pn.oltc if control_taps else None)

    if q_kvar is not None or not pn.reactive:
        result = run(q)
    else:
        result = solve_q_of_u(pn, device_ids, p, apply_fixed_pf(pn, device_ids, p, q), run)
    if times is None:
        return result
    return SeriesResult(**{**result.__dict__, "times": np.asarray(times)})


def snapshot(
    pn: ParkNetwork,
    injections_kw: dict[str, float],
    injections_kvar: dict[str, float] | None = None,
    fast: bool = False,
) -> PowerFlowResult:
    """Power flow of one interval (pandapower Newton-Raphson unless ``fast``), with its violations."""
    ids = list(injections_kw)
    p = np.array([[injections_kw[d] for d in ids]], dtype=float)
    q = None
    if injections_kvar is not None:
        unknown = set(injections_kvar) - set(ids)
        if unknown:
            raise NetworkModelError(f"reactive power given for devices without active power: {sorted(unknown)}")
        ratios = {d: pn.q_ratio.get(d, 0.0) for d in ids}
        q = np.array([[injections_kvar.get(d, injections_kw[d] * ratios[d]) for d in ids]], dtype=float)
    series = timeseries(pn, ids, p, q, fast=fast)
    one = series.at(0)
    return PowerFlowResult(**{**one.__dict__, "violations": violations(series, pn.limits)})
