"""Sets and mutable parameters of the dispatch model, and loading a problem into them.

All numbers are mutable :class:`pyomo.environ.Param` so that a persistent solver
only receives changed coefficients and bounds on a re-solve (MPC).
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from dispatch.model.penalties import slack_scale, soft_penalties
from dispatch.model.shape import ModelShape
from dispatch.model.terminal import terminal_value
from dispatch.problem import DispatchProblem

BIG = 1e9  # stands for "unbounded" in mutable bounds (HiGHS treats >= 1e20 as infinite; keep numerics sane)


def _param(*index: object) -> pyo.Param:
    return pyo.Param(*index, mutable=True, initialize=0.0, within=pyo.Reals)


def add_parameters(m: pyo.ConcreteModel, shape: ModelShape) -> None:
    """Declare the sets and parameters of ``shape`` on ``m``."""
    m.shape = shape
    m.T = pyo.RangeSet(0, shape.T - 1)
    m.B = pyo.Set(initialize=shape.batteries, ordered=True)
    m.G = pyo.Set(initialize=shape.generators, ordered=True)
    m.K = pyo.Set(initialize=shape.contracts, ordered=True)
    m.KB = pyo.RangeSet(0, shape.contract_blocks - 1)
    m.D = pyo.Set(initialize=shape.direct, ordered=True)
    m.F = pyo.Set(initialize=shape.flex, ordered=True)
    m.FB = pyo.RangeSet(0, shape.flex_blocks - 1)
    m.R = pyo.Set(initialize=shape.network_rows, ordered=True)
    m.J = pyo.Set(initialize=shape.controllable, ordered=True)

    m.dt_h = _param()
    m.demand = _param(m.T)
    m.price = _param(m.T)
    m.export_price = _param(m.T)
    m.ef = _param(m.T)
    m.import_limit = _param()
    m.export_limit = _param()
    m.demand_charge = _param()
    m.peak_so_far = _param()
    m.peak_margin = _param(m.T)
    m.carbon_price = _param()

    m.e_max = _param(m.B)
    m.e_lo = _param(m.B)
    m.e_hi = _param(m.B)
    m.e0 = _param(m.B)
    m.e_re0 = _param(m.B)  # local RE part of e0 [kWh] (dispatch.model.origin)
    m.e_target = _param(m.B)
    m.e_value = _param(m.B)  # terminal value of stored energy [CNY/kWh stored]
    m.pc_max = _param(m.B)
    m.pd_max = _param(m.B)
    m.eta_c = _param(m.B)
    m.inv_eta_d = _param(m.B)
    m.eta_d = _param(m.B)
    m.keep = _param(m.B)
    m.rt_loss = _param(m.B)  # round-trip loss fraction 1 − η_c·η_d
    m.throughput_cost = _param(m.B)

    m.avail = _param(m.G, m.T)

    m.contract_price = _param(m.K)
    m.contract_cap = _param(m.K, m.T)
    m.contract_in_block = _param(m.K, m.KB, m.T)
    m.contract_e_min = _param(m.K, m.KB)
    m.contract_e_max = _param(m.K, m.KB)

    m.direct_price = _param(m.D)
    m.direct_avail = _param(m.D, m.T)

    m.flex_cap = _param(m.F, m.T)
    m.flex_in_block = _param(m.F, m.FB, m.T)
    m.flex_e = _param(m.F, m.FB)

    m.net_coeff = _param(m.R, m.J)
    m.net_base = _param(m.R, m.T)
    m.net_upper = _param(m.R)
    m.net_lower = _param(m.R)
    m.net_scale = _param(m.R)  # row units per kW of slack

    m.pen_terminal = _param()
    m.pen_contract = _param()
    m.pen_network = _param()
    m.pen_step = _param()
    m.pen_shed = _param()
    m.pen_soc = _param()
    m.re_bound = _param()  # stage-2 bound on the local RE lost [kWh]; BIG when inactive


def _set(param: pyo.Param, values: dict) -> None:
    param.store_values(values, check=False)


def _series(param: pyo.Param, arr: np.ndarray, *prefix: object) -> None:
    values = np.asarray(arr, dtype=float).tolist()
    if prefix:
        _set(param, {(*prefix, t): v for t, v in enumerate(values)})
    else:
        _set(param, dict(enumerate(values)))


def load_parameters(m: pyo.ConcreteModel, p: DispatchProblem) -> None:
    """Write the numbers of ``p`` into the parameters declared here (``dispatch.model.load_problem``
    adds the families that declare their own)."""
    shape: ModelShape = m.shape
    T = shape.T
    m.dt_h.value = p.dt_h
    shift = p.shiftable_kw()
    _series(m.demand, np.asarray(p.demand_kw) - shift)
    _series(m.price, p.import_price)
    _series(m.export_price, p.export_price)
    _series(m.ef, p.ef_kg_per_kwh)
    m.import_limit.value = p.import_limit_kw
    m.export_limit.value = p.export_limit_kw
    m.demand_charge.value = p.demand_charge_cny_per_kw_month
    m.peak_so_far.value = p.peak_import_so_far_kw
    _series(m.peak_margin, np.broadcast_to(np.asarray(p.peak_margin_kw, dtype=float), (T,)))
    m.carbon_price.value = p.carbon_price_cny_per_kg

    for b in p.batteries:
        m.e_max[b.id] = b.e_kwh
        m.e_lo[b.id] = b.soc_min * b.e_kwh
        m.e_hi[b.id] = b.soc_max * b.e_kwh
        m.e0[b.id] = b.soc0 * b.e_kwh
        m.e_re0[b.id] = b.e_re0_kwh
        m.e_target[b.id] = (b.soc_terminal or 0.0) * b.e_kwh
        m.e_value[b.id] = terminal_value(p, b) if b.soc_terminal is None else 0.0
        m.pc_max[b.id] = b.p_charge_max_kw
        m.pd_max[b.id] = b.p_discharge_max_kw
        m.eta_c[b.id] = b.eta_charge
        m.inv_eta_d[b.id] = 1.0 / b.eta_discharge
        m.eta_d[b.id] = b.eta_discharge
        m.keep[b.id] = (1.0 - b.self_discharge_per_h) ** p.dt_h
        m.rt_loss[b.id] = 1.0 - b.eta_charge * b.eta_discharge
        m.throughput_cost[b.id] = b.throughput_cost_cny_per_kwh

    for g in p.generators:
        _series(m.avail, g.avail_kw, g.id)

    for c in p.contracts:
        m.contract_price[c.id] = c.price_cny_per_kwh
        _series(m.contract_cap, c.cap_kw, c.id)
        member, lo, hi = {}, {}, {}
        for j in range(shape.contract_blocks):
            blk = c.blocks[j] if j < len(c.blocks) else None
            for t in range(T):
                member[(c.id, j, t)] = 1.0 if blk is not None and blk.t0 <= t < blk.t1 else 0.0
            lo[(c.id, j)] = blk.e_min_kwh if blk is not None else 0.0
            hi[(c.id, j)] = blk.e_max_kwh if blk is not None else BIG
        _set(m.contract_in_block, member)
        _set(m.contract_e_min, lo)
        _set(m.contract_e_max, hi)

    for d in p.direct:
        m.direct_price[d.id] = d.price_cny_per_kwh
        _series(m.direct_avail, np.minimum(d.avail_kw, d.capacity_kw), d.id)

    for f in p.flex:
        _series(m.flex_cap, np.where(f.window, f.p_max_kw, 0.0), f.id)
        member, energy = {}, {}
        for j in range(shape.flex_blocks):
            blk = f.blocks[j] if j < len(f.blocks) else None
            for t in range(T):
                member[(f.id, j, t)] = 1.0 if blk is not None and blk.t0 <= t < blk.t1 else 0.0
            energy[(f.id, j)] = blk.e_min_kwh if blk is not None else 0.0
        _set(m.flex_in_block, member)
        _set(m.flex_e, energy)

    for r in p.network:
        base = np.asarray(r.base, dtype=float).copy()
        for dev in shape.controllable:
            a = float(r.coeffs.get(dev, 0.0))
            m.net_coeff[r.name, dev] = a
            if a and dev in r.p_ref_kw:
                base -= a * np.asarray(r.p_ref_kw[dev], dtype=float)
        _series(m.net_base, base, r.name)
        m.net_upper[r.name] = min(r.upper, BIG)
        m.net_lower[r.name] = max(r.lower, -BIG)
        m.net_scale[r.name] = slack_scale(r.coeffs)

    pen = soft_penalties(p)
    m.pen_terminal.value = pen.terminal_cny_per_kwh
    m.pen_contract.value = pen.contract_cny_per_kwh
    m.pen_network.value = pen.network_cny_per_kwh
    m.pen_step.value = pen.step_cny_per_kwh
    m.pen_shed.value = pen.shed_cny_per_kwh
    m.pen_soc.value = pen.soc_cny_per_kwh
    m.re_bound.value = BIG
