"""AC check of a schedule through the grid model, with tighten-and-re-solve.

The dispatcher's network rows are linear (:class:`~dispatch.problem.NetworkRow`); this
adapter calls :mod:`grid_models` (the park's pandapower / power-grid-model network):

1. solve; run the AC power flow of the schedule for every interval;
2. for each violated limit (line/transformer loading, bus voltage), add the linear row from
   the grid model's sensitivities at the operating point of its worst interval, or, when
   the row exists already, tighten its limit by the remaining AC overshoot plus a margin;
3. with ``grid_model``, re-linearise losses, reactive exchange and voltages around each
   interval's new operating point (:mod:`services.grid_linearisation`) and, with ``n_1``, the
   post-contingency flow rows; the loop also continues while the planned connection-point power
   differs from the AC slack power by more than ``exchange_tolerance_kw`` in some interval. From the
   second re-linearisation on, each device may move at most half as far as in the previous re-solve
   (a shrinking trust region): successive linear programs otherwise jump between two plans whose
   first-order models each favour the other;
4. re-solve, at most ``max_iterations`` times; report what was binding and what remains, with the
   residual exchange error of the last linearisation.

Import/export limits are exact in the model (power balance, with the linearised losses) and are not
re-checked here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from dispatch.problem import DispatchProblem, NetworkRow
from dispatch.schedule import Schedule
from dispatch.solver import Dispatcher
from grid_models import ParkNetwork, SeriesResult, sensitivities, timeseries, violations
from grid_models.results import Violation
from services.grid_linearisation import (
    contingency_rows,
    grid_linearisation,
    operating_point,
    reactive_injections,
)

CHECKED_KINDS = ("line_loading", "trafo_loading", "voltage_high", "voltage_low")


@dataclass
class AcCheckReport:
    """Outcome of the AC check loop."""

    iterations: int
    violations_first: list[Violation]
    violations_final: list[Violation]
    rows: list[NetworkRow] = field(default_factory=list)
    max_loading_percent: float = 0.0
    exchange_error_kw: float = 0.0  # max |planned connection-point power − AC slack power| of the final plan
    power_factor_intervals_first: int = 0  # intervals importing below the minimum power factor (AC)
    power_factor_intervals_final: int = 0
    islanding_outages: list[str] = field(default_factory=list)  # N-1 outages no flow limit can secure

    @property
    def ok(self) -> bool:
        return not self.violations_final


def schedule_injections(p: DispatchProblem, s: Schedule, pn: ParkNetwork) -> tuple[list[str], np.ndarray]:
    """(device ids, (T, D) injections in kW, generator convention) of every mapped device under ``s``."""
    return operating_point(p, pn, s)


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
    max_iterations: int = 6,
    margin: float = 0.5,
    *,
    grid_model: bool = False,
    n_1: bool = False,
    exchange_tolerance_kw: float = 1.0,
) -> tuple[Schedule, AcCheckReport]:
    """Solve ``p`` and make its schedule pass the AC power flow (see module doc).

    ``margin`` is added to each tightening, in the row's unit (percent loading or pu·100 for voltage).
    """
    p = dataclasses.replace(p, network=list(p.network))
    islanding: list[str] = []
    if grid_model:
        p.grid = grid_linearisation(p, pn)
    if n_1:
        p.contingency, islanding = contingency_rows(p, pn)
    s = dispatcher.solve(p)
    res, found = _ac(p, s, pn)
    first, pf_first = found, _pf_intervals(res, pn)
    error = _exchange_error(s, res)
    iterations = 0
    step: float | None = None
    while (found or (grid_model and error > exchange_tolerance_kw)) and iterations < max_iterations:
        if s.status == "fallback":
            break
        iterations += 1
        rows = {r.name: r for r in p.network}
        worst: dict[str, Violation] = {}
        for v in found:
            key = f"{v.kind}:{v.element}"
            if key not in worst or v.margin < worst[key].margin:
                worst[key] = v
        ids, inj = schedule_injections(p, s, pn)
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
        if grid_model:
            p.grid = dataclasses.replace(grid_linearisation(p, pn, s), step_kw=step)
        if n_1:
            p.contingency, islanding = contingency_rows(p, pn, s)
        previous = s
        s = dispatcher.solve(p)
        step = _largest_move(previous, s) / 2
        res, found = _ac(p, s, pn)
        error = _exchange_error(s, res)
    max_loading = float(
        np.nanmax(np.concatenate([res.trafo_loading_percent.ravel(), res.line_loading_percent.ravel()]))
        if res.trafo_loading_percent.size + res.line_loading_percent.size
        else 0.0
    )
    report = AcCheckReport(
        iterations, first, found, list(p.network), max_loading, error, pf_first, _pf_intervals(res, pn), islanding
    )
    s.notes.append(
        f"AC check: {iterations} re-solve(s), {len(first)} violation(s) first, {len(found)} remaining"
        + (f"; planned exchange within {error:.1f} kW of the AC slack power" if grid_model else "")
    )
    for r in p.network:
        if not any(b.startswith(r.name) for b in s.network_binding):
            continue
        s.notes.append(f"binding network limit {r.name} (linearised row, right-hand side {r.upper:.4g})")
    return s, report


def _unit(kind: str) -> float:
    """Scale of the margin: loading rows are in percent, voltage rows in pu."""
    return 0.01 if kind.startswith("voltage") else 1.0


def ac_result(p: DispatchProblem, s: Schedule, pn: ParkNetwork, fast: bool = True) -> SeriesResult:
    """AC power flow of every interval of ``s``, with its dispatched reactive power (taps as stored) and
    switched capacitor banks' shunts at the chosen steps."""
    ids, inj = operating_point(p, pn, s)
    steps = {c: n for c, n in s.bank_steps.items() if np.any(n)}
    q = reactive_injections(p, pn, ids, inj, s)
    return timeseries(pn, ids, inj, q, fast=fast, shunt_steps=steps or None)


def planned_exchange_kw(s: Schedule) -> np.ndarray:
    """The plan's connection-point power: grid-mix import − export + green-contract deliveries [kW]."""
    return s.grid_kw + sum((c for c in s.contract_kw.values()), np.zeros(s.T))


def _ac(p: DispatchProblem, s: Schedule, pn: ParkNetwork) -> tuple[SeriesResult, list[Violation]]:
    res = ac_result(p, s, pn)
    return res, [v for v in violations(res, pn.limits) if v.kind in CHECKED_KINDS]


def _largest_move(a: Schedule, b: Schedule) -> float:
    """Largest change of any device's active or reactive setpoint between two plans [kW, kvar]."""
    moves = [0.0]
    for old, new in ((a.battery_p_kw, b.battery_p_kw), (a.gen_p_kw, b.gen_p_kw), (a.q_kvar, b.q_kvar)):
        moves += [float(np.max(np.abs(new[d] - old[d]), initial=0.0)) for d in new if d in old]
    moves += [float(np.max(np.abs(b.flex_kw[d] - a.flex_kw[d]), initial=0.0)) for d in b.flex_kw if d in a.flex_kw]
    return max(moves)


def _exchange_error(s: Schedule, res: SeriesResult) -> float:
    return float(np.nanmax(np.abs(planned_exchange_kw(s) - res.grid_exchange_kw)))


def _pf_intervals(res: SeriesResult, pn: ParkNetwork) -> int:
    return sum(1 for v in violations(res, pn.limits) if v.kind == "power_factor")
