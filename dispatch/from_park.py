"""Build a :class:`~dispatch.problem.DispatchProblem` from a :class:`ems.park.Park` and forecasts.

Prices come from the park's TOU tariff at each interval's *local* start time; the grid
emission factor series is an input (default: the demo park's ``cn-jiangsu-2022`` value,
0.5978 kgCO2/kWh, MEE 2022 provincial average factor for Jiangsu). Contract volumes are
prorated to the part of each settlement period inside the horizon; flexible loads spread
their daily shiftable energy evenly over their window as the baseline.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np

from dispatch.prices import PriceSeries
from dispatch.problem import (
    BatterySpec,
    CapacitorBank,
    ContractSpec,
    DirectGreenSpec,
    DispatchProblem,
    EnergyBlock,
    FlexLoadSpec,
    GeneratorSpec,
    NetworkRow,
    ReactiveCapability,
)
from dispatch.solver import SolverOptions
from ems.carbon.factors import FactorError, FactorRegistry, FactorSeries
from ems.carbon.run import resolve_factor
from ems.constants import PV_PERFORMANCE_RATIO
from ems.forecast.base import Forecast
from ems.i18n import Msg, message_of
from ems.park import Battery, Load, Park, PvPlant, WindTurbine
from ems.parktime import local_datetimes
from ems.profiles import clear_sky_ghi


@functools.cache
def _published() -> FactorRegistry:
    return FactorRegistry.published()


def grid_factor(park: Park, times: np.ndarray, registry: FactorRegistry | None = None) -> tuple[np.ndarray, str]:
    """The park's location-based grid factor (park file ``carbon.grid_factor``, as carbon accounting uses it)
    per interval starting at ``times`` [kgCO2/kWh], from ``registry`` (default: the published factors; a
    planner with a store passes the store's, which holds the user's versions and time-varying series),
    and a one-line source.

    A plan is a forecast: intervals a time-varying series does not reach yet (grid operators publish
    hourly factors after the fact) take the value at the same time of day on the series' last covered
    day (persistence), and the source says how many did; accounting, by contrast, refuses uncovered
    intervals. Raises FactorError for a factor the registry does not hold, naming the park file's key."""
    reg = registry or _published()
    ref = park.carbon.grid_factor
    try:
        if reg.is_series(ref):
            series = reg.get_series(ref)
            values, filled = _persisted(series, np.asarray(times, dtype="datetime64[us]"), park.interval_minutes)
            by = series.publisher or series.origin
            n = int(filled.sum())
            note = f"; {n} of {len(times)} intervals repeat its last covered day" if n else ""
            return values, f"{series.id}: time-varying series ({by}){note}"
        r = resolve_factor(reg, ref, times, park.interval_minutes)
    except FactorError as exc:
        msg = (
            Msg("park file carbon.grid_factor {ref!r}: {error}", ref=ref, error=message_of(exc))
            if registry is not None
            else Msg(
                "park file carbon.grid_factor {ref!r} is not a published factor, and this plan is made without "
                "the store that holds your own: {error}",
                ref=ref,
                error=message_of(exc),
            )
        )
        raise FactorError(msg) from exc
    by = r.provenance.get("publisher") or r.provenance.get("origin") or "user"
    return np.asarray(r.per_interval, dtype=float), f"{r.provenance['id']}: {r.constant} kgCO2/kWh ({by})"


def _persisted(series: FactorSeries, times: np.ndarray, interval_minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """``series`` over the intervals starting at ``times`` (a finer series averaged over each, as
    :meth:`FactorSeries.at`); an uncovered step takes the same time of day on the nearest covered day
    before it (after it, for times before the series), else the series' last value. Also which intervals
    were filled."""
    sub, n = series.substeps(times, interval_minutes)
    day = np.timedelta64(86_400_000_000, "us")
    first, end = series.starts[0], series.starts[-1] + series.step
    idx, ok = series.covered(sub)
    shifted = sub.copy()
    late, early = sub >= end, sub < first
    shifted[late] -= ((sub[late] - end) // day + 1) * day
    shifted[early] += ((first - sub[early] - np.timedelta64(1, "us")) // day + 1) * day
    idx2, ok2 = series.covered(shifted)
    values = np.where(ok, series.values[np.clip(idx, 0, None)], series.values[-1])
    values = np.where(~ok & ok2, series.values[np.clip(idx2, 0, None)], values)
    return values.astype(float).reshape(-1, n).mean(axis=1), np.asarray((~ok).reshape(-1, n).any(axis=1))


def tou_prices(park: Park, times_utc: np.ndarray) -> np.ndarray:
    """Energy price of each interval [CNY/kWh]: the time-weighted mean of the TOU periods it spans
    (:meth:`ems.park.Tariff.mean_price`)."""
    minutes = park.interval_minutes
    return np.array([float(park.tariff.mean_price(lt, minutes)) for lt in local_datetimes(times_utc, park.tz)])


def _period_blocks(park: Park, times_utc: np.ndarray, period: str, dt_h: float) -> list[tuple[int, int, float]]:
    """(t0, t1, fraction of the settlement period inside the horizon) for each local day or month touched."""
    loc = local_datetimes(times_utc, park.tz)
    keys = [(t.year, t.month, t.day) if period == "day" else (t.year, t.month) for t in loc]
    out = []
    t0 = 0
    for t in range(1, len(keys) + 1):
        if t == len(keys) or keys[t] != keys[t0]:
            if period == "day":
                period_h = 24.0
            else:
                y, mth = keys[t0][0], keys[t0][1]
                nxt = dt.date(y + (mth == 12), mth % 12 + 1, 1)
                period_h = (nxt - dt.date(y, mth, 1)).days * 24.0
            out.append((t0, t, (t - t0) * dt_h / period_h))
            t0 = t
    return out


def _contract_blocks(
    park: Park,
    times: np.ndarray,
    period: str,
    dt_h: float,
    vol_kwh: float,
    tol: float,
    delivered_kwh: float | None,
) -> tuple[EnergyBlock, ...]:
    """Energy bands of one contract per settlement period touched by the horizon.

    Without ``delivered_kwh`` each period gets its pro-rata share of ``vol·(1 ± tol)``. With it, the
    period the horizon starts in gets ``max(0, vol·(1 ± tol) − delivered)`` times the horizon's share
    of the *rest* of that period: a contract behind its volume plans more, one ahead plans less, and
    one whose band is already met plans nothing.
    """
    out = []
    for t0, t1, frac in _period_blocks(park, times, period, dt_h):
        lo, hi = vol_kwh * (1 - tol) * frac, vol_kwh * (1 + tol) * frac
        if t0 == 0 and delivered_kwh is not None:
            start = local_datetimes(times[:1], park.tz)[0]
            rest_h = (_period_end(start, period) - start).total_seconds() / 3600.0
            share = (t1 - t0) * dt_h / rest_h
            lo = max(0.0, vol_kwh * (1 - tol) - delivered_kwh) * share
            hi = max(0.0, vol_kwh * (1 + tol) - delivered_kwh) * share
        out.append(EnergyBlock(t0, t1, lo, hi))
    return tuple(out)


def _period_end(local: dt.datetime, period: str) -> dt.datetime:
    """End of the local day or month containing ``local`` (time-zone aware)."""
    if period == "day":
        nxt = local.date() + dt.timedelta(days=1)
    else:
        nxt = dt.date(local.year + (local.month == 12), local.month % 12 + 1, 1)
    return dt.datetime.combine(nxt, dt.time(0), tzinfo=local.tzinfo)


def problem_from_park(
    park: Park,
    fc: Forecast,
    *,
    soc0: dict[str, float] | None = None,
    network: list[NetworkRow] | None = None,
    peak_import_so_far_kw: float = 0.0,
    carbon_price_cny_per_t: float = 0.0,
    batteries: list[Battery] | None = None,
    contract_volume_scale: float = 1.0,
    ghi_clear_w_m2: np.ndarray | None = None,
    flex_delivered_kwh: dict[str, float] | None = None,
    prices: PriceSeries | None = None,
    contract_delivered_kwh: dict[str, float] | None = None,
    re_content_kwh: dict[str, float] | None = None,
    registry: FactorRegistry | None = None,
) -> DispatchProblem:
    """The dispatch problem of ``park`` for the horizon of ``fc``.

    ``soc0``: measured SOC per battery (0..1), default the park file's ``soc_initial``.
    ``batteries`` overrides the park's batteries (what-if runs); ``contract_volume_scale``
    scales every contract's volume. ``ghi_clear_w_m2`` may supply the clear-sky GHI of the horizon
    (otherwise computed; it shapes "pv"-profile contracts and default direct-line availability).
    ``flex_delivered_kwh``: energy each flexible load already consumed today (local day) before the
    horizon; the first day block then gets the rest of the daily energy (rolling re-plans).
    ``prices``: per-interval import and export prices (:mod:`dispatch.prices`); they replace the
    tariff's energy and export prices, or with ``park.dispatch.prices_add_to_tariff`` the import
    prices are added to the TOU price (a TOU component plus a spot component).
    ``contract_delivered_kwh``: energy each green contract already delivered in its current settlement
    period before the horizon (month to date); the horizon's share of that period then comes from what
    is left of the volume band over what is left of the period (:func:`_contract_blocks`), not a
    pro-rata share of the whole volume.
    ``re_content_kwh``: the local RE part of each battery's stored energy at the start [kWh], carried from
    the executed intervals (:func:`dispatch.re_origin.re_content_kwh`); capped at the stored energy
    ``soc0·E`` (the measured SOC is the truth: RE content above it has been lost); default 0, all grid.
    The grid factor is the forecast's when it carries one, else the park's (:func:`grid_factor`, from
    ``registry``).
    """
    T = fc.T
    h = fc.interval_minutes / 60.0
    times = fc.times
    soc0 = soc0 or {}
    re_content_kwh = re_content_kwh or {}
    bats = batteries if batteries is not None else park.devices_of("battery")
    battery_specs = [
        BatterySpec(
            id=b.id,
            e_kwh=b.e_rated_kwh,
            p_charge_max_kw=b.p_charge_max_kw,
            p_discharge_max_kw=b.p_discharge_max_kw,
            eta_charge=b.eta_charge,
            eta_discharge=b.eta_discharge,
            self_discharge_per_h=b.self_discharge_per_h,
            soc_min=b.soc_min,
            soc_max=b.soc_max,
            soc0=soc0.get(b.id, b.soc_initial),
            soc_terminal=b.soc_terminal,
            throughput_cost_cny_per_kwh=b.throughput_cost_cny_per_kwh,
            e_re0_kwh=min(max(re_content_kwh.get(b.id, 0.0), 0.0), soc0.get(b.id, b.soc_initial) * b.e_rated_kwh),
        )
        for b in bats
    ]
    gens: list[GeneratorSpec] = []
    for d in park.devices:
        if isinstance(d, PvPlant):
            gens.append(GeneratorSpec(d.id, "pv", np.asarray(fc.pv_kw.get(d.id, np.zeros(T)), dtype=float)))
        elif isinstance(d, WindTurbine):
            gens.append(GeneratorSpec(d.id, "wind", np.asarray(fc.wind_kw.get(d.id, np.zeros(T)), dtype=float)))
    loads: list[Load] = park.devices_of("load")
    demand = np.zeros(T)
    for ld in loads:
        demand += np.asarray(fc.load_kw.get(ld.id, np.zeros(T)), dtype=float)

    if ghi_clear_w_m2 is None:
        ghi_clear_w_m2 = clear_sky_ghi(times, park.location.latitude, park.location.longitude)
    ghi_shape = np.clip(np.asarray(ghi_clear_w_m2) / 1000.0, 0.0, 1.0)
    wind_rated = sum(w.p_total_kw for w in park.devices_of("wind"))
    wind_fc = sum((fc.wind_kw.get(w.id, np.zeros(T)) for w in park.devices_of("wind")), np.zeros(T))
    wind_shape = wind_fc / wind_rated if wind_rated > 0 else np.ones(T)
    contracts = []
    for c in park.green.contracts:
        shape = {"flat": np.ones(T), "pv": ghi_shape, "wind": wind_shape}[c.profile]
        vol_kwh = c.volume_mwh * 1000.0 * contract_volume_scale
        delivered = None if contract_delivered_kwh is None else contract_delivered_kwh.get(c.id, 0.0)
        blocks = _contract_blocks(park, times, c.period, h, vol_kwh, c.tolerance_percent / 100.0, delivered)
        contracts.append(ContractSpec(c.id, float(c.price_cny_per_mwh) / 1000.0, c.max_mw * 1000.0 * shape, blocks))
    direct = []
    for g in park.green.direct_connections:
        default = g.plant_p_rated_kw * (ghi_shape * PV_PERFORMANCE_RATIO if g.technology == "pv" else wind_shape)
        avail = np.asarray(fc.direct_avail_kw.get(g.id, default), dtype=float)
        direct.append(DirectGreenSpec(g.id, float(g.price_cny_per_kwh), avail, g.capacity_kw))

    flex = []
    loc = local_datetimes(times, park.tz)
    minute = np.array([t.hour * 60 + t.minute for t in loc])
    day_key = [t.date() for t in loc]
    for ld in loads:
        f = ld.flexibility
        if f is None:
            continue
        a = f.window_start.hour * 60 + f.window_start.minute
        b = f.window_end.hour * 60 + f.window_end.minute
        window = (minute >= a) & (minute < b) if a < b else (minute >= a) | (minute < b)
        per_day = max(round(((b - a) % (24 * 60) or 24 * 60) / park.interval_minutes), 1)
        base_rate = min(f.shiftable_kwh_per_day / (per_day * h), f.p_max_kw)
        baseline = np.minimum(np.where(window, base_rate, 0.0), fc.load_kw.get(ld.id, np.zeros(T)))
        day_blocks: list[EnergyBlock] = []
        t0 = 0
        for t in range(1, T + 1):
            if t == T or day_key[t] != day_key[t0]:
                e = float(baseline[t0:t].sum() * h)
                if t0 == 0 and flex_delivered_kwh is not None and ld.id in flex_delivered_kwh:
                    # a re-plan during the day: what is left of today's energy, not the prorated baseline
                    e = max(0.0, base_rate * per_day * h - flex_delivered_kwh[ld.id])
                e = min(e, f.p_max_kw * h * float(window[t0:t].sum()))  # never more than the window allows
                day_blocks.append(EnergyBlock(t0, t, e, e))
                t0 = t
        flex.append(FlexLoadSpec(ld.id, f.p_max_kw, window, baseline, tuple(day_blocks)))

    import_price = fc.import_price if fc.import_price is not None else tou_prices(park, times)
    export_price = np.full(T, float(park.tariff.export_price_cny_per_kwh))
    if prices is not None:
        spot_import, export_price = prices.interval_means(times, h)
        import_price = import_price + spot_import if park.dispatch.prices_add_to_tariff else spot_import
    if fc.ef_kg_per_kwh is not None:
        ef, ef_source = fc.ef_kg_per_kwh, fc.ef_source or "forecast"
    else:
        ef, ef_source = grid_factor(park, times, registry)
    gc = park.network.grid_connection
    return DispatchProblem(
        start=fc.start,
        dt_h=h,
        demand_kw=demand,
        import_price=np.asarray(import_price, dtype=float),
        export_price=np.asarray(export_price, dtype=float),
        ef_kg_per_kwh=np.asarray(ef, dtype=float),
        import_limit_kw=gc.import_limit_kw,
        export_limit_kw=gc.export_limit_kw,
        batteries=battery_specs,
        generators=gens,
        contracts=contracts,
        direct=direct,
        flex=flex,
        network=network or [],
        demand_charge_cny_per_kw_month=float(park.tariff.demand_charge_cny_per_kw_month),
        peak_import_so_far_kw=peak_import_so_far_kw,
        carbon_price_cny_per_kg=carbon_price_cny_per_t / 1000.0,
        ef_source=ef_source,
        loads_kw={ld.id: np.asarray(fc.load_kw.get(ld.id, np.zeros(T)), dtype=float) for ld in loads},
        reactive=[
            ReactiveCapability(dev, rc.s_rated_kva, rc.q_max_ratio * rc.s_rated_kva)
            for dev, rc in park.network.reactive.items()
            if rc.mode == "dispatched"
        ],
        banks=[
            CapacitorBank(c.id, c.q_kvar / c.steps, c.steps, c.max_operations_per_day, c.steps_in_service)
            for c in park.network.compensation
            if c.switched
        ],
    )


def solver_options(park: Park, **overrides: object) -> SolverOptions:
    """The park file's dispatch options (``park.dispatch``), with ``overrides`` that are not None."""
    d = park.dispatch
    values: dict = dict(
        objective=d.objective,
        re_weight_cny_per_kwh=d.re_weight_cny_per_kwh,
        time_limit_s=d.time_limit_s,
        mip_rel_gap=d.mip_rel_gap,
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SolverOptions(**values)
