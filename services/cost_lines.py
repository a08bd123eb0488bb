"""Cost of a schedule as separate lines that add up to the total: energy, demand charge (prorated to
the period), green premium and carbon cost, in exact decimals (CNY, 2 dp).

* **energy**: grid-mix import at the import price − export at the export price + green-contract
  energy at its price *without* the premium + direct-line energy + battery throughput cost
  (:func:`dispatch.schedule.compute_kpis`'s energy cost minus the premium line).
* **green premium**: contract energy × the contract's ``green_premium_cny_per_mwh`` (park file).
* **demand charge**: the monthly rate is charged on a calendar month's peak metered import, so a
  period carries its share of it: for each park-local month the period touches,
  ``rate × month-to-date peak × (period hours in that month / hours of the month)``; the month-to-date
  peak includes the month's peak before the period (``month_peak_before_kw``). Counting the whole
  month's increment against one day (as the plan's objective must, to avoid raising the peak) is
  what made one demo day look 272 k CNY cheaper (issue 21).
* **carbon cost**: carbon price × emissions.

Each line is rounded to 0.01 CNY and the total is their sum, so the printed lines add up exactly.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from dispatch.problem import DispatchProblem
from dispatch.schedule import Schedule, compute_kpis
from ems.i18n import N_
from ems.park import Park
from ems.parktime import local_datetimes

CENT = Decimal("0.01")


def _cny(x: float) -> Decimal:
    return Decimal(repr(float(x))).quantize(CENT)


@dataclass(frozen=True)
class CostLines:
    energy_cny: Decimal
    demand_charge_cny: Decimal
    green_premium_cny: Decimal
    carbon_cost_cny: Decimal
    month_to_date_peak_kw: Decimal  # metered import peak of the period's last month, up to the period end
    period_share_of_month: Decimal  # demand-charge proration of that month

    @property
    def total_cny(self) -> Decimal:
        return self.energy_cny + self.demand_charge_cny + self.green_premium_cny + self.carbon_cost_cny

    def rows(self) -> list[tuple[str, Decimal]]:
        """(label, CNY) in print order, the total last; labels are msgids (translated where shown)."""
        return [
            (N_("energy"), self.energy_cny),
            (N_("demand charge (prorated)"), self.demand_charge_cny),
            (N_("green premium"), self.green_premium_cny),
            (N_("carbon cost"), self.carbon_cost_cny),
            (N_("total"), self.total_cny),
        ]

    def as_dict(self) -> dict[str, str]:
        return {
            "energy_cny": str(self.energy_cny),
            "demand_charge_cny": str(self.demand_charge_cny),
            "green_premium_cny": str(self.green_premium_cny),
            "carbon_cost_cny": str(self.carbon_cost_cny),
            "total_cny": str(self.total_cny),
            "month_to_date_peak_kw": str(self.month_to_date_peak_kw),
            "period_share_of_month": str(self.period_share_of_month),
        }


def cost_lines(park: Park, p: DispatchProblem, s: Schedule, month_peak_before_kw: float = 0.0) -> CostLines:
    """The cost lines of schedule ``s`` (module docstring)."""
    h, T = p.dt_h, p.T
    k = compute_kpis(p, s)
    premium = {c.id: float(c.green_premium_cny_per_mwh) / 1000.0 for c in park.green.contracts}
    green = sum(premium.get(c.id, 0.0) * float(s.contract_kw[c.id].sum()) * h for c in p.contracts)
    metered = s.grid_import_kw + sum((s.contract_kw[c.id] for c in p.contracts), np.zeros(T))
    local = local_datetimes(p.times, park.tz)
    months = np.array([t.year * 12 + t.month - 1 for t in local])
    rate = p.demand_charge_cny_per_kw_month
    demand = 0.0
    peak = share = 0.0
    for i, m in enumerate(np.unique(months)):
        inside = months == m
        before = month_peak_before_kw if i == 0 else 0.0
        peak = max(before, float(metered[inside].max()))
        year, month = divmod(int(m), 12)
        share = float(inside.sum()) * h / (calendar.monthrange(year, month + 1)[1] * 24.0)
        demand += rate * peak * share
    return CostLines(
        energy_cny=_cny(k.energy_cost_cny - green),
        demand_charge_cny=_cny(demand),
        green_premium_cny=_cny(green),
        carbon_cost_cny=_cny(k.carbon_cost_cny),
        month_to_date_peak_kw=Decimal(repr(peak)).quantize(Decimal("0.1")),
        period_share_of_month=Decimal(repr(share)).quantize(Decimal("0.0001")),
    )
