"""The city-platform payload of one period: hourly consumption, emissions and factors of the park
and of each tenant (enterprise), and the park's indicator progress.

Built from the footprint allocation (:func:`ems.footprint.service.footprint_for`), whose integer
milli-unit columns are summed per hour, so each tenant's hour adds up exactly to the allocated
park hour. Every energy, mass and factor is a decimal string (exact; JSON numbers are binary floats).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np

import ems
from ems.carbon import service as carbon
from ems.carbon.aggregate import milli_to_decimal
from ems.carbon.factors import FactorRegistry
from ems.carbon.report import build_report
from ems.documents.content import park_identity
from ems.footprint import service as footprint
from ems.footprint.result import FootprintRun
from ems.park import Park
from ems.store import Store

SCHEMA = "city-exchange/1"
HOUR_COLUMNS = ("consumption_kwh", "grid_kwh", "local_re_kwh", "direct_green_kwh", "location_kg", "market_kg")
_FACTOR_Q = Decimal("0.000001")


class ExchangeError(ValueError):
    """The requested period cannot be exported (not whole hours, too long)."""


def _hourly(milli: np.ndarray, per_hour: int) -> list[int]:
    """Sum consecutive intervals into hours (integer milli-units: exact)."""
    return [int(x) for x in milli.reshape(-1, per_hour).sum(axis=1)]


def _hours(
    columns: dict[str, np.ndarray], starts: list[dt.datetime], per_hour: int, zone: dt.tzinfo
) -> list[dict[str, Any]]:
    sums = {c: _hourly(columns[c], per_hour) for c in HOUR_COLUMNS}
    out = []
    for h, start in enumerate(starts):
        row: dict[str, Any] = {"start": start.astimezone(zone).isoformat()}
        row.update({c: str(milli_to_decimal(sums[c][h])) for c in HOUR_COLUMNS})
        kwh = sums["consumption_kwh"][h]
        for method in ("location", "market"):
            kg = sums[f"{method}_kg"][h]
            # factor = emissions / consumption of the hour; undefined without consumption
            row[f"ef_{method}_kg_per_kwh"] = None if kwh == 0 else str((Decimal(kg) / Decimal(kwh)).quantize(_FACTOR_Q))
        out.append(row)
    return out


def check_period(park: Park, start: dt.datetime, end: dt.datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ExchangeError("start and end need a time zone")
    if not start < end:
        raise ExchangeError("start must be before end")
    if (end - start) > dt.timedelta(days=31):
        raise ExchangeError("an exchange payload covers at most 31 days; request it in parts")
    for t in (start, end):
        if t.astimezone(dt.UTC).minute or t.second or t.microsecond:
            raise ExchangeError(f"{t.isoformat()} is not on a whole hour")


def build_payload(fr: FootprintRun, budget: dict[str, Any] | None, generated_at: dt.datetime) -> dict[str, Any]:
    """The payload of an accounted and allocated period (module docstring)."""
    park, al, run = fr.park, fr.allocation, fr.run
    per_hour = 60 // park.interval_minutes
    n_hours = len(al.starts) // per_hour
    starts = [fr.start + dt.timedelta(hours=h) for h in range(n_hours)]
    zone = park.tz
    tenants = {t.id: t for t in park.tenants}
    report = build_report(run, software_version=ems.__version__)
    rows = {r: {c: al.columns[c][al.row(r)] for c in HOUR_COLUMNS} for r in al.rows}
    return {
        "schema": SCHEMA,
        "software": {"name": "zero-carbon-park-ems", "version": ems.__version__},
        "generated_at": generated_at.astimezone(zone).isoformat(),
        "park": park_identity(park),
        "period": {"start": fr.start.astimezone(zone).isoformat(), "end": fr.end.astimezone(zone).isoformat()},
        "units": {"energy": "kWh", "emissions": "kgCO2", "factor": "kgCO2/kWh"},
        "factors": {"grid": run.grid_factor.provenance, "residual": run.residual_factor.provenance},
        "completeness": str(Decimal(f"{float(run.accounts.flows.completeness.mean()):.6f}")),
        "park_hours": _hours(al.park, starts, per_hour, zone),
        "enterprises": [
            {"id": t, "name": tenants[t].name, "hours": _hours(rows[t], starts, per_hour, zone)}
            for t in fr.plan.tenants
        ],
        "rest_of_park": [
            {"id": r, "hours": _hours(rows[r], starts, per_hour, zone)} for r in al.rows if r not in tenants
        ],
        "indicators": report["indicators"],
        "budget": budget,
    }


def payload_for(
    store: Store,
    park: Park,
    start: dt.datetime,
    end: dt.datetime,
    registry: FactorRegistry | None = None,
    generated_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Account, allocate and build the payload of [start, end) (whole hours)."""
    check_period(park, start, end)
    registry = registry or carbon.load_registry(store)
    fr = footprint.footprint_for(store, park, start, end, registry)
    budget = None
    if park.carbon.annual_budget_tco2 > 0:
        budget = carbon.year_budget(store, park, fr.run, registry).as_dict()
    return build_payload(fr, budget, generated_at or dt.datetime.now(dt.UTC))
