"""A planned year checked by operation: the portfolio built into a copy of the park, run through the
closed-loop annual simulation (:func:`services.annual.simulate_year`: forecasts, the MPC, the plant),
and its indicators computed by ``ems.carbon`` from the simulated meters.

The sizing LP operates the portfolio with perfect foresight at hourly resolution; the park will be run
by the MPC on forecasts at 15 minutes. The difference is the **gap** the report shows next to the plan.

What goes into the park copy (appended after the existing devices, so the synthetic weather and the
existing devices' outputs stay exactly those the plan saw):

* new PV per bus ``pv:BUS`` -> one :class:`~ems.park.PvPlant` on that bus (AC rating, DC/AC ratio and
  performance ratio of the options); new wind -> one :class:`~ems.park.WindTurbine` with the existing
  turbines' power curve; new storage -> one :class:`~ems.park.Battery` with the plan's efficiencies,
  SOC window and self-discharge; a new direct line -> a :class:`~ems.park.DirectGreenConnection` with
  its green-connection meter on the grid-connection bus;
* loads scaled by the year's load growth; every battery starts the year at its floor, as in the plan
  (an empty storage pool: ``ems.carbon`` would otherwise count the opening charge as grid energy).

Market products are not physical: the plan's contract deliveries (flat per settlement month, time
matched) and certificates are applied as the same claims to the simulated meters, so the check
measures what operation changes. An electrolyser is not a park device type yet: a plan that builds
one is refused here with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ems.carbon.accounting import Accounts, MarketClaims, VolumeBlock, account
from ems.carbon.flows import flows_from_energy
from ems.carbon.indicators import Indicators
from ems.carbon.matching import energytag_hourly
from ems.carbon.run import storage_params
from ems.park import Battery, Device, DirectGreenConnection, Gateway, Load, Meter, Park, PvPlant, WindTurbine
from services.annual import SimulationConfig, SimulationResult, simulate_year
from services.pathway.check import indicators_of
from services.pathway.data import year_start
from services.pathway.options import PlanOptions
from services.pathway.pathway import YearPlan

PLANNED = Gateway(gateway_id="pathway-plan")  # planned devices have no field connection yet
_MIN_KW = 0.5  # smaller capacities are solver noise, not something to build


@dataclass(frozen=True)
class IntervalEnergyArrays:
    """Device energies per interval, shaped like ``Store.interval_energy`` (what ``ems.carbon`` reads)."""

    starts: np.ndarray
    devices: list[str]
    e_out_kwh: np.ndarray
    e_in_kwh: np.ndarray
    coverage: np.ndarray


@dataclass(frozen=True)
class OperationCheck:
    year: int
    days: int
    park: Park  # the park copy with the portfolio built
    simulation: SimulationResult
    indicators: Indicators  # ems.carbon, from the simulated meters and the plan's claims
    hourly_matching: Decimal | None
    grid_mix_mwh: float  # simulated grid import without contract deliveries
    curtailed_mwh: float

    def gap(self, plan: YearPlan) -> dict[str, str | None]:
        """Operation minus plan for each indicator both have (exact decimals)."""
        out: dict[str, str | None] = {}
        p = plan.indicators
        for key in ("co2_t", "intensity_t_per_tce", "clean_share", "direct_green_share"):
            a, b = getattr(self.indicators, key), getattr(p, key) if p else None
            out[key] = None if a is None or b is None else str(a - b)
        a, b = self.hourly_matching, plan.hourly_matching
        out["hourly_matching"] = None if a is None or b is None else str(a - b)
        return out


def park_with_portfolio(park: Park, plan: YearPlan, options: PlanOptions, growth: float = 1.0) -> Park:
    """A copy of ``park`` with the year's total new capacity built (module docstring)."""
    cap = {k: v for k, v in plan.result.capacity.items() if v >= _MIN_KW}
    if "electrolyser_kw" in cap:
        raise ValueError("the plan builds an electrolyser, which the annual simulation cannot run yet")
    d = plan.data
    new: list[Device] = []
    pv = options.technologies.pv
    for name, kw in sorted(cap.items()):
        if name.startswith("pv:"):
            bus = name.removeprefix("pv:")
            assert pv is not None  # a pv candidate exists only with the pv option
            new.append(
                PvPlant(
                    id=f"PLAN_PV_{bus}",
                    name=f"planned PV on {bus}",
                    bus=bus,
                    connection=PLANNED,
                    p_rated_kw=kw,
                    dc_kwp=kw * pv.dc_ac_ratio,
                    performance_ratio=pv.performance_ratio,
                )
            )
    grid_bus = park.network.buses[0].id if not park.grid_meter else park.grid_meter.bus
    if "wind" in cap:
        turbines = park.devices_of("wind")
        curve = turbines[0].power_curve if turbines else WindTurbine.model_fields["power_curve"].default
        new.append(
            WindTurbine(
                id="PLAN_WIND",
                name="planned wind",
                bus=turbines[0].bus if turbines else grid_bus,
                connection=PLANNED,
                p_rated_kw=cap["wind"],
                power_curve=curve,
            )
        )
    e_kwh, p_kw = cap.get("battery_kwh", 0.0), cap.get("battery_kw", 0.0)
    if e_kwh >= _MIN_KW and p_kw >= _MIN_KW:
        bats = park.devices_of("battery")
        new.append(
            Battery(
                id="PLAN_BESS",
                name="planned storage",
                bus=bats[0].bus if bats else grid_bus,
                connection=PLANNED,
                e_rated_kwh=e_kwh,
                p_charge_max_kw=p_kw,
                p_discharge_max_kw=p_kw,
                eta_charge=d.eta_charge,
                eta_discharge=d.eta_discharge,
                self_discharge_per_h=1.0 - d.keep_per_h,
                soc_min=d.soc_min,
                soc_max=d.soc_max,
                soc_initial=d.soc_min,  # the plan starts every year at the floor
                throughput_cost_cny_per_kwh=d.throughput_cny_per_kwh,
            )
        )
    green = park.green
    if "direct_kw" in cap:
        line = options.technologies.direct_line
        assert line is not None
        new.append(
            Meter(
                id="PLAN_M_DIRECT",
                bus=grid_bus,
                connection=PLANNED,
                role="green_connection",
                p_rated_kw=cap["direct_kw"],
            )
        )
        conn = DirectGreenConnection(
            id="PLAN_DIRECT",
            plant="planned off-site plant",
            technology=line.technology,  # type: ignore[arg-type]
            capacity_kw=cap["direct_kw"],
            plant_p_rated_kw=cap["direct_kw"],
            price_cny_per_kwh=line.price_cny_per_kwh,
            bus=grid_bus,
            meter="PLAN_M_DIRECT",
        )
        green = green.model_copy(update={"direct_connections": [*green.direct_connections, conn]})
    devices = [_as_planned(d, growth) for d in park.devices]
    # validated as a park file would be (buses exist, meters referenced, ids unique)
    data = park.model_dump()
    data.update(devices=[x.model_dump() for x in [*devices, *new]], green=green.model_dump())
    return Park.model_validate(data)


def _as_planned(d: Device, growth: float) -> Device:
    if isinstance(d, Load):
        return d.model_copy(update={"p_peak_kw": d.p_peak_kw * growth})
    if isinstance(d, Battery):  # the plan starts the year with every battery at its floor (empty pool)
        return d.model_copy(update={"soc_initial": d.soc_min})
    return d


def _meters(park: Park, r: SimulationResult) -> IntervalEnergyArrays:
    """The simulated year as metered device energies (generator convention: out = injected into the park)."""
    s = r.optimised
    h = s.dt_h
    n = len(s.times)
    rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    zero = np.zeros(n)
    grid = park.network.grid_connection.meter or (park.grid_meter.id if park.grid_meter else "")
    contracts = sum(s.contract_kw.values(), zero)  # the park's contract deliveries arrive through the grid meter
    rows[grid] = ((s.grid_import_kw + contracts) * h, s.grid_export_kw * h)
    for g, avail in s.gen_avail_kw.items():
        rows[g] = ((avail - s.curtail_kw.get(g, zero)) * h, zero)
    for b in s.battery_charge_kw:
        rows[b] = (s.battery_discharge_kw[b] * h, s.battery_charge_kw[b] * h)
    for c in park.green.direct_connections:
        if c.meter:
            rows[c.meter] = (s.direct_kw.get(c.id, zero) * h, zero)
    ids = list(rows)
    return IntervalEnergyArrays(
        starts=np.asarray(s.times, dtype="datetime64[us]"),
        devices=ids,
        e_out_kwh=np.array([rows[i][0] for i in ids]),
        e_in_kwh=np.array([rows[i][1] for i in ids]),
        coverage=np.ones((len(ids), n)),
    )


def _plan_claims(plan: YearPlan, n: int, per_hour: int, h: float) -> MarketClaims:
    """The plan's contract deliveries (hourly kW, flat) per interval, and its certificates."""
    contract = np.repeat(plan.result.flows.contract_kw, per_hour)[:n] * h
    blocks = []
    if plan.result.certificates_kwh > 0:
        blocks.append(VolumeBlock(0, n, plan.result.certificates_kwh, ("plan:certificates",), "certificate"))
    return MarketClaims(contract, [], blocks)


def operation_accounts(park: Park, plan: YearPlan, sim: SimulationResult) -> Accounts:
    flows, _ = flows_from_energy(park, _meters(park, sim), with_loads=False)
    n = len(flows.starts)
    per_hour = 60 // park.interval_minutes
    c = plan.data.carbon
    return account(
        flows,
        np.full(n, float(c.grid_kg_per_kwh)),
        np.full(n, float(c.residual_kg_per_kwh)),
        _plan_claims(plan, n, per_hour, park.interval_minutes / 60.0),
        storage_params(park),
    )


def check_by_operation(
    park: Park, plan: YearPlan, options: PlanOptions, *, growth: float = 1.0, replan_minutes: int = 60
) -> OperationCheck:
    """Build ``plan``'s portfolio into ``park`` and run it through the annual simulation over the days
    the plan covers (same synthetic weather: ``options.weather_year`` and ``options.seed``)."""
    hours = plan.data.T
    if not (plan.data.weight == 1.0).all() or hours % 24:
        raise ValueError("the operation check needs a plan on whole chronological days (not representative days)")
    built = park_with_portfolio(park, plan, options, growth)
    cfg = SimulationConfig(
        start=year_start(park, options.weather_year),
        days=hours // 24,
        seed=options.seed,
        replan_minutes=replan_minutes,
    )
    sim = simulate_year(built, cfg)
    acc = operation_accounts(built, plan, sim)
    ind = indicators_of(acc, plan.result.data, park.carbon, options.other_fuels)
    s = sim.optimised
    h = s.dt_h
    grid_mix_kwh = float(s.grid_import_kw.sum() * h)  # the grid meter less the simulated contract deliveries
    return OperationCheck(
        year=plan.year,
        days=cfg.days,
        park=built,
        simulation=sim,
        indicators=ind,
        hourly_matching=energytag_hourly(acc, park.timezone).cfe_score,
        grid_mix_mwh=grid_mix_kwh / 1000.0,
        curtailed_mwh=float(sum(x.sum() for x in s.curtail_kw.values()) * h) / 1000.0,
    )


def operation_dict(check: OperationCheck, plan: YearPlan) -> dict[str, object]:
    """The report section: the simulated year's indicators, the gap to the plan, the simulation's KPIs."""
    k = check.simulation.kpis
    return {
        "days_simulated": check.days,
        "indicators": check.indicators.as_dict(),
        "hourly_matching_energytag": None if check.hourly_matching is None else str(check.hourly_matching),
        "gap_operation_minus_plan": check.gap(plan),
        "grid_mix_mwh": f"{check.grid_mix_mwh:.3f}",
        "curtailed_mwh": f"{check.curtailed_mwh:.3f}",
        "mpc_cost_cny": f"{k.cost_cny:.2f}",
        "fallbacks": dict(check.simulation.fallbacks),
        "devices_added": [d.id for d in check.park.devices if d.id.startswith("PLAN_")],
        "method": "portfolio built into a copy of the park; services.annual.simulate_year (forecasts, MPC, "
        "plant); ems.carbon accounts the simulated meters with the plan's contract and certificate claims",
    }
