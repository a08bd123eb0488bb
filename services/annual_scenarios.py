"""Scenario-based MPC compared with deterministic MPC in the annual simulation: the same closed loop (same
weather, forecasts and seed) planned on the point forecast and over ``K`` net-load scenarios drawn from the
loop's own forecast errors (:mod:`dispatch.scenario_mpc`), with cost, peak, local renewable consumption,
exceedances and re-plan time of each."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ems.i18n import N_
from ems.park import Park
from services.annual import SimulationConfig, SimulationResult, simulate_year
from services.annual_margin import MarginFigures


@dataclass(frozen=True)
class ScenarioComparison:
    scenarios: int
    deterministic: SimulationResult
    stochastic: SimulationResult

    def rows(self) -> list[tuple[str, Decimal | int, Decimal | int]]:
        """(label, deterministic, scenario-based) in print order; labels are msgids (translated where shown)."""
        out: list[tuple[str, Decimal | int, Decimal | int]] = []
        a, b = MarginFigures.of(self.deterministic), MarginFigures.of(self.stochastic)
        out.append((N_("realised peak import [kW]"), a.peak_kw, b.peak_kw))
        out.append((N_("demand charge [CNY]"), a.demand_charge_cny, b.demand_charge_cny))
        out.append((N_("energy cost [CNY]"), a.energy_cny, b.energy_cny))
        out.append((N_("total cost [CNY]"), a.total_cny, b.total_cny))
        out.append((N_("local RE consumption [%]"), _pct(self.deterministic), _pct(self.stochastic)))
        out.append((N_("peak exceedances [intervals]"), a.exceedances, b.exceedances))
        out.append((N_("median re-plan [ms]"), _ms(self.deterministic), _ms(self.stochastic)))
        return out

    def as_dict(self) -> dict[str, object]:
        keys = ("peak_kw", "demand_charge_cny", "energy_cny", "total_cny", "local_re_pct", "exceedances", "replan_ms")
        return {
            "scenarios": self.scenarios,
            "deterministic": {k: str(a) for k, (_, a, _) in zip(keys, self.rows(), strict=True)},
            "scenario_based": {k: str(b) for k, (_, _, b) in zip(keys, self.rows(), strict=True)},
        }


def _pct(r: SimulationResult) -> Decimal:
    return Decimal(repr(100 * r.kpis.local_re_consumption_ratio)).quantize(Decimal("0.01"))


def _ms(r: SimulationResult) -> Decimal:
    return Decimal(repr(1000 * statistics.median(r.replan_seconds))).quantize(Decimal("1"))


def compare_scenarios(
    park: Park, cfg: SimulationConfig, scenarios: int, progress: Callable[[int], None] | None = None
) -> ScenarioComparison:
    """Run ``cfg`` with deterministic MPC and with scenario-based MPC over ``scenarios`` scenarios."""
    deterministic = simulate_year(park, dataclasses.replace(cfg, scenarios=1), progress)
    stochastic = simulate_year(park, dataclasses.replace(cfg, scenarios=scenarios), progress)
    return ScenarioComparison(scenarios, deterministic, stochastic)
