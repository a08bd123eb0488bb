"""The grid model's per-interval linearisation and N-1 flow limits, turned into the dispatcher's plain data.

Dispatch never imports :mod:`grid_models`; this adapter runs the AC power flow of an operating point
(a schedule, or before the first solve the forecast with batteries idle, generators at their
available output and inverters at unity), asks the grid model for its per-interval sensitivities
(:func:`grid_models.linearisation.series_sensitivities`) and PTDF/LODF post-contingency flows
(:func:`grid_models.outage_factors.contingency_flows`) and hands them over as
:class:`~dispatch.problem.GridLinearisation` and :class:`~dispatch.problem.NetworkRow` lists.
"""

from __future__ import annotations

import numpy as np

from dispatch.problem import DispatchProblem, GridLinearisation, NetworkRow
from dispatch.schedule import Schedule
from grid_models import ParkNetwork
from grid_models.linearisation import series_sensitivities
from grid_models.outage_factors import contingency_flows
from grid_models.reactive import apply_fixed_pf

#: a bus gets voltage rows in dispatch when its voltage comes this close to its band [pu] in some interval
#: at the operating point; the AC check catches the others (and adds a row where one is violated)
VOLTAGE_WATCH_PU = 0.01
#: the plan aims this far above the minimum power factor, so that the AC result, which differs from the
#: first-order model by the plan's move away from the operating point, still meets it
PF_MARGIN = 0.005


def operating_point(p: DispatchProblem, pn: ParkNetwork, s: Schedule | None = None) -> tuple[list[str], np.ndarray]:
    """(device ids, (T, D) active injections [kW, generator convention]) of ``s``, or without a schedule
    the reference point: generators at their available output, batteries idle, loads as forecast."""
    inj: dict[str, np.ndarray] = {}
    if s is None:
        inj.update({g.id: np.asarray(g.avail_kw, float) for g in p.generators})
        inj.update({b.id: np.zeros(p.T) for b in p.batteries})
        inj.update({d.id: np.minimum(d.avail_kw, d.capacity_kw) for d in p.direct})
    else:
        inj.update(s.gen_p_kw)
        inj.update(s.battery_p_kw)
        inj.update(s.direct_kw)
    flex = {f.id: f for f in p.flex}
    for dev, load in p.loads_kw.items():
        cons = np.asarray(load, dtype=float)
        if dev in flex and s is not None:
            cons = cons - flex[dev].baseline_kw + s.flex_kw[dev]
        inj[dev] = -cons
    ids = [d for d in pn.device_ids if d in inj]
    return ids, np.column_stack([inj[d] for d in ids]) if ids else np.zeros((p.T, 0))


def reactive_injections(
    p: DispatchProblem, pn: ParkNetwork, ids: list[str], p_kw: np.ndarray, s: Schedule | None = None
) -> np.ndarray:
    """(T, D) reactive injections [kvar]: the plan's setpoints for dispatched inverters, each other
    device's power factor (fixed-pf inverters per their setting)."""
    q = p_kw * np.array([pn.q_ratio.get(d, 0.0) for d in ids])[None, :]
    q = apply_fixed_pf(pn, ids, p_kw, q)
    if s is not None:
        for j, d in enumerate(ids):
            if d in s.q_kvar:
                q[:, j] = s.q_kvar[d]
    return q


def _model_injection(p: DispatchProblem, dev: str, inj: np.ndarray) -> np.ndarray:
    """A device's network injection in the dispatch model's variable: flexible loads count only ``−x``."""
    for f in p.flex:
        if f.id == dev:
            return inj + (np.asarray(p.loads_kw[dev]) - f.baseline_kw)
    return inj


def grid_linearisation(
    p: DispatchProblem,
    pn: ParkNetwork,
    s: Schedule | None = None,
    *,
    keep_buses: tuple[str, ...] = (),
    pf_margin: float = PF_MARGIN,
) -> GridLinearisation:
    """Losses, reactive exchange and bus voltages of ``pn`` linearised at each interval of ``s`` (or the
    reference point), over the problem's controllable devices and dispatched inverters.

    ``keep_buses`` keep their voltage rows even where this operating point is far from the band (the AC
    loop passes the buses watched so far, so the model's shape, and with it the built model, stays);
    ``pf_margin``: how far above the minimum power factor the plan aims."""
    ids, p_kw = operating_point(p, pn, s)
    q_kvar = reactive_injections(p, pn, ids, p_kw, s)
    controllable = {b.id for b in p.batteries} | {g.id for g in p.generators} | {d.id for d in p.direct}
    controllable |= {f.id for f in p.flex}
    q_ids = [r.id for r in p.reactive if r.id in ids]
    sens = series_sensitivities(pn, ids, p_kw, q_kvar, q_ids)
    col = {d: j for j, d in enumerate(ids)}
    ctrl = [d for d in ids if d in controllable]
    lo, hi = pn.limits.voltage_band(len(sens.bus_ids))
    with np.errstate(invalid="ignore"):
        near = np.nanmin(np.minimum(sens.vm_pu - lo, hi - sens.vm_pu), axis=0) < VOLTAGE_WATCH_PU
    moves = np.abs(sens.dp_vm).max(axis=(0, 2)) + (np.abs(sens.dq_vm).max(axis=(0, 2)) if q_ids else 0.0) > 0
    kept = np.array([b in keep_buses for b in sens.bus_ids], dtype=bool)
    watch = np.nonzero((near | kept) & moves)[0]
    return GridLinearisation(
        p_ref_kw={d: _model_injection(p, d, p_kw[:, col[d]]) for d in ctrl},
        q_ref_kvar={d: q_kvar[:, col[d]] for d in q_ids},
        loss_kw=sens.losses_kw,
        loss_dp={d: sens.dp_losses[:, col[d]] for d in ctrl},
        exchange_kvar=sens.exchange_kvar,
        kvar_dp={d: sens.dp_exchange_kvar[:, col[d]] for d in ctrl},
        kvar_dq={d: sens.dq_exchange_kvar[:, i] for i, d in enumerate(q_ids)},
        bus_ids=tuple(sens.bus_ids[b] for b in watch),
        vm_pu=sens.vm_pu[:, watch],
        vm_dp={d: sens.dp_vm[:, watch, col[d]] for d in ctrl},
        vm_dq={d: sens.dq_vm[:, watch, i] for i, d in enumerate(q_ids)},
        v_min_pu=np.asarray(lo, float)[watch],
        v_max_pu=np.asarray(hi, float)[watch],
        min_power_factor=min(pn.limits.min_power_factor + pf_margin, 1.0) if pn.limits.min_power_factor > 0 else 0.0,
    )


def contingency_rows(
    p: DispatchProblem,
    pn: ParkNetwork,
    s: Schedule | None = None,
    emergency_factor: float = 1.0,
    margin: float = 0.02,
) -> tuple[list[NetworkRow], list[str]]:
    """N-1 rows (two per outage and monitored branch: ``±flow <= allowed``) at the operating point of
    ``s``, and the outages that island part of the network (not constrainable). ``margin``: fraction of
    the allowed flow held back for what the DC factors do not see (flow reactive parts, losses)."""
    ids, p_kw = operating_point(p, pn, s)
    q_kvar = reactive_injections(p, pn, ids, p_kw, s)
    flows, islanding = contingency_flows(pn, ids, p_kw, q_kvar, emergency_factor)
    controllable = {b.id for b in p.batteries} | {g.id for g in p.generators} | {d.id for d in p.direct}
    controllable |= {f.id for f in p.flex}
    rows = []
    for c in flows:
        coeffs = {d: float(a) for d, a in zip(ids, c.coeffs, strict=True) if d in controllable and abs(a) > 1e-9}
        if not coeffs:
            continue  # no controllable device moves this flow
        ref = {d: _model_injection(p, d, p_kw[:, ids.index(d)]) for d in coeffs}
        allowed = (1 - margin) * c.allowed_kw
        name = f"n-1 {c.outage} out: {c.element}"
        rows.append(NetworkRow(f"{name} (+)", coeffs, c.flow_kw - allowed, upper=0.0, p_ref_kw=ref))
        rows.append(
            NetworkRow(f"{name} (-)", {d: -a for d, a in coeffs.items()}, -c.flow_kw - allowed, upper=0.0, p_ref_kw=ref)
        )
    return rows, islanding
