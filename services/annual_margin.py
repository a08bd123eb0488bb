"""The peak-import safety margin compared in the annual simulation: the same closed loop (same weather,
forecasts and seed) run without a margin and with the margin learned from its forecast errors
(:mod:`ems.forecast.peak_margin`), and what each costs.

Figures per run: the highest monthly metered peak [kW] (grid-mix import plus green-contract
deliveries, as the meter and :mod:`services.cost_lines` count it), the demand charge and the energy
cost of the period (CNY, exact decimals from the cost lines) and the *exceedances*: executed intervals
whose metered import went above the cap planned for them (the higher of the month's peak before their
re-plan and the plan's own highest import), i.e. a peak set by forecast error rather than by plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ems.i18n import N_
from ems.park import Park
from services.annual import SimulationConfig, SimulationResult, metered_import_kw, simulate_year


@dataclass(frozen=True)
class MarginFigures:
    """What one run of the closed loop gives for the margin comparison."""

    peak_kw: Decimal
    demand_charge_cny: Decimal
    energy_cny: Decimal
    total_cny: Decimal
    exceedances: int

    @classmethod
    def of(cls, r: SimulationResult) -> MarginFigures:
        return cls(
            Decimal(repr(float(metered_import_kw(r.optimised).max(initial=0.0)))).quantize(Decimal("0.1")),
            r.costs.demand_charge_cny,
            r.costs.energy_cny,
            r.costs.total_cny,
            r.peak_exceedances,
        )

    def as_dict(self) -> dict[str, str | int]:
        return {k: (v if isinstance(v, int) else str(v)) for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class MarginComparison:
    quantile: float
    without: SimulationResult
    with_margin: SimulationResult

    def rows(self) -> list[tuple[str, Decimal | int, Decimal | int]]:
        """(label, without margin, with margin) in print order; labels are msgids (translated where shown)."""
        a, b = MarginFigures.of(self.without), MarginFigures.of(self.with_margin)
        return [
            (N_("realised peak import [kW]"), a.peak_kw, b.peak_kw),
            (N_("demand charge [CNY]"), a.demand_charge_cny, b.demand_charge_cny),
            (N_("energy cost [CNY]"), a.energy_cny, b.energy_cny),
            (N_("total cost [CNY]"), a.total_cny, b.total_cny),
            (N_("peak exceedances [intervals]"), a.exceedances, b.exceedances),
        ]

    def as_dict(self) -> dict[str, object]:
        margins = sorted(self.with_margin.peak_margin_kw)
        return {
            "quantile": self.quantile,
            "without": MarginFigures.of(self.without).as_dict(),
            "with": MarginFigures.of(self.with_margin).as_dict(),
            "median_margin_kw": margins[len(margins) // 2] if margins else 0.0,
        }


def compare_peak_margin(
    park: Park, cfg: SimulationConfig, quantile: float, progress: Callable[[int], None] | None = None
) -> MarginComparison:
    """Run ``cfg`` without a margin and with the ``quantile`` margin (two closed loops, same seed)."""
    without = simulate_year(park, dataclasses.replace(cfg, peak_margin_quantile=None), progress)
    with_margin = simulate_year(park, dataclasses.replace(cfg, peak_margin_quantile=quantile), progress)
    return MarginComparison(quantile, without, with_margin)
