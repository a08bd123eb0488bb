"""Reference power flow: pandapower's Newton-Raphson, one ``runpp`` per interval."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pandapower as pp
from pandapower.auxiliary import ControllerNotConverged, NetCalculationNotConverged
from pandapower.control import DiscreteTapControl, run_control
from pandapower.powerflow import LoadflowNotConverged

from grid_models.network import INJECTION_SIGN, PF_OPTIONS, OltcSettings, ParkNetwork
from grid_models.results import SeriesResult


def pandapower_series(
    pn: ParkNetwork,
    device_ids: list[str],
    p_kw: np.ndarray,
    q_kvar: np.ndarray,
    progress: Callable[[int], None] | None = None,
    shunt_steps: dict[str, np.ndarray] | None = None,
    oltc: OltcSettings | None = None,
) -> SeriesResult:
    """Run ``pandapower.runpp`` for every row of ``p_kw``/``q_kvar`` (T, D) on a copy of the net, with
    ``shunt_steps`` (shunt name → (T,) steps in) setting switched capacitor banks per interval. With
    ``oltc``, pandapower's own ``DiscreteTapControl`` holds each OLTC's deadband (``run_control``), every
    interval starting from the stored tap positions, as :func:`grid_models.oltc.run_with_oltc` does.

    Loading and losses are pandapower's own ``res_line``/``res_trafo`` figures; losses are
    the sum of line and transformer ``pl_mw``; exchange is the sum of ``res_ext_grid.p_mw``.
    """
    net = copy.deepcopy(pn.net)
    groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for table in INJECTION_SIGN:
        cols = np.array([j for j, d in enumerate(device_ids) if pn.element(d)[0] == table], dtype=int)
        if len(cols):
            idx = np.array([pn.element(device_ids[j])[1] for j in cols])
            factor = INJECTION_SIGN[table] / net[table].loc[idx, "scaling"].to_numpy(float) / 1000.0
            groups[table] = (idx, cols, factor)
    steps, nb, nl, nt = p_kw.shape[0], len(net.bus), len(net.line), len(net.trafo)
    vm, va = np.full((steps, nb), np.nan), np.full((steps, nb), np.nan)
    ll, tl = np.full((steps, nl), np.nan), np.full((steps, nt), np.nan)
    loss, p_ex, q_ex = np.full(steps, np.nan), np.full(steps, np.nan), np.full(steps, np.nan)
    ok = np.zeros(steps, dtype=bool)
    shunts = {name: int(net.shunt.index[net.shunt.name == name][0]) for name in shunt_steps or {}}
    stored_taps = net.trafo.tap_pos.copy()
    if oltc is not None:
        for t, lo, hi in zip(oltc.trafo, oltc.v_min_pu, oltc.v_max_pu, strict=True):
            DiscreteTapControl(net, int(t), vm_lower_pu=float(lo), vm_upper_pu=float(hi), side="lv")
    for i in range(steps):
        net.trafo["tap_pos"] = stored_taps
        for name, k in shunts.items():
            net.shunt.loc[k, "step"] = int((shunt_steps or {})[name][i])
        for table, (idx, cols, factor) in groups.items():
            net[table].loc[idx, "p_mw"] = p_kw[i, cols] * factor
            net[table].loc[idx, "q_mvar"] = q_kvar[i, cols] * factor
        try:
            if oltc is None:
                pp.runpp(net, **PF_OPTIONS)
            else:
                run_control(net, **PF_OPTIONS)
        except (LoadflowNotConverged, ControllerNotConverged, NetCalculationNotConverged):  # left NaN
            pass
        else:
            ok[i] = True
            vm[i], va[i] = net.res_bus.vm_pu.to_numpy(), net.res_bus.va_degree.to_numpy()
            ll[i], tl[i] = net.res_line.loading_percent.to_numpy(), net.res_trafo.loading_percent.to_numpy()
            loss[i] = (net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()) * 1e3
            p_ex[i], q_ex[i] = net.res_ext_grid.p_mw.sum() * 1e3, net.res_ext_grid.q_mvar.sum() * 1e3
        if progress is not None:
            progress(1)
    return SeriesResult(
        bus_ids=pn.bus_ids,
        line_ids=pn.line_ids,
        trafo_ids=pn.trafo_ids,
        vm_pu=vm,
        va_degree=va,
        line_loading_percent=ll,
        trafo_loading_percent=tl,
        losses_kw=loss,
        grid_exchange_kw=p_ex,
        grid_exchange_kvar=q_ex,
        converged=ok,
    )
