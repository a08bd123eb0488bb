"""AC check of a schedule through the grid model, with tighten-and-re-solve.

The dispatcher's network rows are linear (:class:`~dispatch.problem.NetworkRow`); this
adapter calls :mod:`grid_models` (the park's pandapower / power-grid-model network):

1. solve; run the AC power flow of the schedule for every interval;
2. for each violated limit (line/transformer loading, bus voltage), add the linear row from
   the grid model's sensitivities at the operating point of its worst interval, or, when
   the row exists already, tighten its limit by the remaining AC overshoot plus a margin;
3. re-solve, at most ``max_iterations`` times; report what was binding and what remains.

Import/export limits are exact in the model (power balance) and are not re-checked here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from dispatch.problem import DispatchProblem, NetworkRow
from dispatch.schedule import Schedule
from dispatch.solver import Dispatcher
from grid_models import ParkNetwork, sensitivities, timeseries, violations
from grid_models.results import Violation

CHECKED_KINDS = ("line_loading", "trafo_loading", "voltage_high", "voltage_low")


@dataclass
class AcCheckReport:
    """Outcome of the AC check loop."""

    iterations: int
    violations_first: list[Violation]
    violations_final: list[Violation]
    rows: list[NetworkRow] = field(default_factory=list)
    max_loading_percent: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations_final


def schedule_injections(p: DispatchProblem, s: Schedule, pn: ParkNetwork) -> tuple[list[str], np.ndarray]:
    """(device ids, (T, D) injections in kW, generator convention) of every mapped device under ``s``."""
    inj: dict[str, np.ndarray] = {}
    inj.update(s.gen_p_kw)
    inj.update(s.battery_p_kw)
    inj.update(s.direct_kw)
    flex = {f.id: f for f in p.flex}
    for dev, load in p.loads_kw.items():
        cons = np.asarray(load, dtype=float)
        if dev in flex:
            cons = cons - flex[dev].baseline_kw + s.flex_kw[dev]
        inj[dev] = -cons
    ids = [d for d in pn.device_ids if d in inj]
    return ids, np.column_stack([inj[d] for d in ids]) if ids else np.zeros((s.T, 0))


def _row(p: DispatchProblem, sens_ids: list[str], coeffs: np.ndarray, rhs: float, name: str) -> NetworkRow:
    """``Σ a·p <= rhs`` over all devices, split into controllable terms and a per-interval base from loads."""
    controllable = {b.id for b in p.batteries} | {g.id for g in p.generators} | {d.id for d in p.direct}
    controllable |= {f.id for f in p.flex}
    flex = {f.id: f for f in p.flex}
    base = np.zeros(p.T)
    ctrl: dict[str, float] = {}
    for dev, a in zip(sens_ids, coeffs, strict=True):
        if dev in flex:
            ctrl[dev] = float(a)  # the model's flex injection is −x; the rest of the load is fixed
            base += a * -(np.asarray(p.loads_kw[dev]) - flex[dev].baseline_kw)
        elif dev in controllable:
            ctrl[dev] = float(a)
        elif dev in p.loads_kw:
            base += a * -np.asarray(p.loads_kw[dev])
    return NetworkRow(name, ctrl, base, upper=float(rhs))


def dispatch_with_ac_check(
    dispatcher: Dispatcher,
    p: DispatchProblem,
    pn: ParkNetwork,
    max_iterations: int = 4,
    margin: float = 0.5,
) -> tuple[Schedule, AcCheckReport]:
    """Solve ``p`` and make its schedule pass the AC power flow (see module doc).

    ``margin`` is added to each tightening, in the row's unit (percent loading or pu·100 for voltage).
    """
    p = dataclasses.replace(p, network=list(p.network))
    s = dispatcher.solve(p)
    ids, inj = schedule_injections(p, s, pn)
    found = _violations(pn, ids, inj)
    first = found
    iterations = 0
    while found and iterations < max_iterations and s.status != "fallback":
        iterations += 1
        rows = {r.name: r for r in p.network}
        worst: dict[str, Violation] = {}
        for v in found:
            key = f"{v.kind}:{v.element}"
            if key not in worst or v.margin < worst[key].margin:
                worst[key] = v
        for key, v in worst.items():
            over = -v.margin
            if key in rows:
                r = rows[key]
                rows[key] = dataclasses.replace(r, upper=r.upper - over - margin * _unit(v.kind))
                continue
            op = dict(zip(ids, inj[v.interval].tolist(), strict=True))
            sens = sensitivities(pn, op, device_ids=ids)
            for c in sens.constraint_rows(voltage=v.kind.startswith("voltage")):
                if c.kind == v.kind and c.element == v.element:
                    rows[key] = _row(p, sens.device_ids, c.coeffs, c.rhs - margin * _unit(v.kind), key)
        p.network = list(rows.values())
        s = dispatcher.solve(p)
        ids, inj = schedule_injections(p, s, pn)
        found = _violations(pn, ids, inj)
    res = timeseries(pn, ids, inj)
    max_loading = float(
        np.nanmax(np.concatenate([res.trafo_loading_percent.ravel(), res.line_loading_percent.ravel()]))
        if res.trafo_loading_percent.size + res.line_loading_percent.size
        else 0.0
    )
    report = AcCheckReport(iterations, first, found, list(p.network), max_loading)
    s.notes.append(f"AC check: {iterations} re-solve(s), {len(first)} violation(s) first, {len(found)} remaining")
    for r in p.network:
        if not any(b.startswith(r.name) for b in s.network_binding):
            continue
        s.notes.append(f"binding network limit {r.name} (linearised row, right-hand side {r.upper:.4g})")
    return s, report


def _unit(kind: str) -> float:
    """Scale of the margin: loading rows are in percent, voltage rows in pu."""
    return 0.01 if kind.startswith("voltage") else 1.0


def _violations(pn: ParkNetwork, ids: list[str], inj: np.ndarray) -> list[Violation]:
    res = timeseries(pn, ids, inj)
    return [v for v in violations(res, pn.limits) if v.kind in CHECKED_KINDS]
