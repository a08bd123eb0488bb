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
    """A battery. SOC fractions 0..1; ``soc0`` is the measured SOC at the horizon start."""

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

    @property
    def terminal_target(self) -> float:
        """Terminal SOC target; defaults to the start SOC clipped into the allowed band."""
        if self.soc_terminal is not None:
            return self.soc_terminal
        return min(max(self.soc0, self.soc_min), self.soc_max)


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
class Penalties:
    """Penalty prices of the soft constraints [CNY per kWh, or per unit·h for network slack]."""

    terminal_soc_cny_per_kwh: float = 2.0
    contract_shortfall_cny_per_kwh: float = 2.0
    network_slack_cny_per_unit_h: float = 1000.0


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
    carbon_price_cny_per_kg: float = 0.0
    penalties: Penalties = field(default_factory=Penalties)
    ef_source: str = "input"
    loads_kw: dict[str, np.ndarray] = field(default_factory=dict)  # per load device (AC check), consumption

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
    for name, a in arrays:
        a = np.asarray(a)
        if a.shape != (T,):
            problems.append(f"{name}: shape {a.shape}, expected ({T},)")
        elif not np.all(np.isfinite(a)):
            problems.append(f"{name}: {int(np.sum(~np.isfinite(a)))} non-finite values")
    for name, a in arrays[:1] + arrays[4:8]:
        a = np.asarray(a)
        if a.shape == (T,) and np.any(a < 0):
            problems.append(f"{name}: negative values")
    for b in p.batteries:
        if b.e_kwh <= 0 or b.p_charge_max_kw < 0 or b.p_discharge_max_kw < 0:
            problems.append(f"battery {b.id}: non-positive rating")
        if not 0 < b.eta_charge <= 1 or not 0 < b.eta_discharge <= 1:
            problems.append(f"battery {b.id}: efficiency outside (0, 1]")
        if not np.isfinite(b.soc0):
            problems.append(f"battery {b.id}: start SOC is not finite")
    if p.import_limit_kw < 0 or p.export_limit_kw < 0:
        problems.append("grid limits must be >= 0")
    return problems
