"""Carbon accounting of an operated period: the trading centre's contract settlement (simulated),
factor series (both methods), an issued and verified report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from ems.carbon import service
from ems.carbon.aggregate import FactorPoint
from ems.carbon.settlement import ImportResult, import_settlement
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


@dataclass
class Settlement:
    file: Path  # the simulated trading centre's settlement CSV
    imported: ImportResult
    settled_kwh: dict[str, Decimal]  # per contract


def settle(
    store: Store, park: Park, start: dt.datetime, end: dt.datetime, take_kw: dict[str, np.ndarray], out_dir: Path
) -> Settlement:
    """What a trading centre does after the period, simulated: settle each interval's contract take on
    the metered grid import (never more than was imported) and publish the file; the EMS imports it
    into the contract ledger (:mod:`ems.carbon.settlement`) as a real park would."""
    gm = park.grid_meter
    if gm is None or not take_kw:
        raise ValueError("settlement needs a grid meter and at least one green contract")
    metered = store.interval_energy(start, end, [gm.id]).e_out_kwh[0]
    h = Decimal(park.interval_minutes) / 60
    width = dt.timedelta(minutes=park.interval_minutes)
    lines = ["contract_id,start,end,kwh"]
    settled: dict[str, Decimal] = {}
    for cid, kw in take_kw.items():
        total = Decimal(0)
        for k, (p, imp) in enumerate(zip(kw.tolist(), metered.tolist(), strict=True)):
            kwh = min(Decimal(repr(max(p, 0.0))) * h, Decimal(repr(imp))).quantize(Decimal("0.001"))
            if kwh > 0:
                t0 = (start + k * width).astimezone(park.tz)
                lines.append(f"{cid},{t0.isoformat()},{(t0 + width).isoformat()},{kwh}")
                total += kwh
        settled[cid] = total
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"settlement_{start.astimezone(park.tz):%Y%m%dT%H%M}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Settlement(path, import_settlement(store, park, path.read_bytes()), settled)


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
