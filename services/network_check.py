"""AC check of a schedule through the grid model, with tighten-and-re-solve.

The dispatcher's network rows are linear (:class:`~dispatch.problem.NetworkRow`); this
adapter calls :mod:`grid_models` (the park's pandapower / power-grid-model network):

1. solve; run the AC power flow of the schedule for every interval;
2. for each violated limit (line/transformer loading, bus voltage), add the linear row from
   the grid model's sensitivities at the operating point of its worst interval, or, when
   the row exists already, tighten its limit by the remaining AC overshoot plus a margin;
3. with ``grid_model``, re-linearise losses, reactive exchange and voltages around the best plan so
   far (:mod:`services.grid_linearisation`) and, with ``n_1``, the post-contingency flow rows; the
   loop also continues while the planned connection-point power differs from the AC slack power by
   more than ``exchange_tolerance_kw`` in some interval, or the AC power factor misses the minimum
   where the plan thought it met it (then the next linearisation aims higher by the miss);
4. re-solve within a trust region around the best plan, at most ``max_iterations`` times. A re-solve
   is accepted only when the AC result shows it better (:meth:`_Checked.better_than`: fewer violated
   limits; else at no more cost, fewer power-factor misses, a smaller exchange error); a rejected
   re-solve halves the region, as sequential linear programming with a trust region does, and its
   violations add no rows (they come from a move the region now forbids). Without a grid model there
   is no region: the rows of every plan's violations accumulate, and the best plan is returned;
5. return the best plan; report what was binding and what remains, with its residual exchange error.

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
    PF_MARGIN,
    contingency_rows,
    grid_linearisation,
    operating_point,
    reactive_injections,
)

CHECKED_KINDS = ("line_loading", "trafo_loading", "voltage_high", "voltage_low")
#: the plan's connection-point power may differ from the AC result by this much: the accuracy of a
#: class 0.2S revenue meter at 5 MW; the loop re-linearises while any interval is further off
EXCHANGE_TOLERANCE_KW = 10.0
SHED_KW = 1e-3  # an interval where the plan sheds more is left out of the exchange error
#: a re-solve costing this fraction more than the best plan so far (both at their AC connection-point power)
#: is accepted only if it removes a violation
COST_SLACK = 1e-3
PF_SHORT_KVAR = 1e-3  # a plan's power-factor shortfall above this is one it knows of [kvar]
PF_STEP_MAX = 0.02  # most the loop raises its power-factor aim per re-solve
PF_AIM_MAX = 0.05  # most the loop aims above the minimum power factor (0.95 earns the tariff's full bonus)


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


@dataclass
class _Checked:
    """A solved plan and what the AC power flow says of it."""

    s: Schedule
    res: SeriesResult
    found: list[Violation]  # violated limits the loop acts on (:data:`CHECKED_KINDS`), and failed power flows
    pf: list[Violation]  # intervals importing below the minimum power factor
    error_kw: float  # max |planned − AC| connection-point power
    shed_kwh: float  # load the plan sheds
    cost_cny: float  # the plan's cost with its connection-point power as the AC result has it

    def better_than(self, other: _Checked, tolerance_kw: float) -> bool:
        """Whether this plan should replace ``other`` as the loop's best: fewer violated limits (failed
        power flows count as violations); else, at no more than :data:`COST_SLACK` (+1 CNY, for plans
        costing nothing) higher cost (the power factor is held with reactive power, never
        by buying more energy, and a smaller first-order error is no reason to pay more), fewer
        power-factor misses, then a smaller exchange error beyond the tolerance [kW] (a plan further
        off cannot be taken at its word), less load shed [0.1 kWh], then a lower cost."""
        if len(self.found) != len(other.found):
            return len(self.found) < len(other.found)
        cost, other_cost = self.cost_cny, other.cost_cny
        if cost > other_cost + COST_SLACK * abs(other_cost) + 1.0:
            return False
        return self._rank(tolerance_kw) < other._rank(tolerance_kw)

    def _rank(self, tolerance_kw: float) -> tuple[float, ...]:
        excess = max(self.error_kw - tolerance_kw, 0.0)
        return (len(self.pf), round(excess), round(self.shed_kwh, 1), self.cost_cny)

    def unplanned_pf(self) -> list[Violation]:
        """Power-factor misses the plan did not know of: where it reports a shortfall, the linearised
        model found no reactive power left, and re-solving cannot help."""
        short = self.s.pf_shortfall_kvar
        return [v for v in self.pf if short is None or short[v.interval] <= PF_SHORT_KVAR]


def dispatch_with_ac_check(
    dispatcher: Dispatcher,
    p: DispatchProblem,
    pn: ParkNetwork,
    max_iterations: int = 6,
    margin: float = 0.5,
    *,
    grid_model: bool = False,
    n_1: bool = False,
    exchange_tolerance_kw: float = EXCHANGE_TOLERANCE_KW,
) -> tuple[Schedule, AcCheckReport]:
    """Solve ``p`` and make its schedule pass the AC power flow (see module doc).

    ``margin`` is added to each tightening, in the row's unit (percent loading or pu·100 for voltage).
    Returns the best plan the loop found (:meth:`_Checked.better_than`: fewest violations; then, at no
    more cost, power-factor misses, exchange error, shed load, cost), with the rows it was solved with.
    """
    p = dataclasses.replace(p, network=list(p.network))
    islanding: list[str] = []
    watch: tuple[str, ...] = ()
    pf_margin = PF_MARGIN
    if grid_model:
        p.grid = grid_linearisation(p, pn)
        watch = p.grid.bus_ids
    if n_1:
        p.contingency, islanding = contingency_rows(p, pn)
    tolerance = exchange_tolerance_kw if grid_model else float("inf")
    first = last = best = _check(p, dispatcher.solve(p), pn)
    best_rows = list(p.network)  # the rows the best plan was solved with (later ones may be tighter)
    iterations = 0
    step: float | None = None
    while not _converged(best, grid_model, exchange_tolerance_kw) and iterations < max_iterations:
        if best.s.status == "fallback":
            break  # nothing solved: the rule-based plan has no linearisation to improve
        iterations += 1
        # with a grid model, a rejected plan's violations come from a move the trust region now forbids;
        # without one there is no region, and the rows of every plan's violations accumulate
        if last is best or not grid_model:
            _tighten(p, pn, last, margin)
        if grid_model:
            pf_margin = min(pf_margin + _pf_gap(last), PF_AIM_MAX)
            lin = grid_linearisation(p, pn, best.s, keep_buses=watch, pf_margin=pf_margin)
            watch = lin.bus_ids
            p.grid = dataclasses.replace(lin, step_kw=step)
        if n_1:
            p.contingency, islanding = contingency_rows(p, pn, best.s)
        last = _check(p, dispatcher.solve(p), pn)
        move = _largest_move(best.s, last.s)
        if last.s.status != "fallback" and last.better_than(best, tolerance):
            best, best_rows = last, list(p.network)  # accepted: linearise at it next, with the same region
        elif move < 1.0:
            break  # the re-solve returned the best plan again: nothing left to improve
        else:  # rejected: the first-order model was wrong that far out; halve the region around the best
            step = max(min(step if step is not None else move, move) / 2, 1.0)
    s, res, found = best.s, best.res, best.found
    max_loading = float(
        np.nanmax(np.concatenate([res.trafo_loading_percent.ravel(), res.line_loading_percent.ravel()]))
        if res.trafo_loading_percent.size + res.line_loading_percent.size
        else 0.0
    )
    report = AcCheckReport(
        iterations,
        first.found,
        found,
        best_rows,
        max_loading,
        best.error_kw,
        len(first.pf),
        len(best.pf),
        islanding,
    )
    s.notes.append(
        f"AC check: {iterations} re-solve(s), {len(first.found)} violation(s) first, {len(found)} remaining"
        + (f"; planned exchange within {best.error_kw:.1f} kW of the AC slack power" if grid_model else "")
        + (f"; power factor below the minimum in {len(best.pf)} interval(s)" if best.pf else "")
    )
    for r in best_rows:
        if not any(b.startswith(r.name) for b in s.network_binding):
            continue
        s.notes.append(f"binding network limit {r.name} (linearised row, right-hand side {r.upper:.4g})")
    return s, report


def _check(p: DispatchProblem, s: Schedule, pn: ParkNetwork) -> _Checked:
    res = ac_result(p, s, pn)
    found = violations(res, pn.limits)
    shed = np.maximum(np.asarray(p.demand_kw, dtype=float) - p.shiftable_kw() - s.demand_kw, 0.0)
    return _Checked(
        s,
        res,
        [v for v in found if v.kind in CHECKED_KINDS or v.kind == "not_converged"],
        [v for v in found if v.kind == "power_factor"],
        _exchange_error(s, res, served=shed <= SHED_KW),
        float(shed.sum() * p.dt_h),
        _ac_cost(p, s, res, served=shed <= SHED_KW),
    )


def _ac_cost(p: DispatchProblem, s: Schedule, res: SeriesResult, served: np.ndarray) -> float:
    """The plan's cost corrected by what the AC result shows at the connection point: each interval's
    exchange priced at the import or export price as its sign says, and the demand charge on the peak.
    Plans linearised at different operating points are compared by this, not by their own first-order
    cost. Where the AC flow failed or the plan sheds load, the planned exchange stands."""

    def priced(x: np.ndarray) -> float:
        imp, exp = np.maximum(x, 0.0), np.maximum(-x, 0.0)
        energy = np.sum(np.asarray(p.import_price, float) * imp - np.asarray(p.export_price, float) * exp)
        peak = max(float(x.max(initial=0.0)), p.peak_import_so_far_kw)
        return float(energy) * p.dt_h + p.demand_charge_cny_per_kw_month * peak

    planned = planned_exchange_kw(s)
    ac = np.asarray(res.grid_exchange_kw, dtype=float)
    actual = np.where(served & np.isfinite(ac), ac, planned)
    return s.kpis.cost_cny + priced(actual) - priced(planned)


def _converged(c: _Checked, grid_model: bool, tolerance_kw: float) -> bool:
    """No violated limit and, with a grid model, the exchange within tolerance and no power-factor miss
    the plan did not know of."""
    if c.found:
        return False
    return not grid_model or (c.error_kw <= tolerance_kw and not c.unplanned_pf())


def _pf_gap(c: _Checked) -> float:
    """How far the AC power factor fell below the minimum where the plan thought it met it (0 if
    nowhere), at most :data:`PF_STEP_MAX`: the next linearisation aims that much higher."""
    return min(max((v.limit - v.value for v in c.unplanned_pf()), default=0.0), PF_STEP_MAX)


def _tighten(p: DispatchProblem, pn: ParkNetwork, c: _Checked, margin: float) -> None:
    """Add a linear row for each violated limit of ``c`` at its worst interval, or tighten the row by the
    remaining overshoot plus ``margin``."""
    rows = {r.name: r for r in p.network}
    worst: dict[str, Violation] = {}
    for v in c.found:
        key = f"{v.kind}:{v.element}"
        if key not in worst or v.margin < worst[key].margin:
            worst[key] = v
    ids, inj = schedule_injections(p, c.s, pn)
    for key, v in worst.items():
        over = -v.margin
        if key in rows:
            r = rows[key]
            rows[key] = dataclasses.replace(r, upper=r.upper - over - margin * _unit(v.kind))
            continue
        op = dict(zip(ids, inj[v.interval].tolist(), strict=True))
        sens = sensitivities(pn, op, device_ids=ids)
        for row in sens.constraint_rows(voltage=v.kind.startswith("voltage")):
            if row.kind == v.kind and row.element == v.element:
                rows[key] = _row(p, sens.device_ids, row.coeffs, row.rhs - margin * _unit(v.kind), key)
    p.network = list(rows.values())


def _unit(kind: str) -> float:
    """Scale of the margin: loading rows are in percent, voltage rows in pu."""
    return 0.01 if kind.startswith("voltage") else 1.0


def ac_result(p: DispatchProblem, s: Schedule, pn: ParkNetwork, fast: bool = True) -> SeriesResult:
    """AC power flow of every interval of ``s``, with its dispatched reactive power, switched capacitor
    banks' shunts at the chosen steps and on-load tap changers holding their deadbands (the taps the
    plan will meet; the linearisation is taken at the stored taps, and the loop corrects the rest)."""
    ids, inj = operating_point(p, pn, s)
    steps = {c: n for c, n in s.bank_steps.items() if np.any(n)}
    q = reactive_injections(p, pn, ids, inj, s)
    return timeseries(pn, ids, inj, q, fast=fast, shunt_steps=steps or None, control_taps=pn.oltc is not None)


def planned_exchange_kw(s: Schedule) -> np.ndarray:
    """The plan's connection-point power: grid-mix import − export + green-contract deliveries [kW]."""
    return s.grid_kw + sum((c for c in s.contract_kw.values()), np.zeros(s.T))


def _largest_move(a: Schedule, b: Schedule) -> float:
    """Largest change of any device's active or reactive setpoint between two plans [kW, kvar]."""
    moves = [0.0]
    for old, new in ((a.battery_p_kw, b.battery_p_kw), (a.gen_p_kw, b.gen_p_kw), (a.q_kvar, b.q_kvar)):
        moves += [float(np.max(np.abs(new[d] - old[d]), initial=0.0)) for d in new if d in old]
    moves += [float(np.max(np.abs(b.flex_kw[d] - a.flex_kw[d]), initial=0.0)) for d in b.flex_kw if d in a.flex_kw]
    moves += [
        float(np.max(np.abs(b.direct_kw[d] - a.direct_kw[d]), initial=0.0)) for d in b.direct_kw if d in a.direct_kw
    ]
    return max(moves)


def _exchange_error(s: Schedule, res: SeriesResult, served: np.ndarray) -> float:
    """Max |planned − AC| connection-point power over the intervals where the plan sheds no load (the AC
    check runs the forecast loads, so where it sheds the difference is the shed load, not an error)."""
    diff = np.abs(planned_exchange_kw(s) - res.grid_exchange_kw)[served]
    return float(np.nanmax(diff)) if diff.size else 0.0
