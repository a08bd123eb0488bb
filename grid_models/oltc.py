"""On-load tap changers with a deadband voltage controller, over a whole series on the fast path.

Each OLTC keeps the voltage of its transformer's LV bus inside ``[v_min_pu, v_max_pu]`` (pu of
that bus's modelled voltage): in every interval, while the voltage is outside the band and
the tap can still move, it steps one position in the direction that corrects it and the
power flow is re-solved — the semantics of pandapower's ``DiscreteTapControl`` (one step
per control iteration, all controllers at once, stop when in band or at the tap limit), so
from the same start position both end on the same tap. Intervals are grouped by their tap
positions; each group runs as one batch on a power-grid-model image of the net with those
taps (built through pandapower's conversion like every fast model), and only intervals
whose taps moved are re-solved.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from grid_models.fast import fast_model
from grid_models.network import NetworkModelError, OltcSettings, ParkNetwork
from grid_models.results import SeriesResult

MAX_CONTROL_ITERATIONS = 30


def run_with_oltc(
    pn: ParkNetwork,
    settings: OltcSettings,
    device_ids: list[str],
    p_kw: np.ndarray,
    q_kvar: np.ndarray,
    progress: Callable[[int], None] | None = None,
    shunt_steps: dict[str, np.ndarray] | None = None,
) -> tuple[SeriesResult, np.ndarray]:
    """Fast-path series with tap control: (result, tap positions (T, n_oltc) at the end).

    ``shunt_steps`` (capacitor bank → (T,) steps in) switches banks per interval, as the plain fast
    path does; the taps then settle with the banks' reactive power in."""
    tr = pn.net.trafo.loc[settings.trafo]
    lv_col = np.array([pn.net.bus.index.get_loc(b) for b in tr.lv_bus])
    # +1 when raising the tap raises the LV voltage (pandapower: tap_side_coeff · tap_sign, negated)
    direction = -np.where(tr.tap_side.to_numpy() == "hv", 1, -1) * np.sign(tr.tap_step_percent.to_numpy(float))
    lo, hi = tr.tap_min.to_numpy(float), tr.tap_max.to_numpy(float)
    steps = p_kw.shape[0]
    taps = np.tile(tr.tap_pos.to_numpy(float), (steps, 1))
    models: dict[tuple[float, ...], ParkNetwork] = {}
    parts: dict[str, np.ndarray] = {}
    todo = np.arange(steps)
    meta: SeriesResult | None = None
    for _ in range(MAX_CONTROL_ITERATIONS):
        res = _run_groups(pn, settings, models, device_ids, p_kw, q_kvar, taps, todo, shunt_steps)
        meta = meta or res
        _store(parts, res, todo, steps)
        vm = res.vm_pu[:, lv_col]
        delta = np.where(vm < settings.v_min_pu, direction, np.where(vm > settings.v_max_pu, -direction, 0.0))
        new = taps[todo] + delta
        delta[(new < lo) | (new > hi)] = 0.0  # at the end of the tap range: stays out of band
        moved = np.any(delta != 0, axis=1)
        taps[todo] += delta
        if progress is not None:
            progress(int((~moved).sum()))
        todo = todo[moved]
        if len(todo) == 0:
            break
    else:
        raise NetworkModelError(f"tap control did not settle in {MAX_CONTROL_ITERATIONS} steps ({len(todo)} intervals)")
    assert meta is not None
    return SeriesResult(**{**meta.__dict__, **parts}), taps


def _run_groups(
    pn: ParkNetwork,
    settings: OltcSettings,
    models: dict[tuple[float, ...], ParkNetwork],
    device_ids: list[str],
    p_kw: np.ndarray,
    q_kvar: np.ndarray,
    taps: np.ndarray,
    rows: np.ndarray,
    shunt_steps: dict[str, np.ndarray] | None = None,
) -> SeriesResult:
    """Run ``rows``, one batch per distinct tap vector; rows of the result in the order of ``rows``."""
    keys, inverse = np.unique(taps[rows], axis=0, return_inverse=True)
    out: dict[str, np.ndarray] = {}
    first: SeriesResult | None = None
    for g, key in enumerate(keys):
        sel = np.nonzero(inverse.ravel() == g)[0]
        k = tuple(float(x) for x in key)
        if k not in models:
            net = copy.deepcopy(pn.net)
            net.trafo.loc[settings.trafo, "tap_pos"] = key
            models[k] = ParkNetwork(net, pn.elements, pn.q_ratio, pn.limits, pn.name, pn.oltc, pn.reactive)
        banks = {name: n[rows[sel]] for name, n in shunt_steps.items()} if shunt_steps else None
        res = fast_model(models[k]).run(device_ids, p_kw[rows[sel]], q_kvar[rows[sel]], None, banks)
        _store(out, res, sel, len(rows))
        first = first or res
    assert first is not None
    return SeriesResult(**{**first.__dict__, **out})


_ARRAYS = (
    "vm_pu",
    "va_degree",
    "line_loading_percent",
    "trafo_loading_percent",
    "losses_kw",
    "grid_exchange_kw",
    "grid_exchange_kvar",
    "converged",
)


def _store(parts: dict[str, np.ndarray], res: SeriesResult, rows: np.ndarray, steps: int) -> None:
    """Write ``res`` (len(rows) intervals) into the full-length arrays of ``parts`` at ``rows``."""
    for name in _ARRAYS:
        value = getattr(res, name)
        if name not in parts:
            parts[name] = np.zeros((steps, *value.shape[1:]), dtype=value.dtype)
        parts[name][rows] = value
