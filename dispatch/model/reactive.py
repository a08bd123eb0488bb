"""Reactive power as a decision: inverter Q within its P–Q capability, the connection-point power
factor and the bus voltages, linearised around each interval's AC operating point.

* Capability (the grid model's inverter model, ``grid_models.reactive.capability_kvar``:
  ``|Q| <= min(q_max, sqrt(S² − P²))``): ``−q_max <= q <= q_max`` and the circle ``P² + Q² <= S²``
  as an inscribed regular polygon of :data:`SIDES` sides,
  ``cos θ_k·P + sin θ_k·Q <= S·cos(π/SIDES)``, ``θ_k = (2k+1)·π/SIDES`` — never outside the circle,
  at most ``1 − cos(π/SIDES)`` (1.9 %) inside it. Generators (``P >= 0``) need only the sides facing
  ``P > 0``.
* Reactive exchange ``qx[t] = qx_base[t] + Σ_j qx_dp[j,t]·inj[j,t] + Σ_i qx_dq[i,t]·q[i,t]``
  [kvar, + import]; active exchange ``px = imp − exp + Σ_k g``. Power factor ``>= pf_min`` while
  importing: ``±qx − tan(acos pf_min)·px <= s_pf`` (China's power-factor adjustment tariff
  threshold 0.90, ``grid_models.power_factor``), written for every interval: where the plan does
  not import, the shortfall ``s_pf`` only steers the reactive exchange towards 0.
* Trust region ``|q − q_ref| <= step`` as for the active injections (:mod:`dispatch.model.losses`).
* Voltages ``vm[b,t] = vm_base + Σ_j vm_dp·inj + Σ_i vm_dq·q`` within the bus band, slacks
  ``sv_up``/``sv_lo`` in kW-equivalents of the row scale ``vm_scale`` (as :mod:`dispatch.model.network`).

The voltage slacks cost the network penalty; ``|q|`` and, ten times heavier, the power-factor
shortfall ``s_pf`` [kvar] enter the flows tie-breaker (:mod:`dispatch.model.objective`): inverters
run at unity unless a limit needs reactive power, and the power factor is held with reactive power
only, never by curtailing RE or importing more.
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo

from dispatch.model.params import BIG, _param, _series
from dispatch.problem import DispatchProblem

SIDES = 16


def add_reactive_parameters(m: pyo.ConcreteModel) -> None:
    sh = m.shape
    m.QD = pyo.Set(initialize=sh.reactive, ordered=True)
    m.GB = pyo.Set(initialize=sh.grid_buses, ordered=True)
    m.q_s = _param(m.QD)
    m.q_cap = _param(m.QD)
    m.qx_base = _param(m.T)
    m.qx_dp = _param(m.JL, m.T)
    m.qx_dq = _param(m.QD, m.T)
    m.pf_tan = _param()
    m.pf_relax = _param()  # 0 with a power-factor limit, BIG without
    m.vm_base = _param(m.GB, m.T)
    m.vm_dp = _param(m.GB, m.JL, m.T)
    m.vm_dq = _param(m.GB, m.QD, m.T)
    m.vm_lo = _param(m.GB)
    m.vm_hi = _param(m.GB)
    m.vm_scale = _param()
    m.q_ref = _param(m.QD, m.T)
    m.CB = pyo.Set(initialize=sh.banks, ordered=True)
    m.bank_kvar = _param(m.CB)
    m.bank_steps = _param(m.CB)
    m.bank_n0 = _param(m.CB)  # steps in service at the start
    m.bank_ops_max = _param(m.CB)  # operations allowed in any 24 h (BIG: no cap)


def load_reactive(m: pyo.ConcreteModel, p: DispatchProblem) -> None:
    g = p.grid
    if g is None:
        return
    T = p.T
    zeros = np.zeros(T)
    caps = {r.id: r for r in p.reactive}
    banks = {c.id: c for c in p.banks}
    for c in m.CB:
        m.bank_kvar[c] = banks[c].step_kvar
        m.bank_steps[c] = banks[c].steps
        m.bank_n0[c] = banks[c].steps_in_service
        ops = banks[c].max_operations_per_day
        m.bank_ops_max[c] = BIG if ops is None else ops
    for i in m.QD:
        m.q_s[i] = caps[i].s_kva
        m.q_cap[i] = min(caps[i].q_max_kvar, caps[i].s_kva)
    qx = np.asarray(g.exchange_kvar, dtype=float).copy()
    vm = np.asarray(g.vm_pu, dtype=float).copy()  # (T, B)
    scale = []
    for j in m.JL:
        ref = np.asarray(g.p_ref_kw.get(j, zeros), dtype=float)
        a = np.asarray(g.kvar_dp.get(j, zeros), dtype=float)
        qx -= a * ref
        _series(m.qx_dp, a, j)
        dv = np.asarray(g.vm_dp[j], dtype=float) if j in g.vm_dp else np.zeros_like(vm)
        vm -= dv * ref[:, None]
        for b, bus in enumerate(g.bus_ids):
            _series(m.vm_dp, dv[:, b], bus, j)
        scale += [float(x) for x in np.abs(dv).max(axis=0) if x > 0]
    for i in m.QD:
        ref = np.asarray(g.q_ref_kvar.get(i, zeros), dtype=float)
        a = np.asarray(g.kvar_dq.get(i, zeros), dtype=float)
        qx -= a * ref
        _series(m.qx_dq, a, i)
        _series(m.q_ref, ref, i)
        dv = np.asarray(g.vm_dq[i], dtype=float) if i in g.vm_dq else np.zeros_like(vm)
        vm -= dv * ref[:, None]
        for b, bus in enumerate(g.bus_ids):
            _series(m.vm_dq, dv[:, b], bus, i)
    _series(m.qx_base, qx)
    for b, bus in enumerate(g.bus_ids):
        _series(m.vm_base, vm[:, b], bus)
        m.vm_lo[bus] = float(g.v_min_pu[b])
        m.vm_hi[bus] = float(g.v_max_pu[b])
    m.vm_scale.value = min(scale) if scale else 1.0
    pf = g.min_power_factor
    m.pf_tan.value = math.tan(math.acos(pf)) if pf > 0 else 0.0
    m.pf_relax.value = 0.0 if pf > 0 else BIG


def reactive_exchange(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
    """Linearised reactive power at the connection point [kvar, + import]; a bank step supplies its rating
    (first order: at 1 pu, the network's reactive losses unchanged; the AC check runs the real shunt)."""
    return (
        m.qx_base[t]
        + sum(m.qx_dp[j, t] * m.inj[j, t] for j in m.JL)
        + sum(m.qx_dq[i, t] * m.q[i, t] for i in m.QD)
        - sum(m.bank_kvar[c] * m.n_bank[c, t] for c in m.CB)
    )


def bus_voltage(m: pyo.ConcreteModel, b: str, t: int) -> pyo.Expression:
    """Linearised voltage magnitude of bus ``b`` [pu of its modelled voltage]."""
    return (
        m.vm_base[b, t]
        + sum(m.vm_dp[b, j, t] * m.inj[j, t] for j in m.JL)
        + sum(m.vm_dq[b, i, t] * m.q[i, t] for i in m.QD)
    )


def add_reactive(m: pyo.ConcreteModel) -> None:
    """Reactive setpoints, capability polygon, power factor and voltage rows (none without a linearisation)."""
    m.q = pyo.Var(m.QD, m.T, bounds=lambda m, i, t: (-m.q_cap[i], m.q_cap[i]))
    m.n_bank = pyo.Var(m.CB, m.T, within=pyo.NonNegativeIntegers)
    m.n_bank_max = pyo.Constraint(m.CB, m.T, rule=lambda m, c, t: m.n_bank[c, t] <= m.bank_steps[c])
    add_bank_operations(m)
    m.q_abs = pyo.Var(m.QD, m.T, within=pyo.NonNegativeReals)
    m.q_abs_pos = pyo.Constraint(m.QD, m.T, rule=lambda m, i, t: m.q_abs[i, t] >= m.q[i, t])
    m.q_abs_neg = pyo.Constraint(m.QD, m.T, rule=lambda m, i, t: m.q_abs[i, t] >= -m.q[i, t])
    m.q_step_up = pyo.Constraint(m.QD, m.T, rule=lambda m, i, t: m.q[i, t] - m.q_ref[i, t] <= m.step)
    m.q_step_down = pyo.Constraint(m.QD, m.T, rule=lambda m, i, t: m.q_ref[i, t] - m.q[i, t] <= m.step)
    inscribed = math.cos(math.pi / SIDES)
    angles = [(2 * k + 1) * math.pi / SIDES for k in range(SIDES)]

    def sides(i: str) -> list[int]:
        return [k for k, th in enumerate(angles) if i not in m.G or math.cos(th) > 0]

    m.QSIDE = pyo.Set(dimen=2, initialize=[(i, k) for i in m.QD for k in sides(i)])
    m.q_capability = pyo.Constraint(
        m.QSIDE,
        m.T,
        rule=lambda m, i, k, t: (
            math.cos(angles[k]) * m.inj[i, t] + math.sin(angles[k]) * m.q[i, t] <= inscribed * m.q_s[i]
        ),
    )
    m.TP = pyo.Set(initialize=list(m.T) if m.shape.grid_linear else [], ordered=True)
    m.s_pf = pyo.Var(m.TP, within=pyo.NonNegativeReals)

    def exchange_p(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
        return m.imp[t] - m.exp[t] + sum(m.g[k, t] for k in m.K)

    m.pf_upper = pyo.Constraint(
        m.TP,
        rule=lambda m, t: reactive_exchange(m, t) - m.pf_tan * exchange_p(m, t) - m.s_pf[t] <= m.pf_relax,
    )
    m.pf_lower = pyo.Constraint(
        m.TP,
        rule=lambda m, t: -reactive_exchange(m, t) - m.pf_tan * exchange_p(m, t) - m.s_pf[t] <= m.pf_relax,
    )
    m.sv_up = pyo.Var(m.GB, m.T, within=pyo.NonNegativeReals)
    m.sv_lo = pyo.Var(m.GB, m.T, within=pyo.NonNegativeReals)
    m.vm_upper = pyo.Constraint(
        m.GB, m.T, rule=lambda m, b, t: bus_voltage(m, b, t) - m.vm_scale * m.sv_up[b, t] <= m.vm_hi[b]
    )
    m.vm_lower = pyo.Constraint(
        m.GB, m.T, rule=lambda m, b, t: bus_voltage(m, b, t) + m.vm_scale * m.sv_lo[b, t] >= m.vm_lo[b]
    )


def add_bank_operations(m: pyo.ConcreteModel) -> None:
    """Switching operations of the capped banks: ``n[t] − n[t−1] = up[t] − down[t]`` (``n[−1]``: the steps
    in service), and in every window of 24 hours inside the horizon ``Σ (up + down) <= ops_max``. The
    sum bounds the steps actually switched, ``|n[t] − n[t−1]|``, from above."""
    window = m.shape.bank_window
    capped = list(m.CB) if window else []
    m.CBO = pyo.Set(initialize=capped, ordered=True)
    m.bank_up = pyo.Var(m.CBO, m.T, within=pyo.NonNegativeReals)
    m.bank_down = pyo.Var(m.CBO, m.T, within=pyo.NonNegativeReals)

    def switched(m: pyo.ConcreteModel, c: str, t: int) -> pyo.Expression:
        before = m.n_bank[c, t - 1] if t > 0 else m.bank_n0[c]
        return m.n_bank[c, t] - before == m.bank_up[c, t] - m.bank_down[c, t]

    m.bank_switched = pyo.Constraint(m.CBO, m.T, rule=switched)
    T = len(m.T)
    ends = range(min(window, T) - 1, T) if window else range(0)
    m.BANK_WINDOWS = pyo.Set(dimen=2, initialize=[(c, e) for c in capped for e in ends])
    m.bank_operations = pyo.Constraint(
        m.BANK_WINDOWS,
        rule=lambda m, c, e: (
            sum(m.bank_up[c, t] + m.bank_down[c, t] for t in range(max(0, e - window + 1), e + 1)) <= m.bank_ops_max[c]
        ),
    )
