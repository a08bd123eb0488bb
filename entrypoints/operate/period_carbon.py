"""Carbon accounting of an operated period: factor series (both methods), an issued and verified report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ems.carbon import service
from ems.carbon.aggregate import FactorPoint
from ems.park import Park
from ems.store import Store

METHODS = ("location", "market")


@dataclass
class CarbonOutcome:
    series: dict[str, list[FactorPoint]]  # method -> hourly park factor
    ef_g_per_kwh: dict[str, Decimal | None]  # method -> factor of the whole period
    report_sha256: str
    report_files: dict[str, Path]
    verified: bool
    problems: list[str]


def period_factor(points: list[FactorPoint]) -> Decimal | None:
    """Σ emissions / Σ consumption of the points [gCO2/kWh] (consumption-weighted, not a mean of hourly values)."""
    kwh = sum((p.consumption_kwh for p in points), Decimal(0))
    kg = sum((p.emissions_kg for p in points), Decimal(0))
    return None if kwh == 0 else (kg * 1000 / kwh).quantize(Decimal("0.1"))


def account(
    store: Store, park: Park, start: dt.datetime, end: dt.datetime, reports_dir: Path, pdf: bool = True
) -> CarbonOutcome:
    """Hourly factor series by both methods, one report for [start, end) issued into the hash chain and
    verified against the chain in the database."""
    series = {m: service.factor_series(store, park, start, end, "hour", m) for m in METHODS}
    # the operated window is short and its meters start mid-run: issued even when below the completeness
    # rule, the report stating it (data_quality.completeness_problems)
    issued = service.issue_report(store, park, start, end, reports_dir, pdf=pdf, allow_incomplete=True)
    check = service.verify_report_file(issued.files["json"], store=store)
    return CarbonOutcome(
        series,
        {m: period_factor(pts) for m, pts in series.items()},
        issued.content_sha256,
        issued.files,
        check.ok,
        list(check.problems),
    )
