"""The dispatch result: every decision per interval, supply mix, emissions and horizon KPIs.

Powers in kW in the project sign convention: ``battery_p_kw`` > 0 discharging,
``grid_kw`` > 0 importing. ``soc`` is the state of charge (0..1) at the *end* of each
interval; ``soc0`` the start value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from dispatch.problem import DispatchProblem
from dispatch.re_origin import carried_re_kwh, re_lost_kwh
from ems.store.schedules import ScheduleInterval, ScheduleRecord


@dataclass
class Kpis:
    """Horizon KPIs (floats; :meth:`as_report` converts money and carbon to Decimal)."""

    local_re_available_kwh: float
    local_re_consumed_kwh: float
    local_re_consumption_ratio: float
    green_share: float
    consumption_kwh: float
    grid_import_kwh: float
    grid_export_kwh: float
    curtailed_kwh: float
    green_kwh: float
    cost_cny: float
    energy_cost_cny: float
    demand_charge_cny: float
    carbon_cost_cny: float
    emissions_kg: float
    park_ef_kg_per_kwh: float
    peak_import_kw: float

    def as_report(self, ef_source: str) -> dict[str, object]:
        """Money (CNY, 2 dp) and carbon (kg, 1 dp) as Decimal, with the factor's provenance."""
        return {
            "local_re_consumption_ratio": round(float(self.local_re_consumption_ratio), 4),
            "green_share": round(float(self.green_share), 4),
            "cost_cny": _dec(self.cost_cny, "0.01"),
            "emissions_kgco2": _dec(self.emissions_kg, "0.1"),
            "park_ef_kgco2_per_kwh": _dec(self.park_ef_kg_per_kwh, "0.0001"),
            "peak_import_kw": round(float(self.peak_import_kw), 1),
            "grid_factor_source": ef_source,
        }


def _dec(x: float, quantum: str) -> Decimal:
    """A float as Decimal rounded to ``quantum`` (via its shortest repr, so 0.1 stays 0.1)."""
    return Decimal(repr(float(x))).quantize(Decimal(quantum))


@dataclass
class Schedule:
    """A dispatch plan (optimised, fallback or baseline) with its provenance."""

    start: dt.datetime
    dt_h: float
    times: np.ndarray
    method: str  # "milp" | "lp" | "rule_based"
    status: str  # "optimal" | "feasible" (time limit / gap) | "fallback" | "baseline"
    objective_mode: str  # "lexicographic" | "weighted(w=…)" | "rule_based"
    solver_status: str
    fallback_reason: str | None
    demand_kw: np.ndarray
    flex_kw: dict[str, np.ndarray]
    battery_charge_kw: dict[str, np.ndarray]
    battery_discharge_kw: dict[str, np.ndarray]
    soc0: dict[str, float]
    soc: dict[str, np.ndarray]
    gen_avail_kw: dict[str, np.ndarray]
    curtail_kw: dict[str, np.ndarray]
    grid_import_kw: np.ndarray
    grid_export_kw: np.ndarray
    contract_kw: dict[str, np.ndarray]
    direct_kw: dict[str, np.ndarray]
    ef_kg_per_kwh: np.ndarray
    kpis: Kpis
    network_binding: list[str] = field(default_factory=list)
    n_binaries: int = 0
    solve_time_s: float = 0.0
    mip_gap: float | None = None
    notes: list[str] = field(default_factory=list)
    q_kvar: dict[str, np.ndarray] = field(default_factory=dict)  # dispatched inverter Q, + injecting
    bank_steps: dict[str, np.ndarray] = field(default_factory=dict)  # switched capacitor banks' steps in
    loss_kw: np.ndarray | None = None  # linearised network losses served by the plan (None: lossless)
    #: per interval, reactive power the plan could not find to hold the minimum power factor [kvar]
    #: (linearised; None without a grid linearisation): where it is > 0 the plan knowingly misses
    pf_shortfall_kvar: np.ndarray | None = None

    @property
    def T(self) -> int:
        return len(self.times)

    @property
    def battery_p_kw(self) -> dict[str, np.ndarray]:
        """Battery terminal power, > 0 discharging [kW]."""
        return {b: self.battery_discharge_kw[b] - self.battery_charge_kw[b] for b in self.battery_charge_kw}

    @property
    def grid_kw(self) -> np.ndarray:
        """Connection-point power, > 0 importing [kW]."""
        return self.grid_import_kw - self.grid_export_kw

    @property
    def gen_p_kw(self) -> dict[str, np.ndarray]:
        """Injected local generation after curtailment [kW]."""
        return {g: self.gen_avail_kw[g] - self.curtail_kw[g] for g in self.gen_avail_kw}

    @property
    def consumption_kw(self) -> np.ndarray:
        """Load consumption incl. shifted flexible energy [kW, positive]."""
        return self.demand_kw + _sum(self.flex_kw, self.T)

    @property
    def local_re_kw(self) -> np.ndarray:
        """Local renewable output consumed in the park (injected minus exported) [kW]."""
        gen = _sum(self.gen_p_kw, self.T)
        return gen - np.minimum(self.grid_export_kw, gen)

    @property
    def green_kw(self) -> np.ndarray:
        """Off-site green supply: contracts plus direct lines [kW]."""
        return _sum(self.contract_kw, self.T) + _sum(self.direct_kw, self.T)

    @property
    def emissions_kg(self) -> np.ndarray:
        """Expected emissions of the plan's supply per interval: grid-mix import × grid factor [kgCO2].

        The dispatch's own figure, which its carbon price acts on: green contracts and direct lines count
        as zero-emission (their certificates travel with the energy) and the rest of the import carries
        the location-based grid factor. It is neither of the accounting's two methods: location-based
        counts the contracts' energy at the grid factor too, market-based prices the rest at the residual
        factor (``GET /v1/carbon/intensity/forecast`` gives both for a stored plan)."""
        return self.grid_import_kw * self.ef_kg_per_kwh * self.dt_h

    @property
    def park_ef_kg_per_kwh(self) -> np.ndarray:
        """The plan's emissions per kWh consumed, per interval (:attr:`emissions_kg` / consumption) [kgCO2/kWh]."""
        cons = self.consumption_kw * self.dt_h
        return np.divide(self.emissions_kg, cons, out=np.zeros(self.T), where=cons > 1e-9)

    def summary(self) -> dict[str, object]:
        """Plain-data header for logs, CLI and storage."""
        return {
            "start": self.start.isoformat(),
            "intervals": self.T,
            "dt_h": self.dt_h,
            "method": self.method,
            "status": self.status,
            "objective_mode": self.objective_mode,
            "solver_status": self.solver_status,
            "fallback_reason": self.fallback_reason,
            "n_binaries": self.n_binaries,
            "solve_time_s": round(self.solve_time_s, 4),
            "network_binding": self.network_binding,
            "notes": self.notes,
        }

    def to_record(self) -> ScheduleRecord:
        """The plain data the store persists: header, KPIs, summary, park totals and device decisions."""
        return ScheduleRecord(
            start=self.start,
            interval_minutes=round(self.dt_h * 60),
            method=self.method,
            status=self.status,
            objective_mode=self.objective_mode,
            solver_status=self.solver_status,
            fallback_reason=self.fallback_reason,
            solve_time_s=self.solve_time_s,
            kpis=dict(vars(self.kpis)),
            summary=self.summary(),
            intervals=self._intervals(),
        )

    def _intervals(self) -> list[ScheduleInterval]:
        curtail = _sum(self.curtail_kw, self.T)
        cons, local, green, em, ef = (
            self.consumption_kw,
            self.local_re_kw,
            self.green_kw,
            self.emissions_kg,
            self.park_ef_kg_per_kwh,
        )
        per_device: list[dict[str, dict[str, float]]] = [{} for _ in range(self.T)]
        for b, p in self.battery_p_kw.items():
            for t in range(self.T):
                per_device[t][b] = {"p_kw": float(p[t]), "soc": float(self.soc[b][t])}
        for group, key in (
            (self.gen_p_kw, "p_kw"),
            (self.curtail_kw, "curtail_kw"),
            (self.contract_kw, "p_kw"),
            (self.direct_kw, "p_kw"),
            (self.flex_kw, "p_kw"),
        ):
            for dev, vals in group.items():
                for t in range(self.T):
                    per_device[t].setdefault(dev, {})[key] = float(vals[t])
        return [
            ScheduleInterval(
                time=_utc(self.times[t]),
                grid_import_kw=float(self.grid_import_kw[t]),
                grid_export_kw=float(self.grid_export_kw[t]),
                local_re_kw=float(local[t]),
                green_kw=float(green[t]),
                curtail_kw=float(curtail[t]),
                consumption_kw=float(cons[t]),
                emissions_kg=float(em[t]),
                park_ef_kg_per_kwh=float(ef[t]),
                devices=per_device[t],
            )
            for t in range(self.T)
        ]


def _utc(t: np.datetime64) -> dt.datetime:
    us = int(np.asarray(t).astype("datetime64[us]").astype(np.int64))
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC)


def _sum(d: dict[str, np.ndarray], T: int) -> np.ndarray:
    out = np.zeros(T)
    for a in d.values():
        out = out + a
    return out


def compute_kpis(p: DispatchProblem, s: Schedule) -> Kpis:
    """KPIs of schedule ``s`` for problem ``p``, computed from the per-interval values.

    Local RE consumption ratio = 1 − RE lost / available local RE, the loss counted by origin as the
    objective counts it (:mod:`dispatch.re_origin`: curtailed, exported RE, storage losses of RE); the
    available local RE is the generation plus the deliverable RE stored at the start, ``Σ_b η_d·e_re0``
    (a plan's stored RE can be lost, so it counts as available; 0 unless carried from a previous plan);
    green share = (local RE consumed + contract + direct) / (that + grid-mix import);
    cost = Σ Δt·(price·imp − export_price·exp + green + throughput) + demand charge on the
    increase of the peak over ``peak_import_so_far_kw`` + carbon price × emissions.
    """
    h = p.dt_h
    T = p.T
    avail = _sum(s.gen_avail_kw, T).sum() * h + carried_re_kwh(p)
    curtailed = _sum(s.curtail_kw, T).sum() * h
    local_used = avail - re_lost_kwh(p, s)
    exported = s.grid_export_kw.sum() * h
    imported = s.grid_import_kw.sum() * h
    green = s.green_kw.sum() * h
    energy = float(np.sum((p.import_price * s.grid_import_kw - p.export_price * s.grid_export_kw) * h))
    energy += sum(c.price_cny_per_kwh * s.contract_kw[c.id].sum() * h for c in p.contracts)
    energy += sum(d.price_cny_per_kwh * s.direct_kw[d.id].sum() * h for d in p.direct)
    energy += sum(b.throughput_cost_cny_per_kwh * s.battery_discharge_kw[b.id].sum() * h for b in p.batteries)
    peak = float((s.grid_import_kw + _sum(s.contract_kw, T)).max()) if T else 0.0  # metered: incl. contracts
    demand_charge = p.demand_charge_cny_per_kw_month * max(0.0, peak - p.peak_import_so_far_kw)
    emissions = float(s.emissions_kg.sum())
    carbon_cost = p.carbon_price_cny_per_kg * emissions
    consumption = float(s.consumption_kw.sum() * h)
    supplied = local_used + green + imported
    return Kpis(
        local_re_available_kwh=float(avail),
        local_re_consumed_kwh=float(local_used),
        local_re_consumption_ratio=float(local_used / avail) if avail > 1e-9 else 1.0,
        green_share=float((local_used + green) / supplied) if supplied > 1e-9 else 0.0,
        consumption_kwh=consumption,
        grid_import_kwh=float(imported),
        grid_export_kwh=float(exported),
        curtailed_kwh=float(curtailed),
        green_kwh=float(green),
        cost_cny=energy + demand_charge + carbon_cost,
        energy_cost_cny=energy,
        demand_charge_cny=demand_charge,
        carbon_cost_cny=carbon_cost,
        emissions_kg=emissions,
        park_ef_kg_per_kwh=emissions / consumption if consumption > 1e-9 else 0.0,
        peak_import_kw=peak,
    )
