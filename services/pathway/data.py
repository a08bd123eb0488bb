"""The numbers of one sizing problem (dataclasses + numpy), built from the park file and the options.

Time series are hourly: the synthetic year the annual simulation uses
(:func:`ems.synthetic.synthesize_truth`, 15-min, averaged to hours) unless metered hours are given.
Each modelled hour ``t`` stands for ``weight[t]`` hours of the year (1 for the full year; the
number of days a representative day stands for, see :mod:`services.pathway.representative`).

Capital costs are annualised with the capital recovery factor
``CRF = r (1 + r)^n / ((1 + r)^n - 1)`` (``r`` discount rate, ``n`` lifetime in years; ``1/n`` at r = 0).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from dispatch.from_park import tou_prices
from ems.carbon.factors import FactorRegistry
from ems.carbon.run import default_residual_ref, storage_params
from ems.constants import PV_DC_AC_RATIO, PV_PERFORMANCE_RATIO
from ems.park import Battery, Park
from ems.parktime import local_datetimes
from ems.profiles import pv_power_kw
from ems.synthetic import ParkTruth, Weather, unit_output_kw, wind_output_kw
from services.annual import SimulationConfig, simulation_truth
from services.pathway.history import MeteredYear
from services.pathway.options import Investment, PlanOptions


def capital_recovery_factor(rate: Decimal, years: int) -> Decimal:
    """``r (1+r)^n / ((1+r)^n − 1)``; ``1/n`` when ``r = 0`` (exact decimal arithmetic)."""
    if rate == 0:
        return Decimal(1) / Decimal(years)
    g = (1 + rate) ** years
    return rate * g / (g - 1)


def annual_cost_per_unit(inv: Investment, rate: Decimal) -> Decimal:
    """Annualised capex plus fixed O&M per kW (or kWh) and year [CNY]."""
    return inv.capex_cny_per_unit * capital_recovery_factor(rate, inv.lifetime_years) + inv.fom_cny_per_unit_year


@dataclass(frozen=True)
class Candidate:
    """A capacity the model may add: name (``pv:BUS``, ``wind``, ``battery_kwh``, ``battery_kw``,
    ``direct_kw``, ``electrolyser_kw``), cost per unit and year, and bounds on the *total* new capacity."""

    name: str
    annual_cny_per_unit: Decimal
    lower: float = 0.0  # built in earlier pathway years (capacity is only ever added)
    upper: float | None = None


@dataclass(frozen=True)
class Carbon:
    """Factors and targets of the year (kgCO2/kWh; tCO2; tce)."""

    residual_ref: str
    residual_kg_per_kwh: Decimal
    residual_provenance: dict[str, object]
    grid_ref: str
    grid_kg_per_kwh: Decimal
    kgce_per_kwh: Decimal
    fuel_tce: Decimal
    fuel_tco2: Decimal
    intensity_target: Decimal | None
    clean_share_target: Decimal | None
    direct_share_target: Decimal | None
    budget_tco2: Decimal | None
    hourly_match_target: Decimal | None = None


@dataclass(frozen=True)
class SizingData:
    year: int
    starts: np.ndarray  # datetime64[us] UTC hour starts of the modelled hours
    weight: np.ndarray  # hours of the year each modelled hour stands for
    month: np.ndarray  # settlement month 0..11 of each modelled hour (demand charge, contracts)
    period_start: np.ndarray  # bool: storage starts at its floor here (start of the year / of a period)
    load_kw: np.ndarray
    price_cny_per_kwh: np.ndarray
    re_existing_kw: np.ndarray  # existing local PV + wind availability
    cf_pv: np.ndarray  # per kW AC of new PV
    cf_wind: np.ndarray
    cf_direct: np.ndarray  # per kW of a new direct line
    direct_existing_kw: np.ndarray
    direct_existing_price: float
    direct_new_price: float
    battery_kwh: float  # existing
    battery_kw: float
    eta_charge: float
    eta_discharge: float
    keep_per_h: float  # 1 - self-discharge per hour
    soc_min: float
    soc_max: float
    throughput_cny_per_kwh: float
    import_limit_kw: float
    export_limit_kw: float
    export_price: float
    demand_charge_cny_per_kw_month: float
    contract_price_cny_per_kwh: float
    contract_max_kwh_per_month: float
    certificate_price_cny_per_kwh: float
    certificate_max_kwh: float
    carbon_price_cny_per_kg: float
    electrolyser_kwh: float
    candidates: tuple[Candidate, ...]
    carbon: Carbon
    months_weight: np.ndarray  # calendar months each settlement month stands for
    year_hours: int  # 8760 or 8784

    @property
    def T(self) -> int:
        return len(self.load_kw)

    @property
    def horizon_share(self) -> float:
        """Share of the year the modelled hours stand for: annual costs, the certificate cap and the
        budget are scaled by it, so a cut horizon is a consistent (smaller) problem."""
        return float(self.weight.sum()) / self.year_hours

    @property
    def energy_kwh(self) -> float:
        """Annual electricity consumption K (loads plus electrolyser) [kWh]; fixed by the data."""
        return float(np.dot(self.weight, self.load_kw)) + self.electrolyser_kwh

    def candidate(self, name: str) -> Candidate | None:
        return next((c for c in self.candidates if c.name == name), None)

    def with_candidates(self, candidates: tuple[Candidate, ...]) -> SizingData:
        return dataclasses.replace(self, candidates=candidates)


def hourly(x: np.ndarray, per_hour: int) -> np.ndarray:
    """Hourly means of a series at ``per_hour`` intervals per hour."""
    return np.asarray(x, dtype=float).reshape(-1, per_hour).mean(axis=1)


def year_start(park: Park, year: int) -> dt.datetime:
    return dt.datetime(year, 1, 1, tzinfo=park.tz).astimezone(dt.UTC)


def sizing_data(
    park: Park,
    options: PlanOptions,
    registry: FactorRegistry | None = None,
    *,
    year: int | None = None,
    hours: int | None = None,
    metered: MeteredYear | None = None,
) -> SizingData:
    """The problem for the park's synthetic year (``options.weather_year``) at hourly resolution.

    ``hours`` cuts the year to its first hours (tests, quick sweeps); ``year`` labels the plan year
    (the weather stays that of ``options.weather_year``, as the annual simulation's). With ``metered``
    the loads, the existing plants and the new plants' output come from metered history
    (:mod:`services.pathway.history`); the synthetic weather of the same hours only stands in for a
    technology the park has no meter of.
    """
    registry = registry or FactorRegistry.published()
    per_hour = 60 // park.interval_minutes
    start = metered.start if metered else year_start(park, options.weather_year)
    cal_year = start.astimezone(park.tz).year
    year_hours = 24 * (366 if _leap(cal_year) else 365)
    n_h = min(year_hours, hours or year_hours, metered.hours if metered else year_hours)
    truth = _truth(park, start, n_h * per_hour, options.seed)
    starts = truth.times[::per_hour]
    load = sum((hourly(v, per_hour) for v in truth.load_kw.values()), np.zeros(n_h))
    re = sum((hourly(v, per_hour) for v in [*truth.pv_kw.values(), *truth.wind_kw.values()]), np.zeros(n_h))
    w = Weather(truth.times, truth.ghi_clear_w_m2, truth.ghi_w_m2, truth.wind_speed_m_s)
    tech = options.technologies
    pv_opt = tech.pv
    dc_ac, pr = (pv_opt.dc_ac_ratio, pv_opt.performance_ratio) if pv_opt else (PV_DC_AC_RATIO, PV_PERFORMANCE_RATIO)
    cf_pv = hourly(pv_power_kw(truth.ghi_w_m2, dc_ac, 1.0, pr), per_hour)
    turbines = park.devices_of("wind")
    # new wind: one more turbine like the park's (power curve, cut-out), else the model's default turbine
    cf_wind = hourly(
        wind_output_kw(turbines[0].model_copy(update={"p_rated_kw": 1.0, "count": 1}), w.wind_speed_m_s)
        if turbines
        else unit_output_kw("wind", w),
        per_hour,
    )
    direct_tech = tech.direct_line.technology if tech.direct_line else "wind"
    cf_direct = hourly(unit_output_kw(direct_tech, w), per_hour)  # as ems.synthetic's off-site plants
    direct0 = sum((hourly(v, per_hour) for v in truth.direct_kw.values()), np.zeros(n_h))
    if metered is not None:
        cut = slice(0, n_h)
        starts, load = metered.starts[cut], metered.load_kw[cut]
        re, direct0 = metered.re_existing_kw[cut], metered.direct_existing_kw[cut]
        if metered.pv_kw_per_kwp is not None:
            cf_pv = np.minimum(metered.pv_kw_per_kwp[cut] * dc_ac, 1.0)
        if metered.wind_kw_per_kw is not None:
            cf_wind = metered.wind_kw_per_kw[cut]
    conns = park.green.direct_connections
    cap_total = sum(Decimal(str(c.capacity_kw)) for c in conns)
    # one existing-line price: the capacity-weighted mean of the park's direct connections
    direct_price = (
        float(sum(Decimal(str(c.capacity_kw)) * c.price_cny_per_kwh for c in conns) / cap_total) if conns else 0.0
    )
    bats: list[Battery] = park.devices_of("battery")
    sp = storage_params(park)
    e0 = sum(b.e_rated_kwh for b in bats)
    cal_month = np.array([lt.month for lt in local_datetimes(starts, park.tz)])
    months = np.unique(cal_month, return_inverse=True)[1]  # settlement months present, numbered from 0
    gc = park.network.grid_connection
    market = options.market
    export_ok = gc.export_allowed if market.export_allowed is None else market.export_allowed
    return SizingData(
        year=year or (cal_year if metered else options.weather_year),
        starts=starts,
        weight=np.ones(n_h),
        month=months,
        period_start=np.arange(n_h) == 0,
        load_kw=load,
        price_cny_per_kwh=tou_prices(park, starts),
        re_existing_kw=re,
        cf_pv=cf_pv,
        cf_wind=cf_wind,
        cf_direct=cf_direct,
        direct_existing_kw=direct0,
        direct_existing_price=direct_price,
        direct_new_price=float(tech.direct_line.price_cny_per_kwh) if tech.direct_line else 0.0,
        battery_kwh=e0,
        battery_kw=sum(min(b.p_charge_max_kw, b.p_discharge_max_kw) for b in bats),
        eta_charge=sp.eta_charge,
        eta_discharge=sp.eta_discharge,
        keep_per_h=1.0 - sp.self_discharge_per_h,
        soc_min=_weighted(bats, "soc_min", 0.1),
        soc_max=_weighted(bats, "soc_max", 0.95),
        throughput_cny_per_kwh=_weighted(bats, "throughput_cost_cny_per_kwh", 0.0),
        import_limit_kw=gc.import_limit_kw,
        export_limit_kw=gc.export_limit_kw if export_ok else 0.0,
        export_price=float(park.tariff.export_price_cny_per_kwh),
        demand_charge_cny_per_kw_month=float(park.tariff.demand_charge_cny_per_kw_month),
        contract_price_cny_per_kwh=float(market.contract_price_cny_per_mwh) / 1000.0,
        contract_max_kwh_per_month=market.contract_max_mwh_per_month * 1000.0,
        certificate_price_cny_per_kwh=float(market.certificate_price_cny_per_mwh) / 1000.0,
        certificate_max_kwh=market.certificate_max_mwh * 1000.0,
        carbon_price_cny_per_kg=float(market.carbon_price_cny_per_t) / 1000.0,
        electrolyser_kwh=tech.electrolyser.annual_mwh * 1000.0 * n_h / year_hours if tech.electrolyser else 0.0,
        candidates=candidates(park, options),
        carbon=carbon_settings(park, options, registry),
        months_weight=np.ones(int(months.max()) + 1),
        year_hours=year_hours,
    )


def _truth(park: Park, start: dt.datetime, n: int, seed: int) -> ParkTruth:
    """``n`` intervals from ``start`` of exactly the plant :func:`services.annual.simulate_year` runs
    from ``start`` (same seed, same history days before it), so a plan checked by operation
    (:mod:`services.pathway.operation`) meets the weather and loads it was sized on."""
    days = -(-n // park.intervals_per_day)
    truth, off = simulation_truth(park, SimulationConfig(start=start, days=days, seed=seed))
    cut = slice(off, off + n)
    return ParkTruth(
        truth.times[cut],
        truth.ghi_clear_w_m2[cut],
        truth.ghi_w_m2[cut],
        truth.wind_speed_m_s[cut],
        *(
            {k: v[cut] for k, v in group.items()}
            for group in (truth.pv_kw, truth.wind_kw, truth.load_kw, truth.direct_kw)
        ),
    )


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _weighted(bats: list[Battery], attr: str, default: float) -> float:
    if not bats:
        return default
    w = np.array([b.e_rated_kwh for b in bats])
    return float(np.dot(w, [getattr(b, attr) for b in bats]) / w.sum())


def candidates(park: Park, options: PlanOptions) -> tuple[Candidate, ...]:
    """Every capacity the options allow, with its annual cost per unit."""
    r, tech = options.discount_rate, options.technologies
    out: list[Candidate] = []
    if tech.pv:
        buses = {b.id for b in park.network.buses}
        for bus, limit in tech.pv.limits_kw_per_bus.items():
            if bus not in buses:
                known = ", ".join(sorted(buses))
                raise ValueError(f"technologies.pv.limits_kw_per_bus: unknown bus {bus!r} (known: {known})")
            out.append(Candidate(f"pv:{bus}", annual_cost_per_unit(tech.pv, r), upper=limit))
    for name, inv in (
        ("wind", tech.wind),
        ("battery_kwh", tech.battery_energy),
        ("battery_kw", tech.battery_power),
        ("direct_kw", tech.direct_line),
        ("electrolyser_kw", tech.electrolyser),
    ):
        if inv is not None:
            out.append(Candidate(name, annual_cost_per_unit(inv, r), upper=inv.max_units))
    return tuple(out)


def carbon_settings(park: Park, options: PlanOptions, registry: FactorRegistry) -> Carbon:
    """Factors as ``ems.carbon`` resolves them (same registry, same default residual), fuels and targets."""
    c = park.carbon
    res_ref = default_residual_ref(park, registry)
    res = registry.get(res_ref)
    grid = registry.get(c.grid_factor)
    by_name = {f.name: f for f in c.other_fuels}
    fuel_tce = fuel_t = Decimal(0)
    for name, qty in options.other_fuels.items():
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise ValueError(f"other_fuels: {name!r} is not in the park file's carbon.other_fuels (known: {known})")
        fuel_tce += qty * by_name[name].kgce_per_unit / 1000
        fuel_t += qty * by_name[name].kgco2_per_unit / 1000
    tg = options.targets
    return Carbon(
        residual_ref=res.id,
        residual_kg_per_kwh=res.value,
        residual_provenance=res.provenance(),
        grid_ref=grid.id,
        grid_kg_per_kwh=grid.value,
        kgce_per_kwh=c.kgce_per_kwh,
        fuel_tce=fuel_tce,
        fuel_tco2=fuel_t,
        intensity_target=tg.intensity_t_per_tce,
        clean_share_target=tg.clean_share,
        direct_share_target=tg.direct_green_share,
        hourly_match_target=tg.hourly_matching,
        budget_tco2=c.annual_budget_tco2 if tg.budget_tco2 is None else tg.budget_tco2,
    )
