"""Read a solved model into a :class:`~dispatch.schedule.Schedule` (the one place results are read)."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from dispatch.problem import DispatchProblem
from dispatch.schedule import Kpis, Schedule, compute_kpis


def _values(var: pyo.Var, key: str, T: int) -> np.ndarray:
    return np.array([var[key, t].value or 0.0 for t in range(T)])


def _series(var: pyo.Var, T: int) -> np.ndarray:
    return np.array([var[t].value or 0.0 for t in range(T)])


def read_schedule(
    m: pyo.ConcreteModel,
    p: DispatchProblem,
    *,
    method: str,
    status: str,
    objective_mode: str,
    solver_status: str,
) -> Schedule:
    """Collect every decision of ``m`` (after a successful solve); tiny negative round-off is clipped to 0."""
    T = p.T

    def clip(a: np.ndarray) -> np.ndarray:
        return np.maximum(a, 0.0)

    shed = clip(_series(m.shed, T))
    charge = {b.id: clip(_values(m.pc, b.id, T)) for b in p.batteries}
    discharge = {b.id: clip(_values(m.pd, b.id, T)) for b in p.batteries}
    soc = {b.id: _values(m.e, b.id, T) / b.e_kwh for b in p.batteries}
    s = Schedule(
        start=p.start,
        dt_h=p.dt_h,
        times=p.times,
        method=method,
        status=status,
        objective_mode=objective_mode,
        solver_status=solver_status,
        fallback_reason=None,
        demand_kw=np.asarray(p.demand_kw, dtype=float) - p.shiftable_kw() - shed,
        flex_kw={f.id: clip(_values(m.x, f.id, T)) for f in p.flex},
        battery_charge_kw=charge,
        battery_discharge_kw=discharge,
        soc0={b.id: b.soc0 for b in p.batteries},
        soc=soc,
        gen_avail_kw={g.id: np.asarray(g.avail_kw, dtype=float) for g in p.generators},
        curtail_kw={g.id: clip(_values(m.curt, g.id, T)) for g in p.generators},
        grid_import_kw=clip(_series(m.imp, T)),
        grid_export_kw=clip(_series(m.exp, T)),
        contract_kw={c.id: clip(_values(m.g, c.id, T)) for c in p.contracts},
        direct_kw={d.id: clip(_values(m.dg, d.id, T)) for d in p.direct},
        ef_kg_per_kwh=np.asarray(p.ef_kg_per_kwh, dtype=float),
        kpis=_EMPTY_KPIS,
    )
    s.q_kvar = {i: _values(m.q, i, T) for i in m.QD}
    s.bank_steps = {c: np.rint(_values(m.n_bank, c, T)).astype(int) for c in m.CB}
    if p.grid is not None:
        s.loss_kw = np.array([pyo.value(m.loss[t]) for t in range(T)])
        s.pf_shortfall_kvar = np.array([m.s_pf[t].value or 0.0 for t in m.TP]) if len(m.TP) else np.zeros(T)
    s.network_binding = binding_rows(p, s)
    s.kpis = compute_kpis(p, s)
    s.notes.extend(soft_constraint_notes(m, p, shed))
    return s


def soft_constraint_notes(m: pyo.ConcreteModel, p: DispatchProblem, shed: np.ndarray, tol: float = 1e-3) -> list[str]:
    """What the soft constraints gave away: load shed, SOC band excursions, network slack (one line each)."""
    notes = []
    T = p.T
    if shed.max(initial=0.0) > tol:
        worst = int(np.argmax(shed))
        notes.append(
            f"load shed: {shed.sum() * p.dt_h:.1f} kWh in {int(np.sum(shed > tol))} intervals "
            f"(worst {shed[worst]:.1f} kW in interval {worst})"
        )
    for b in p.batteries:
        under = _values(m.e_under, b.id, T)
        over = _values(m.e_over, b.id, T)
        n = int(np.sum((under > tol) | (over > tol)))
        if n:
            notes.append(f"battery {b.id}: SOC outside [{b.soc_min:g}, {b.soc_max:g}] in {n} intervals (recovering)")
    slacks = [(r.name, r.name, m.s_up, m.s_lo, m.net_scale[r.name], tol) for r in p.network]
    slacks += [(r.name, r.name, m.c_up, m.c_lo, m.cont_scale[r.name], tol) for r in p.contingency]
    slacks += [(f"voltage {b}", b, m.sv_up, m.sv_lo, m.vm_scale, 1e-5) for b in m.GB]  # pu
    for name, key, s_up, s_lo, scale, small in slacks:
        slack = np.maximum(_values(s_up, key, T), _values(s_lo, key, T)) * float(pyo.value(scale))  # row unit
        if slack.max(initial=0.0) > small:
            notes.append(
                f"network slack on {name}: {int(np.sum(slack > small))} intervals, "
                f"worst {slack.max():.4g} beyond the limit (no plan within it)"
            )
    pf = np.array([m.s_pf[t].value or 0.0 for t in m.TP])
    if pf.max(initial=0.0) > tol:
        notes.append(
            f"power factor below {p.grid.min_power_factor if p.grid else 0:g} in {int(np.sum(pf > tol))} intervals "
            f"(reactive capability short by up to {pf.max():.1f} kvar)"
        )
    return notes


def injections(s: Schedule) -> dict[str, np.ndarray]:
    """Controllable injections of the schedule per device [kW, injection positive]."""
    inj: dict[str, np.ndarray] = {}
    inj.update(s.battery_p_kw)
    inj.update(s.gen_p_kw)
    inj.update({f: -x for f, x in s.flex_kw.items()})
    inj.update(s.direct_kw)
    return inj


def row_values(p: DispatchProblem, s: Schedule) -> dict[str, np.ndarray]:
    """Linearised value of each network row under the schedule: ``base + Σ a·(inj − p_ref)``."""
    inj = injections(s)
    out = {}
    for r in p.network:
        v = np.asarray(r.base, dtype=float).copy()
        for j, a in r.coeffs.items():
            if j in inj:
                v += a * (inj[j] - np.asarray(r.p_ref_kw.get(j, 0.0)))
        out[r.name] = v
    return out


def binding_rows(p: DispatchProblem, s: Schedule, tol: float = 1e-6) -> list[str]:
    """Network rows at or beyond their limit in some interval, e.g. ``"T1 upper (3 intervals, worst …)"``."""
    out = []
    for r in p.network:
        v = row_values(p, s)[r.name]
        for side, limit in (("upper", r.upper), ("lower", r.lower)):
            if not np.isfinite(limit):
                continue
            gap = (limit - v) if side == "upper" else (v - limit)
            hit = gap <= tol * max(1.0, abs(limit))
            if hit.any():
                worst = float(v[hit].max() if side == "upper" else v[hit].min())
                out.append(f"{r.name} {side} ({int(hit.sum())} intervals, worst {worst:.4g} vs limit {limit:.4g})")
    return out


_EMPTY_KPIS = Kpis(*([0.0] * 16))
