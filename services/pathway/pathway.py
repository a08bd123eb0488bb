"""Year by year from the start year to the target year: declining budget, factor forecast, capacity only added.

Each year is one sizing LP (:func:`services.pathway.solve.solve_sizing`) with

* load ``× (1 + g)^(y − y0)`` (options ``load_growth_per_year``);
* residual factor ``EF_y = EF_y0 × (1 + c)^(y − y0)`` (options ``residual_factor_change_per_year``; the
  forecast is recorded with the published factor it starts from);
* budget linear from the park file's budget in ``y0`` to ``budget_target_tco2`` in the target year;
* targets: with ``interpolate_targets`` a linear ramp from the start year's no-build indicators (what the
  park reaches with what it has, buying nothing) to the targets in the target year; otherwise the
  targets apply in the target year only;
* every capacity at least what earlier years built (``Candidate.lower``).

Years are planned one after another (myopic: a year does not anticipate later, stricter years). That
is how a park committee decides — one budget year at a time — and it keeps each year a small LP; a
perfect-foresight multi-year model would find a cheaper path when later targets are much stricter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from ems.carbon.factors import FactorRegistry
from ems.carbon.indicators import Indicators
from ems.park import Park
from services.pathway.check import plan_hourly_matching, plan_indicators
from services.pathway.data import Candidate, SizingData, sizing_data
from services.pathway.history import MeteredYear
from services.pathway.model.targets import energy_tce
from services.pathway.options import PlanOptions
from services.pathway.solve import PlanInfeasible, SizingResult, solve_sizing

_FACTOR_Q = Decimal("0.0001")
_SHARE_Q = Decimal("0.000001")


@dataclass(frozen=True)
class YearPlan:
    year: int
    data: SizingData
    result: SizingResult
    indicators: Indicators | None  # computed by ems.carbon from the year's hourly operation
    hourly_matching: Decimal | None = None  # ems.carbon's energytag-hourly CFE score of that operation


@dataclass(frozen=True)
class PathwayPlan:
    park: str
    start_year: int
    target_year: int
    baseline: Indicators | None  # the start year with nothing built or bought
    years: list[YearPlan]
    baseline_hourly_matching: Decimal | None = None


def _ramp(start: Decimal | None, end: Decimal | None, frac: Decimal) -> Decimal | None:
    if end is None:
        return None
    if start is None:
        return end
    return (start + (end - start) * frac).quantize(_SHARE_Q, rounding=ROUND_HALF_EVEN)


def baseline(park: Park, base: SizingData) -> tuple[SizingResult, Indicators | None]:
    """The start year with existing assets only and no targets: where the park stands."""
    c = dataclasses.replace(
        base.carbon,
        intensity_target=None,
        clean_share_target=None,
        direct_share_target=None,
        budget_tco2=None,
        hourly_match_target=None,
    )
    d = dataclasses.replace(base, candidates=(), carbon=c, contract_max_kwh_per_month=0.0, certificate_max_kwh=0.0)
    r = solve_sizing(d)
    return r, _indicators(park, r)


def _indicators(park: Park, r: SizingResult) -> Indicators | None:
    return plan_indicators(r, park.carbon) if _chronological(r) else None


def _hourly_matching(park: Park, r: SizingResult) -> Decimal | None:
    return plan_hourly_matching(r, park.timezone).cfe_score if _chronological(r) else None


def _chronological(r: SizingResult) -> bool:
    return bool((r.data.weight == 1.0).all())


def plan_pathway(
    park: Park,
    options: PlanOptions,
    registry: FactorRegistry | None = None,
    *,
    hours: int | None = None,
    prepare: Callable[[SizingData], SizingData] | None = None,
    progress: Callable[[int], None] | None = None,
    metered: MeteredYear | None = None,
) -> PathwayPlan:
    """Plan every year from ``options.pathway.start_year`` to its ``target_year`` (module docstring).

    ``hours`` cuts the weather year (tests); ``metered`` plans on metered history instead of the
    synthetic year (every pathway year starts from it, grown); ``prepare`` transforms each year's data before the solve
    (e.g. representative periods). Raises :class:`PlanInfeasible` naming the first year that cannot
    meet its targets.
    """
    pw = options.pathway
    if pw is None:
        raise ValueError("the options file has no 'pathway' section (start_year, target_year, ...)")
    prep = prepare or (lambda d: d)
    base = sizing_data(park, options, registry, hours=hours, metered=metered)
    start_r, start_ind = baseline(park, base)
    start_hm = _hourly_matching(park, start_r)
    c0 = base.carbon
    budget0 = c0.budget_tco2
    budget_n = pw.budget_target_tco2 if pw.budget_target_tco2 is not None else budget0
    span = pw.target_year - pw.start_year
    lower: dict[str, float] = {}
    years: list[YearPlan] = []
    for i, year in enumerate(range(pw.start_year, pw.target_year + 1)):
        frac = Decimal(i) / Decimal(span) if span else Decimal(1)
        growth = (1 + pw.load_growth_per_year) ** i
        ef = (c0.residual_kg_per_kwh * (1 + pw.residual_factor_change_per_year) ** i).quantize(
            _FACTOR_Q, rounding=ROUND_HALF_EVEN
        )
        if pw.interpolate_targets and start_ind is not None:
            intensity = _ramp(_above(start_ind.intensity_t_per_tce, c0.intensity_target), c0.intensity_target, frac)
            clean = _ramp(_below(start_ind.clean_share, c0.clean_share_target), c0.clean_share_target, frac)
            direct = _ramp(_below(start_ind.direct_green_share, c0.direct_share_target), c0.direct_share_target, frac)
            hourly = _ramp(_below(start_hm, c0.hourly_match_target), c0.hourly_match_target, frac)
        elif year == pw.target_year:
            intensity, clean, direct = c0.intensity_target, c0.clean_share_target, c0.direct_share_target
            hourly = c0.hourly_match_target
        else:
            intensity = clean = direct = hourly = None
        carbon = dataclasses.replace(
            c0,
            residual_kg_per_kwh=ef,
            residual_ref=_forecast_ref(c0.residual_ref, pw.residual_factor_change_per_year, i),
            budget_tco2=_ramp(budget0, budget_n, frac),
            intensity_target=intensity,
            clean_share_target=clean,
            direct_share_target=direct,
            hourly_match_target=hourly,
        )
        cands = tuple(
            dataclasses.replace(c, lower=lower.get(c.name, 0.0), upper=_upper(c, lower.get(c.name, 0.0)))
            for c in base.candidates
        )
        d = prep(
            dataclasses.replace(
                base,
                year=year,
                load_kw=base.load_kw * growth,
                electrolyser_kwh=base.electrolyser_kwh,
                carbon=carbon,
                candidates=cands,
            )
        )
        try:
            r = solve_sizing(d)
        except PlanInfeasible as exc:
            done = ", ".join(str(y.year) for y in years) or "none"
            raise PlanInfeasible(f"{exc} (pathway years planned before it: {done})") from None
        lower = {k: max(v, lower.get(k, 0.0)) for k, v in r.capacity.items()}
        years.append(YearPlan(year, d, r, _indicators(park, r), _hourly_matching(park, r)))
        if progress:
            progress(1)
    return PathwayPlan(park.name, pw.start_year, pw.target_year, start_ind, years, start_hm)


def _forecast_ref(ref: str, change: Decimal, years: int) -> str:
    return ref if years == 0 else f"{ref} x (1 {change:+}) ^ {years} (forecast)"


def _above(value: Decimal | None, target: Decimal | None) -> Decimal | None:
    """Start of an upper-bound ramp: the baseline value when it is above the target, else the target."""
    if value is None or target is None:
        return target
    return max(value, target)


def _below(value: Decimal | None, target: Decimal | None) -> Decimal | None:
    if value is None or target is None:
        return target
    return min(value, target)


def _upper(c: Candidate, lower: float) -> float | None:
    return None if c.upper is None else max(c.upper, lower)


def model_intensity(year: YearPlan) -> float:
    """The LP's own (conservative) intensity bound for the year [tCO2/tce]."""
    return year.result.co2_t / energy_tce(year.data)
