"""Zero-carbon park indicators and the national thresholds.

Thresholds: NDRC, MIIT and NEA 《关于开展零碳园区建设的通知》 (June 2025; document number not
verified here), core indicator "CO2 per unit of energy consumption" (单位能耗碳排放):

* parks consuming 200 000 - 1 000 000 tce a year: <= 0.20 tCO2/tce;
* parks consuming more than 1 000 000 tce a year: <= 0.30 tCO2/tce;
* guiding indicator: clean-energy share of consumption >= 90 %.

Below 200 000 tce a year the notice sets no band; the 0.20 threshold is shown for reference.

Formulas (all Decimal):

* energy [tce] = (K + L) [kWh] * kgce_per_kWh / 1000 + sum(fuel_qty * kgce_per_unit) / 1000, with L the
  storage losses: their CO2 is in A (the storage ledger charges it to the energy delivered), so their
  energy is counted too, one boundary for both (GB/T 2589-2020 counts conversion losses inside the
  boundary as consumption; issue 22)
* CO2 [t] = A [kg] / 1000 + sum(fuel_qty * kgCO2_per_unit) / 1000
* intensity = CO2 / energy [tCO2/tce]
* clean share = (green electricity consumed + green share of the losses L_W) [kWh] * kgce_per_kWh / 1000
  / energy
* direct green share = direct green consumed / K (electricity only)
* budget projection (linear in time) = year-to-date CO2 * days_in_year / elapsed_days
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from ems.park import CarbonSettings

LOW_BAND_TCE = Decimal(200_000)
HIGH_BAND_TCE = Decimal(1_000_000)
LIMIT_MID = Decimal("0.20")
LIMIT_HIGH = Decimal("0.30")
CLEAN_SHARE_MIN = Decimal("0.90")
THRESHOLD_SOURCE = (
    "NDRC/MIIT/NEA 《关于开展零碳园区建设的通知》 (2025-06; document number unverified): "
    "单位能耗碳排放 <= 0.20 tCO2/tce (200k-1M tce/a), <= 0.30 (> 1M tce/a); clean-energy share >= 90 %"
)
_Q = Decimal("0.000001")
CLEAN_SHARE_DEFINITION = (
    "NDRC/MIIT/NEA zero-carbon park clean-energy share: electricity from renewables or covered by green "
    "contracts/certificates (storage discharge and storage losses at the pool's green share), in tce, over "
    "total energy in tce including storage losses (whose CO2 the intensity also counts); never above 1"
)


def _q(x: Decimal) -> Decimal:
    return x.quantize(_Q, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class FuelUse:
    name: str
    quantity: Decimal  # in the fuel's unit from the park file


@dataclass(frozen=True)
class Indicators:
    method: str
    energy_tce: Decimal
    energy_tce_per_year: Decimal
    co2_t: Decimal
    intensity_t_per_tce: Decimal | None
    clean_share: Decimal | None
    clean_share_definition: str
    direct_green_share: Decimal | None
    band: str
    intensity_limit: Decimal
    intensity_gap: Decimal | None  # intensity - limit (> 0: above the limit)
    intensity_ok: bool | None
    clean_share_gap: Decimal | None  # 0.90 - share (> 0: short of the target)
    clean_share_ok: bool | None

    def as_dict(self) -> dict[str, object]:
        def s(v: object) -> object:
            return str(v) if isinstance(v, Decimal) else v

        return {k: s(v) for k, v in self.__dict__.items()}


def compute_indicators(
    method: str,
    consumption_kwh: Decimal,
    attributed_kg: Decimal,
    green_kwh: Decimal,
    direct_kwh: Decimal,
    settings: CarbonSettings,
    period_days: Decimal,
    fuels: Sequence[FuelUse] = (),
    storage_losses_kwh: Decimal = Decimal(0),
    storage_losses_green_kwh: Decimal = Decimal(0),
) -> Indicators:
    """Indicators for one period and method (module docstring); ``consumption_kwh`` is K, without losses."""
    by_name = {f.name: f for f in settings.other_fuels}
    fuel_tce = fuel_t = Decimal(0)
    for use in fuels:
        if use.name not in by_name:
            raise ValueError(
                f"fuel {use.name!r} is not in the park file's carbon.other_fuels "
                f"(known: {', '.join(by_name) or 'none'})"
            )
        spec = by_name[use.name]
        fuel_tce += use.quantity * spec.kgce_per_unit / 1000
        fuel_t += use.quantity * spec.kgco2_per_unit / 1000
    elec_tce = (consumption_kwh + storage_losses_kwh) * settings.kgce_per_kwh / 1000
    energy = elec_tce + fuel_tce
    co2 = attributed_kg / 1000 + fuel_t
    per_year = energy * Decimal(365) / period_days if period_days > 0 else Decimal(0)
    intensity = _q(co2 / energy) if energy > 0 else None
    clean = _q((green_kwh + storage_losses_green_kwh) * settings.kgce_per_kwh / 1000 / energy) if energy > 0 else None
    direct = _q(direct_kwh / consumption_kwh) if consumption_kwh > 0 else None
    if per_year > HIGH_BAND_TCE:
        band, limit = "above 1,000,000 tce/a", LIMIT_HIGH
    elif per_year >= LOW_BAND_TCE:
        band, limit = "200,000-1,000,000 tce/a", LIMIT_MID
    else:
        band, limit = "below 200,000 tce/a (no band in the notice; 0.20 shown for reference)", LIMIT_MID
    return Indicators(
        method=method,
        energy_tce=_q(energy),
        energy_tce_per_year=_q(per_year),
        co2_t=_q(co2),
        intensity_t_per_tce=intensity,
        clean_share=clean,
        clean_share_definition=CLEAN_SHARE_DEFINITION,
        direct_green_share=direct,
        band=band,
        intensity_limit=limit,
        intensity_gap=None if intensity is None else intensity - limit,
        intensity_ok=None if intensity is None else intensity <= limit,
        clean_share_gap=None if clean is None else CLEAN_SHARE_MIN - clean,
        clean_share_ok=None if clean is None else clean >= CLEAN_SHARE_MIN,
    )


@dataclass(frozen=True)
class BudgetStatus:
    budget_t: Decimal
    year: int
    ytd_t: Decimal
    elapsed_days: Decimal
    days_in_year: int
    projected_t: Decimal
    used_share: Decimal | None
    data_completeness: Decimal
    warnings: list[str]

    def as_dict(self) -> dict[str, object]:
        return {
            "budget_t": str(self.budget_t),
            "year": self.year,
            "ytd_t": str(self.ytd_t),
            "elapsed_days": str(self.elapsed_days),
            "days_in_year": self.days_in_year,
            "projected_t": str(self.projected_t),
            "used_share": None if self.used_share is None else str(self.used_share),
            "data_completeness": str(self.data_completeness),
            "warnings": list(self.warnings),
        }


def budget_status(
    budget_t: Decimal,
    year: int,
    ytd_t: Decimal,
    elapsed_days: Decimal,
    days_in_year: int,
    data_completeness: Decimal = Decimal(1),
) -> BudgetStatus:
    """Progress against the annual carbon budget with a linear projection to year end."""
    projected = _q(ytd_t * Decimal(days_in_year) / elapsed_days) if elapsed_days > 0 else Decimal(0)
    used = _q(ytd_t / budget_t) if budget_t > 0 else None
    warnings = []
    if ytd_t > budget_t:
        warnings.append(f"annual carbon budget exceeded: {_q(ytd_t)} t emitted against {budget_t} t")
    elif projected > budget_t:
        warnings.append(
            f"projected {projected} t by year end exceeds the annual budget of {budget_t} t "
            f"(by {projected - budget_t} t) at the year-to-date rate"
        )
    if data_completeness < Decimal("0.95"):
        warnings.append(
            f"year-to-date data are only {_q(data_completeness * 100)} % complete: the emissions "
            "and the projection understate the year"
        )
    return BudgetStatus(
        budget_t,
        year,
        _q(ytd_t),
        elapsed_days,
        days_in_year,
        projected,
        used,
        _q(data_completeness),
        warnings,
    )
