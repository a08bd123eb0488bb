"""The planner's options file: technology costs, market limits, targets and the pathway (pydantic, the edge).

One YAML file next to the park file (``examples/demo_pathway.yaml``). Money is ``Decimal`` (CNY);
units are in the key names. Every number the planner uses that is not in the park file comes
from here, and the report repeats the file's ``sources`` so each cost says where it comes from.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ems.carbon.indicators import CLEAN_SHARE_MIN, LIMIT_MID
from ems.constants import PV_DC_AC_RATIO, PV_PERFORMANCE_RATIO


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Investment(_Model):
    """Cost of one kW (or kWh) of new capacity: annualised with the capital recovery factor."""

    capex_cny_per_unit: Decimal = Field(ge=0, description="overnight cost per kW (per kWh for battery energy)")
    fom_cny_per_unit_year: Decimal = Field(default=Decimal(0), ge=0, description="fixed O&M per kW(h) and year")
    lifetime_years: int = Field(default=20, ge=1, le=60)
    max_units: float | None = Field(default=None, ge=0, description="upper limit of the new capacity; None: none")


class PvOption(Investment):
    limits_kw_per_bus: dict[str, float] = Field(
        default={}, description="roof / land limit of new PV per bus [kW AC]; a bus not listed gets none"
    )
    dc_ac_ratio: float = Field(default=PV_DC_AC_RATIO, gt=0)
    performance_ratio: float = Field(default=PV_PERFORMANCE_RATIO, gt=0, le=1)


class DirectLineOption(Investment):
    """A new direct green line (绿电直连) to an off-site plant of the same rating; capex per kW of line."""

    technology: str = Field(default="wind", pattern="^(pv|wind)$")
    price_cny_per_kwh: Decimal = Field(ge=0, description="energy price of the off-site plant's output")


class ElectrolyserOption(Investment):
    """Optional electrolyser: a flexible load that must take ``annual_mwh`` a year (renewable hydrogen)."""

    annual_mwh: float = Field(gt=0)


class Technologies(_Model):
    pv: PvOption | None = None
    wind: Investment | None = None
    battery_energy: Investment | None = None  # per kWh
    battery_power: Investment | None = None  # per kW
    direct_line: DirectLineOption | None = None
    electrolyser: ElectrolyserOption | None = None


class Market(_Model):
    contract_price_cny_per_mwh: Decimal = Field(ge=0, description="green-power contract energy incl. premium")
    contract_max_mwh_per_month: float = Field(default=0.0, ge=0, description="what sellers offer per month")
    certificate_price_cny_per_mwh: Decimal = Field(ge=0)
    certificate_max_mwh: float = Field(default=0.0, ge=0, description="certificates obtainable in a year")
    carbon_price_cny_per_t: Decimal = Field(default=Decimal(0), ge=0)
    export_allowed: bool | None = Field(default=None, description="None: as the park file's export limit")


class Targets(_Model):
    intensity_t_per_tce: Decimal | None = Field(default=LIMIT_MID, ge=0, description="None: no intensity target")
    clean_share: Decimal | None = Field(default=CLEAN_SHARE_MIN, ge=0, le=1)
    direct_green_share: Decimal | None = Field(default=None, ge=0, le=1)
    hourly_matching: Decimal | None = Field(
        default=None,
        ge=0,
        le=1,
        description="hourly-matched carbon-free share (ems.carbon's energytag-hourly CFE score); None: no target",
    )
    budget_tco2: Decimal | None = Field(default=None, ge=0, description="None: the park file's annual budget")


class Pathway(_Model):
    start_year: int = Field(ge=2000, le=2100)
    target_year: int = Field(ge=2000, le=2100)
    budget_target_tco2: Decimal | None = Field(default=None, ge=0, description="budget in the target year")
    residual_factor_change_per_year: Decimal = Field(
        default=Decimal(0), gt=-1, lt=1, description="forecast: relative change of the residual factor per year"
    )
    load_growth_per_year: float = Field(default=0.0, gt=-1, lt=1)
    interpolate_targets: bool = Field(
        default=True, description="targets ramp linearly from the start year's no-build indicators to the target year"
    )

    @model_validator(mode="after")
    def _order(self) -> Pathway:
        if self.target_year < self.start_year:
            raise ValueError("target_year must not be before start_year")
        return self


class PlanOptions(_Model):
    discount_rate: Decimal = Field(default=Decimal("0.06"), ge=0, lt=1)
    weather_year: int = Field(default=2026, description="calendar year of the synthetic weather and load")
    seed: int = 7
    technologies: Technologies = Technologies()
    market: Market
    targets: Targets = Targets()
    other_fuels: dict[str, Decimal] = Field(default={}, description="yearly quantity per park-file fuel name")
    pathway: Pathway | None = None
    sources: dict[str, str] = {}


class OptionsFileError(ValueError):
    """The options file is unreadable or invalid; the message names the file, key and problem."""


def load_options(path: str | Path) -> PlanOptions:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OptionsFileError(f"{p}: cannot read file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise OptionsFileError(f"{p}: not valid YAML: {exc}") from None
    try:
        return PlanOptions.model_validate(data)
    except ValidationError as exc:
        lines = [f"{p}: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise OptionsFileError("\n".join(lines)) from None
