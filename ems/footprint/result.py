"""One footprint computation: accounting run + tenant meters + ledgers + production → :class:`FootprintRun`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ems.carbon.aggregate import milli_to_decimal
from ems.carbon.certificates import Certificate
from ems.carbon.flows import IntervalEnergyLike
from ems.carbon.run import AccountingRun
from ems.footprint.allocate import Allocation, allocate
from ems.footprint.instruments import HeldInstruments, held_instruments
from ems.footprint.metering import MeterPlan, meter_plan, read_metered
from ems.park import Park, Tenant

Production = dict[tuple[str, dt.date], tuple[Decimal, str]]


@dataclass(frozen=True)
class FootprintRun:
    park: Park
    start: dt.datetime
    end: dt.datetime
    run: AccountingRun
    plan: MeterPlan
    allocation: Allocation
    held: HeldInstruments
    production: Production
    certificates: dict[str, Certificate]

    def tenant(self, tenant_id: str) -> Tenant:
        for t in self.park.tenants:
            if t.id == tenant_id:
                return t
        raise KeyError(f"unknown tenant {tenant_id!r} (park file knows: {', '.join(self.plan.tenants) or 'none'})")

    def days(self) -> list[dt.date]:
        """Park-local calendar days touched by [start, end)."""
        zone = self.park.tz
        first = self.start.astimezone(zone).date()
        last = (self.end.astimezone(zone) - dt.timedelta(microseconds=1)).date()
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def kwh(self, column: str, row: str) -> Decimal:
        return milli_to_decimal(self.allocation.total(column, row))

    def line_total(self, line: str, column: str) -> Decimal:
        return milli_to_decimal(int(self.allocation.lines[line][column].sum()))


def compute_footprint(
    park: Park,
    start: dt.datetime,
    end: dt.datetime,
    run: AccountingRun,
    meters: IntervalEnergyLike,
    production: Production,
    certificates: dict[str, Certificate],
) -> FootprintRun:
    """Pure: allocate the accounting run to the park's tenants (see :mod:`ems.footprint.allocate`)."""
    plan = meter_plan(park)
    if len(meters.starts) != len(run.accounts.flows) or (
        len(meters.starts)
        and not np.array_equal(np.asarray(meters.starts, "datetime64[us]"), run.accounts.flows.starts)
    ):
        raise ValueError("tenant meter intervals do not match the accounting run's intervals")
    held = held_instruments(run, park)
    alloc = allocate(run, plan, read_metered(plan, meters), held)
    return FootprintRun(park, start, end, run, plan, alloc, held, production, certificates)
