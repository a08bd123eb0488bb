"""Small hand-made sizing problems (data in, no park file): every number is visible in the test."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import numpy as np

from services.pathway.data import Candidate, Carbon, SizingData

EF_RESIDUAL = Decimal("0.6096")  # cn-national-excl-market-2023, kgCO2/kWh
KGCE = Decimal("0.1229")


def carbon(**kw: Any) -> Carbon:
    base: dict[str, Any] = dict(
        residual_ref="cn-national-excl-market-2023@v1",
        residual_kg_per_kwh=EF_RESIDUAL,
        residual_provenance={},
        grid_ref="cn-jiangsu-2022@v1",
        grid_kg_per_kwh=Decimal("0.5978"),
        kgce_per_kwh=KGCE,
        fuel_tce=Decimal(0),
        fuel_tco2=Decimal(0),
        intensity_target=None,
        clean_share_target=None,
        direct_share_target=None,
        budget_tco2=None,
    )
    base.update(kw)
    return Carbon(**base)


def tiny(T: int = 24, load_kw: float | np.ndarray = 1000.0, **kw: Any) -> SizingData:
    """``T`` hours standing for a whole "year" of ``T`` hours (horizon share 1), one settlement month,
    no existing assets, no candidates, grid at 0.5 CNY/kWh, nothing to buy unless ``kw`` says so."""
    z = np.zeros(T)
    base: dict[str, Any] = dict(
        year=2026,
        starts=np.datetime64("2025-12-31T16:00", "us") + np.arange(T) * np.timedelta64(1, "h"),
        weight=np.ones(T),
        month=np.zeros(T, dtype=int),
        period_start=np.arange(T) == 0,
        load_kw=np.broadcast_to(np.asarray(load_kw, dtype=float), (T,)).copy(),
        price_cny_per_kwh=np.full(T, 0.5),
        re_existing_kw=z,
        cf_pv=z,
        cf_wind=z,
        cf_direct=z,
        direct_existing_kw=z,
        direct_existing_price=0.0,
        direct_new_price=0.0,
        battery_kwh=0.0,
        battery_kw=0.0,
        eta_charge=0.95,
        eta_discharge=0.95,
        keep_per_h=1.0,
        soc_min=0.0,
        soc_max=1.0,
        throughput_cny_per_kwh=0.0,
        import_limit_kw=1e6,
        export_limit_kw=0.0,
        export_price=0.0,
        demand_charge_cny_per_kw_month=0.0,
        contract_price_cny_per_kwh=0.0,
        contract_max_kwh_per_month=0.0,
        certificate_price_cny_per_kwh=0.0,
        certificate_max_kwh=0.0,
        carbon_price_cny_per_kg=0.0,
        electrolyser_kwh=0.0,
        candidates=(),
        carbon=carbon(),
        months_weight=np.ones(1),
        year_hours=T,
    )
    base.update(kw)
    return SizingData(**base)


def candidate(name: str, annual: str, upper: float | None = None, lower: float = 0.0) -> Candidate:
    return Candidate(name, Decimal(annual), lower=lower, upper=upper)


def replace(d: SizingData, **kw: Any) -> SizingData:
    return dataclasses.replace(d, **kw)
