"""The dispatch problem: plain dataclasses of numbers and per-interval arrays.

Everything the optimiser and the rule-based controller need is here; nothing
refers to the park file, HTTP or SQL. :mod:`dispatch.from_park` builds a
problem from a :class:`ems.park.Park` plus forecasts.

Units: powers kW, energies kWh, prices CNY/kWh, emission factors kgCO2/kWh,
interval length ``dt_h`` hours. Arrays have one entry per interval (length ``T``),
intervals labelled by their start (UTC).

Demand is given as *consumption* (positive kW), not in the terminal sign convention,
because it is a quantity of the balance, not a device reading; the schedule reports
device powers in the project convention (battery > 0 discharging, grid > 0 importing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class BatterySpec:
    """A battery. SOC fractions 0..1; ``soc0`` is the measured SOC at the horizon start.

    ``e_re0_kwh``: the local renewable part of the energy stored at the horizon start [kWh, 0..soc0·E],
    carried from the previous plan's executed intervals (:func:`dispatch.re_origin.re_content_kwh`); the
    rest of the stored energy counts as grid energy (:mod:`dispatch.model.origin`).

    ``soc_terminal``: an explicit end-of-horizon target (soft); None values the stored energy
    instead (:mod:`dispatch.model.terminal`)."""

    id: str
    e_kwh: float
    p_charge_max_kw: float
    p_discharge_max_kw: float
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    self_discharge_per_h: float = 0.0
    soc_min: float = 0.1
    soc_max: float = 0.95
    soc0: float = 0.5
    soc_terminal: float | None = None
    throughput_cost_cny_per_kwh: float = 0.0
    e_re0_kwh: float = 0.0


@dataclass(frozen=True)
class GeneratorSpec:
    """A local PV plant or wind turbine group; ``avail_kw`` is the forecast available output."""

    id: str
    kind: str  # "pv" | "wind"
    avail_kw: np.ndarray


@dataclass(frozen=True)
class EnergyBlock:
    """An energy band over intervals ``t0 <= t < t1`` [kWh]: ``e_min <= Σ p·dt <= e_max``."""

    t0: int
    t1: int
    e_min_kwh: float
    e_max_kwh: float


@dataclass(frozen=True)
class ContractSpec:
    """A green-power trading contract: per-interval cap and energy bands per settlement period."""

    id: str
    price_cny_per_kwh: float
    cap_kw: np.ndarray
    blocks: tuple[EnergyBlock, ...] = ()


@dataclass(frozen=True)
class DirectGreenSpec:
    """A direct green connection: the off-site plant's available profile limited by line capacity."""

    id: str
    price_cny_per_kwh: float
    avail_kw: np.ndarray
    capacity_kw: float


@dataclass(frozen=True)
class FlexLoadSpec:
    """Shiftable energy of a load: within ``window`` (bool per interval) it may run at ``0..p_max_kw``.

    ``baseline_kw`` is the part of the demand forecast that is shiftable (already included
    in :attr:`DispatchProblem.demand_kw`); the model removes it and schedules the energy of
    each block freely inside the window instead.
    """

    id: str
    p_max_kw: float
    window: np.ndarray
    baseline_kw: np.ndarray
    blocks: tuple[EnergyBlock, ...] = ()


@dataclass(frozen=True)
class NetworkRow:
    """One linearised network limit: ``lower <= base + Σ_j coeff_j · (p_j − p_ref_j) <= upper``.

    ``coeffs`` maps controllable device ids (battery, generator, flexible load, direct
    green connection) to d(quantity)/d(injection) per kW in the project sign convention
    (injection positive). ``base`` is the quantity (e.g. loading in percent) at the
    reference injections ``p_ref_kw`` (per device, per interval; missing = 0).
    """

    name: str
    coeffs: dict[str, float]
    base: np.ndarray
    upper: float
    lower: float = -np.inf
    p_ref_kw: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ReactiveCapability:
    """An inverter whose reactive power the dispatcher sets (a battery, generator or direct line id).

    Capability as in the grid model's inverter model (``grid_models.reactive.capability_kvar``):
    ``|Q| <= q_max_kvar`` and ``P² + Q² <= s_kva²`` (:mod:`dispatch.model.reactive`)."""

    id: str
    s_kva: float
    q_max_kvar: float


@dataclass(frozen=True)
class CapacitorBank:
    """A switched capacitor bank: ``steps`` equal steps of ``step_kvar`` at 1 pu; the dispatcher chooses
    the steps in per interval (integer, :mod:`dispatch.model.reactive`). ``max_operations_per_day``
    caps the steps switched in or out in any 24 hours of the plan, counting from ``steps_in_service``
    at its start (None: no cap)."""

    id: str
    step_kvar: float
    steps: int
    max_operations_per_day: int | None = None
    steps_in_service: int = 0


@dataclass(frozen=True)
class GridLinearisation:
    """First-order AC model of the network around one operating point per interval (prepared in
    ``services/`` from the grid model; dispatch never sees the network itself).

    With ``Δp_j = inj_j − p_ref_kw[j]`` (controllable injection, kW) and ``Δq_i = q_i − q_ref_kvar[i]``
    (dispatched reactive power, kvar, injection positive), per interval ``t``:

    * losses ``loss_kw + Σ_j loss_dp[j]·Δp_j`` [kW], added to the demand side of the balance;
    * reactive exchange at the connection point ``exchange_kvar + Σ_j kvar_dp[j]·Δp_j + Σ_i kvar_dq[i]·Δq_i``;
    * bus voltages ``vm_pu[:, b] + Σ_j vm_dp[j][:, b]·Δp_j + Σ_i vm_dq[i][:, b]·Δq_i`` within
      ``v_min_pu[b]..v_max_pu[b]`` (pu of the bus's modelled voltage).

    Arrays over intervals are (T,), voltages (T, B). ``min_power_factor`` (0 = none) applies to
    every interval (:mod:`dispatch.model.reactive`). ``step_kw`` bounds the move away from the
    operating point, where the first-order model holds (:mod:`dispatch.model.losses`).
    """

    p_ref_kw: dict[str, np.ndarray]
    q_ref_kvar: dict[str, np.ndarray]
    loss_kw: np.ndarray
    loss_dp: dict[str, np.ndarray]
    exchange_kvar: np.ndarray
    kvar_dp: dict[str, np.ndarray]
    kvar_dq: dict[str, np.ndarray]
    bus_ids: tuple[str, ...]
    vm_pu: np.ndarray
    vm_dp: dict[str, np.ndarray]
    vm_dq: dict[str, np.ndarray]
    v_min_pu: np.ndarray
    v_max_pu: np.ndarray
    min_power_factor: float
    step_kw: float | None = None  # trust region: |Δp_j|, |Δq_i| <= step_kw (the AC loop shrinks it)


@dataclass(frozen=True)
class Penalties:
    """Prices of the economic soft terms and floor of the terminal-target price [CNY per kWh]; the other
    soft constraints are priced from the problem (:mod:`dispatch.model.penalties`)."""

    terminal_soc_cny_per_kwh: float = 2.0
    contract_shortfall_cny_per_kwh: float = 2.0


@dataclass
class DispatchProblem:
    """All inputs of one dispatch horizon."""

    start: dt.datetime
    dt_h: float
    demand_kw: np.ndarray
    import_price: np.ndarray
    export_price: np.ndarray
    ef_kg_per_kwh: np.ndarray
    import_limit_kw: float
    export_limit_kw: float
    batteries: list[BatterySpec] = field(default_factory=list)
    generators: list[GeneratorSpec] = field(default_factory=list)
    contracts: list[ContractSpec] = field(default_factory=list)
    direct: list[DirectGreenSpec] = field(default_factory=list)
    flex: list[FlexLoadSpec] = field(default_factory=list)
    network: list[NetworkRow] = field(default_factory=list)
    demand_charge_cny_per_kw_month: float = 0.0
    peak_import_so_far_kw: float = 0.0
    # safety margin per interval (or one for all) [kW]: the plan keeps the billed import this far below the
    # peak it pays for, against forecast errors (ems.forecast.peak_margin; docs/dispatch.md)
    peak_margin_kw: float | np.ndarray = 0.0
    # whether real-time control lets the batteries absorb forecast errors (holding the planned grid exchange, as
    # entrypoints/operate/guard.py and services/annual.py do): then their unplanned headroom covers the margin
    peak_margin_from_batteries: bool = False
    carbon_price_cny_per_kg: float = 0.0
    penalties: Penalties = field(default_factory=Penalties)
    ef_source: str = "input"
    loads_kw: dict[str, np.ndarray] = field(default_factory=dict)  # per load device (AC check), consumption
    reactive: list[ReactiveCapability] = field(default_factory=list)
    banks: list[CapacitorBank] = field(default_factory=list)  # switched capacitor banks (need ``grid``)
    grid: GridLinearisation | None = None  # losses, reactive exchange and voltages (services/)
    contingency: list[NetworkRow] = field(default_factory=list)  # N-1 post-contingency flow rows

    @property
    def T(self) -> int:
        return len(self.demand_kw)

    @property
    def times(self) -> np.ndarray:
        """Interval starts, UTC ``datetime64[us]``."""
        start = np.datetime64(self.start.astimezone(dt.UTC).replace(tzinfo=None), "us")
        step = np.timedelta64(round(self.dt_h * 3_600_000_000), "us")
        return start + step * np.arange(self.T)

    def shiftable_kw(self) -> np.ndarray:
        """Shiftable baseline included in the demand forecast [kW]."""
        out = np.zeros(self.T)
        for f in self.flex:
            out += f.baseline_kw
        return out


def check_problem(p: DispatchProblem) -> list[str]:
    """Every data problem found in ``p`` (empty = usable). Never raises."""
    problems: list[str] = []
    T = p.T
    if T == 0:
        problems.append("empty horizon")
    if not p.dt_h > 0:
        problems.append(f"dt_h must be positive, got {p.dt_h}")
    arrays: list[tuple[str, np.ndarray]] = [
        ("demand_kw", p.demand_kw),
        ("import_price", p.import_price),
        ("export_price", p.export_price),
        ("ef_kg_per_kwh", p.ef_kg_per_kwh),
    ]
    arrays += [(f"generator {g.id} avail_kw", g.avail_kw) for g in p.generators]
    arrays += [(f"contract {c.id} cap_kw", c.cap_kw) for c in p.contracts]
    arrays += [(f"direct {d.id} avail_kw", d.avail_kw) for d in p.direct]
    arrays += [(f"flex {f.id} baseline_kw", f.baseline_kw) for f in p.flex]
    arrays += [(f"network {r.name} base", r.base) for r in p.network]
    arrays += [(f"contingency {r.name} base", r.base) for r in p.contingency]
    for name, a in arrays:
        a = np.asarray(a)
        if a.shape != (T,):
            problems.append(f"{name}: shape {a.shape}, expected ({T},)")
        elif not np.all(np.isfinite(a)):
            problems.append(f"{name}: {int(np.sum(~np.isfinite(a)))} non-finite values")
    non_negative = {"demand_kw", "ef_kg_per_kwh"} | {
        n for n, _ in arrays if not n.startswith(("network", "contingency", "import", "export"))
    }
    for name, a in arrays:  # prices and network/contingency bases may be negative
        a = np.asarray(a)
        if name in non_negative and a.shape == (T,) and np.any(a < 0):
            problems.append(f"{name}: {int(np.sum(a < 0))} negative values")
    for b in p.batteries:
        problems += [f"battery {b.id}: {msg}" for msg in _battery_problems(b)]
    for c in p.contracts:
        problems += [f"contract {c.id}: {msg}" for msg in _block_problems(c.blocks, T)]
    for f in p.flex:
        problems += [f"flex {f.id}: {msg}" for msg in _block_problems(f.blocks, T)]
        window = np.asarray(f.window, dtype=bool)
        if window.shape != (T,):
            problems.append(f"flex {f.id}: window shape {window.shape}, expected ({T},)")
            continue
        for i, blk in enumerate(f.blocks):
            room = f.p_max_kw * p.dt_h * float(window[blk.t0 : blk.t1].sum())
            if blk.e_min_kwh > room + 1e-9:
                problems.append(f"flex {f.id}: block {i} needs {blk.e_min_kwh:g} kWh, its window allows {room:g}")
    for cb in p.banks:
        if not (cb.step_kvar > 0 and cb.steps >= 1):
            problems.append(f"capacitor bank {cb.id}: step {cb.step_kvar} kvar, {cb.steps} steps")
    ids = {b.id for b in p.batteries} | {g.id for g in p.generators} | {d.id for d in p.direct}
    for rc in p.reactive:
        if rc.id not in ids:
            problems.append(f"reactive {rc.id}: not a battery, generator or direct line of the problem")
        if not (rc.s_kva > 0 and rc.q_max_kvar >= 0):
            problems.append(f"reactive {rc.id}: capability s {rc.s_kva} kVA, q_max {rc.q_max_kvar} kvar")
    if p.grid is not None:
        g = p.grid
        shapes: list[tuple[str, np.ndarray, tuple[int, ...]]] = [
            ("loss_kw", g.loss_kw, (T,)),
            ("exchange_kvar", g.exchange_kvar, (T,)),
            ("vm_pu", g.vm_pu, (T, len(g.bus_ids))),
        ]
        for name, a, want in shapes:
            if np.shape(a) != want:
                problems.append(f"grid linearisation {name}: shape {np.shape(a)}, expected {want}")
            elif not np.all(np.isfinite(np.asarray(a, float))):
                problems.append(f"grid linearisation {name}: non-finite values")
    for r in [*p.network, *p.contingency]:
        if not r.lower <= r.upper:
            problems.append(f"network {r.name}: lower limit {r.lower} above upper limit {r.upper}")
    if not (p.import_limit_kw >= 0 and p.export_limit_kw >= 0):
        problems.append(f"grid limits must be >= 0, got import {p.import_limit_kw}, export {p.export_limit_kw}")
    if not p.demand_charge_cny_per_kw_month >= 0 or not p.peak_import_so_far_kw >= 0:
        problems.append("demand charge and peak import so far must be >= 0")
    margin = np.asarray(p.peak_margin_kw, dtype=float)
    if margin.shape not in ((), (T,)):
        problems.append(f"peak_margin_kw: shape {margin.shape}, expected () or ({T},)")
    elif not (np.all(np.isfinite(margin)) and np.all(margin >= 0)):
        problems.append("peak_margin_kw must be finite and >= 0")
    return problems


def _battery_problems(b: BatterySpec) -> list[str]:
    out = []
    if not (b.e_kwh > 0 and b.p_charge_max_kw >= 0 and b.p_discharge_max_kw >= 0):
        out.append(
            f"non-positive rating (e_kwh {b.e_kwh}, p_charge {b.p_charge_max_kw}, p_discharge {b.p_discharge_max_kw})"
        )
    if not (0 < b.eta_charge <= 1 and 0 < b.eta_discharge <= 1):
        out.append(f"efficiency outside (0, 1] (charge {b.eta_charge}, discharge {b.eta_discharge})")
    if not 0 <= b.self_discharge_per_h < 1:
        out.append(f"self-discharge {b.self_discharge_per_h} per h outside [0, 1)")
    if not np.isfinite(b.soc0):
        out.append("start SOC is not finite")
    elif not 0 <= b.soc0 <= 1:
        out.append(f"start SOC {b.soc0} outside [0, 1]")
    elif not 0 <= b.e_re0_kwh <= b.soc0 * b.e_kwh * (1 + 1e-9):
        out.append(f"renewable content at the start {b.e_re0_kwh} kWh outside [0, stored {b.soc0 * b.e_kwh:g} kWh]")
    if not 0 <= b.soc_min < b.soc_max <= 1:
        out.append(f"SOC band [{b.soc_min}, {b.soc_max}] not within 0 <= min < max <= 1")
    if b.soc_terminal is not None and not 0 <= b.soc_terminal <= 1:
        out.append(f"terminal SOC {b.soc_terminal} outside [0, 1]")
    if not b.throughput_cost_cny_per_kwh >= 0:
        out.append(f"throughput cost {b.throughput_cost_cny_per_kwh} must be >= 0")
    return out


def _block_problems(blocks: tuple[EnergyBlock, ...], T: int) -> list[str]:
    out = []
    for i, blk in enumerate(blocks):
        if not 0 <= blk.t0 < blk.t1 <= T:
            out.append(f"block {i}: intervals [{blk.t0}, {blk.t1}) outside the horizon of {T}")
        if not 0 <= blk.e_min_kwh <= blk.e_max_kwh:
            out.append(f"block {i}: energy band [{blk.e_min_kwh}, {blk.e_max_kwh}] kWh not 0 <= min <= max")
    return out
