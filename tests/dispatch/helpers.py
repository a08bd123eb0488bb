"""Small hand-made dispatch problems for the tests."""

from __future__ import annotations

import datetime as dt

import numpy as np

from dispatch.problem import BatterySpec, DispatchProblem, GeneratorSpec

START = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)


def battery(**kw: object) -> BatterySpec:
    """A 100 kWh / 100 kW battery, 90 % each way, SOC 0..1, empty, no losses at rest, no wear cost."""
    base: dict = dict(
        id="B1",
        e_kwh=100.0,
        p_charge_max_kw=100.0,
        p_discharge_max_kw=100.0,
        eta_charge=0.9,
        eta_discharge=0.9,
        self_discharge_per_h=0.0,
        soc_min=0.0,
        soc_max=1.0,
        soc0=0.0,
        soc_terminal=0.0,
        throughput_cost_cny_per_kwh=0.0,
    )
    base.update(kw)
    return BatterySpec(**base)


def problem(
    demand: list[float],
    price: list[float],
    *,
    pv: list[float] | None = None,
    batteries: list[BatterySpec] | None = None,
    export_limit: float = 0.0,
    export_price: float = 0.0,
    import_limit: float = 1000.0,
    dt_h: float = 1.0,
    **kw: object,
) -> DispatchProblem:
    T = len(demand)
    gens = [GeneratorSpec("PV1", "pv", np.array(pv, dtype=float))] if pv is not None else []
    return DispatchProblem(
        start=START,
        dt_h=dt_h,
        demand_kw=np.array(demand, dtype=float),
        import_price=np.array(price, dtype=float),
        export_price=np.full(T, export_price),
        ef_kg_per_kwh=np.full(T, 0.5978),
        import_limit_kw=import_limit,
        export_limit_kw=export_limit,
        batteries=batteries if batteries is not None else [],
        generators=gens,
        **kw,  # type: ignore[arg-type]
    )
