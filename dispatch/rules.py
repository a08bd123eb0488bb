"""Rule-based schedule: the comparison baseline and the fallback when optimisation fails.

What a simple self-consumption controller does, interval by interval:

1. local PV/wind serves the demand (flexible loads run at their baseline);
2. surplus charges the batteries, then is exported up to the export limit, and the rest
   is curtailed (anti-backflow), in proportion to each plant's available output;
3. a deficit is covered by the direct green line (when cheaper than grid-mix), then the
   green contract at the rate that meets its minimum volume evenly, then batteries
   discharge in intervals priced above the horizon mean, then grid-mix import;
4. TOU arbitrage: in the cheapest intervals of the horizon, batteries charge from the grid
   within the import limit when ``p_low / (η_c·η_d) + throughput cost < p_high``.

Inputs are sanitised first (non-finite values → 0, wrong lengths padded/truncated) so this
never fails; the notes say what was repaired.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dispatch.problem import DispatchProblem
from dispatch.results import binding_rows
from dispatch.schedule import Kpis, Schedule, compute_kpis

_EPS = 1e-9


def _clean(a: object, T: int, name: str, notes: list[str]) -> np.ndarray:
    arr = np.asarray(a, dtype=float).ravel()
    if arr.shape != (T,):
        notes.append(f"{name}: length {arr.size} repaired to {T}")
        arr = np.resize(arr, T) if arr.size else np.zeros(T)
    if not np.all(np.isfinite(arr)):
        notes.append(f"{name}: non-finite values replaced by 0")
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    return arr


def sanitise(p: DispatchProblem) -> tuple[DispatchProblem, list[str]]:
    """A copy of ``p`` with finite arrays of the right length (non-finite → 0) and the repairs made."""
    notes: list[str] = []
    T = p.T
    rep = dataclasses.replace

    def c(a: object, name: str, lo: float | None = None) -> np.ndarray:
        arr = _clean(a, T, name, notes)
        return np.maximum(arr, lo) if lo is not None else arr

    q = rep(
        p,
        dt_h=p.dt_h if p.dt_h > 0 else 0.25,
        demand_kw=c(p.demand_kw, "demand_kw", 0.0),
        import_price=c(p.import_price, "import_price"),
        export_price=c(p.export_price, "export_price"),
        ef_kg_per_kwh=c(p.ef_kg_per_kwh, "ef_kg_per_kwh", 0.0),
        generators=[rep(g, avail_kw=c(g.avail_kw, f"{g.id} avail_kw", 0.0)) for g in p.generators],
        contracts=[rep(k, cap_kw=c(k.cap_kw, f"{k.id} cap_kw", 0.0)) for k in p.contracts],
        direct=[rep(d, avail_kw=c(d.avail_kw, f"{d.id} avail_kw", 0.0)) for d in p.direct],
        flex=[
            rep(f, baseline_kw=c(f.baseline_kw, f"{f.id} baseline_kw", 0.0), window=np.resize(f.window, T))
            for f in p.flex
        ],
        network=[rep(r, base=c(r.base, f"network {r.name} base")) for r in p.network],
        batteries=[rep(b, soc0=b.soc0 if np.isfinite(b.soc0) else b.soc_min) for b in p.batteries],
    )
    return q, notes


def rule_based_schedule(p: DispatchProblem) -> Schedule:
    """The baseline schedule of ``p`` (status ``"baseline"``)."""
    p, notes = sanitise(p)
    T, h = p.T, p.dt_h
    demand = np.asarray(p.demand_kw)
    price = np.asarray(p.import_price)
    avail = {g.id: np.asarray(g.avail_kw) for g in p.generators}
    direct_av = {d.id: np.minimum(d.avail_kw, d.capacity_kw) for d in p.direct}
    contract_rate = {}
    for c in p.contracts:
        rate = np.zeros(T)
        for blk in c.blocks:
            n = max(blk.t1 - blk.t0, 1)
            rate[blk.t0 : blk.t1] = blk.e_min_kwh / (n * h)
        contract_rate[c.id] = np.minimum(rate, c.cap_kw)

    total_avail = sum(avail.values(), np.zeros(T))
    e = {b.id: b.soc0 * b.e_kwh for b in p.batteries}
    keep = {b.id: (1.0 - b.self_discharge_per_h) ** h for b in p.batteries}
    charge = {b.id: np.zeros(T) for b in p.batteries}
    discharge = {b.id: np.zeros(T) for b in p.batteries}
    soc = {b.id: np.zeros(T) for b in p.batteries}
    imp, exp, curt_total = np.zeros(T), np.zeros(T), np.zeros(T)
    contract = {c.id: np.zeros(T) for c in p.contracts}
    direct = {d.id: np.zeros(T) for d in p.direct}
    mean_price = float(price.mean()) if T else 0.0
    low, high = (float(price.min()), float(price.max())) if T else (0.0, 0.0)

    for t in range(T):
        net = total_avail[t] - demand[t]
        if net >= 0:
            for b in p.batteries:
                room = max(0.0, b.soc_max * b.e_kwh - keep[b.id] * e[b.id]) / (b.eta_charge * h)
                pc = min(net, b.p_charge_max_kw, room)
                charge[b.id][t] = pc
                net -= pc
            exp[t] = min(net, p.export_limit_kw)
            curt_total[t] = net - exp[t]
        else:
            deficit = -net
            for d in p.direct:
                if d.price_cny_per_kwh < price[t]:
                    take = min(direct_av[d.id][t], deficit)
                    direct[d.id][t] = take
                    deficit -= take
            taken = 0.0  # contract deliveries share the connection point with grid-mix import
            for c in p.contracts:
                take = min(contract_rate[c.id][t], deficit, p.import_limit_kw - taken)
                contract[c.id][t] = take
                deficit -= take
                taken += take
            room_kw = p.import_limit_kw - taken
            for b in p.batteries:
                must = deficit > room_kw  # discharge at any price rather than overload the connection
                if price[t] > mean_price + _EPS or must:
                    avail_e = max(0.0, keep[b.id] * e[b.id] - b.soc_min * b.e_kwh) * b.eta_discharge / h
                    need = deficit if price[t] > mean_price + _EPS else deficit - room_kw
                    pd = min(need, b.p_discharge_max_kw, avail_e)
                    discharge[b.id][t] = pd
                    deficit -= pd
            imp[t] = deficit
            if price[t] <= low + _EPS:
                for b in p.batteries:
                    eff = b.eta_charge * b.eta_discharge
                    if low / eff + b.throughput_cost_cny_per_kwh < high - _EPS:
                        room = max(0.0, b.soc_max * b.e_kwh - keep[b.id] * e[b.id]) / (b.eta_charge * h)
                        pc = max(0.0, min(b.p_charge_max_kw, room, p.import_limit_kw - imp[t] - taken))
                        charge[b.id][t] = pc
                        imp[t] += pc
        for b in p.batteries:
            e[b.id] = keep[b.id] * e[b.id] + h * (b.eta_charge * charge[b.id][t] - discharge[b.id][t] / b.eta_discharge)
            soc[b.id][t] = e[b.id] / b.e_kwh
    through = imp + sum(contract.values(), np.zeros(T))
    over = int(np.sum(through > p.import_limit_kw + 1e-6))
    if over:
        notes.append(f"import limit {p.import_limit_kw:g} kW exceeded in {over} intervals")

    share = np.divide(curt_total, total_avail, out=np.zeros(T), where=total_avail > _EPS)
    s = Schedule(
        start=p.start,
        dt_h=h,
        times=p.times,
        method="rule_based",
        status="baseline",
        objective_mode="rule_based",
        solver_status="not solved",
        fallback_reason=None,
        demand_kw=demand - p.shiftable_kw(),
        flex_kw={f.id: np.asarray(f.baseline_kw, dtype=float) for f in p.flex},
        battery_charge_kw=charge,
        battery_discharge_kw=discharge,
        soc0={b.id: b.soc0 for b in p.batteries},
        soc=soc,
        gen_avail_kw=avail,
        curtail_kw={g: a * share for g, a in avail.items()},
        grid_import_kw=imp,
        grid_export_kw=exp,
        contract_kw=contract,
        direct_kw=direct,
        ef_kg_per_kwh=np.asarray(p.ef_kg_per_kwh),
        kpis=Kpis(*([0.0] * 16)),
        notes=notes,
    )
    s.kpis = compute_kpis(p, s)
    s.network_binding = binding_rows(p, s)
    return s
