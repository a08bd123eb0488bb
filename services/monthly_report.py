"""The monthly operator report: energy by source, cost by component, indicators, alerts, as Excel and PDF.

One story with the auditor: the energies, claims and indicators are those of the carbon report for
the same month (:func:`ems.carbon.service.report_content`, same accounting run); the report's content
hash is printed, so the two documents can be matched. Costs are priced here, exact decimals, from
the park file's tariff and green-supply prices:

* grid energy: ``Σ_t (I_t − C_t) × TOU_t`` — metered import less the contract energy claimed in the
  interval, at the time-of-use price of the interval's start (park time);
* green-power contracts: each delivery's claimed energy × its contract's price (incl. premium);
* direct green lines: each line's metered intake × its price;
* demand charge: the month's highest 15-minute mean import ``max_t I_t / h`` × the monthly rate;
* export: ``− Σ_t X_t × export price`` (revenue, negative);
* total: the exact sum. Transmission and distribution charges beyond the tariff are not modelled.

The alerts are those raised in the month (:mod:`ems.alerts`), with when they cleared and who
acknowledged them. Every amount is rounded half-to-even to 0.01 CNY once, from the exact product; the total is the sum
of the rounded lines. Completeness is stated; a month whose boundary meters cover less than
``MIN_COMPLETENESS`` is refused (gaps would be filled, not measured).
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np

from ems.alerts.engine import alerts
from ems.carbon import service
from ems.documents.chain import content_hash
from ems.park import Park
from ems.store import Store

CNY = Decimal("0.01")
MWH = Decimal("0.001")
MIN_COMPLETENESS = Decimal("0.9")
MAX_ALERTS = 5000
ENERGY_ROWS = (  # (key in the report's totals, label)
    ("grid_import_kwh", "Grid import (metered)"),
    ("contract_kwh", "  of which green-power contracts"),
    ("local_re_kwh", "Local PV and wind"),
    ("re_consumed_kwh", "  of which consumed in the park"),
    ("direct_green_kwh", "Direct green lines"),
    ("discharge_kwh", "Battery discharge"),
    ("charge_kwh", "Battery charge"),
    ("storage_losses_kwh", "Battery losses"),
    ("export_kwh", "Export"),
    ("consumption_kwh", "Park consumption"),
    ("certificate_kwh", "Covered by certificates (GEC)"),
)
COST_ROWS = (
    ("grid_energy", "Grid energy (TOU)"),
    ("contracts", "Green-power contracts"),
    ("direct_lines", "Direct green lines"),
    ("demand_charge", "Demand charge"),
    ("export", "Export revenue"),
    ("total", "Total"),
)


class IncompleteMonth(ValueError):
    """The month's metered data are too incomplete to report."""


@dataclass(frozen=True)
class MonthlyReport:
    park: str
    timezone: str
    month: str  # YYYY-MM, park time
    start: dt.datetime
    end: dt.datetime
    completeness: Decimal
    energy_mwh: dict[str, Decimal]
    cost_cny: dict[str, Decimal]
    peak_import_kw: Decimal
    peak_at: dt.datetime  # start of the peak interval, park time
    indicators: dict[str, Any]
    park_factor_g_per_kwh: dict[str, Decimal | None]  # location / market
    daily: list[dict[str, Any]]  # per park-time day: energies [MWh] and grid energy cost
    carbon_report_sha256: str
    alerts: list[dict[str, str]]  # raised in the month, oldest first


def month_bounds(park: Park, month: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of a park-time calendar month ``YYYY-MM``."""
    try:
        first = dt.datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise ValueError(f"month {month!r} is not YYYY-MM") from None
    nxt = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
    return (first.replace(tzinfo=park.tz).astimezone(dt.UTC), nxt.replace(tzinfo=park.tz).astimezone(dt.UTC))


def _money(x: Decimal) -> Decimal:
    return x.quantize(CNY, rounding=ROUND_HALF_EVEN)


def monthly_report(store: Store, park: Park, month: str, *, now: dt.datetime | None = None) -> MonthlyReport:
    """Figures of one month (module docstring); raises :class:`IncompleteMonth` or ``ValueError``."""
    start, end = month_bounds(park, month)
    if end > (now or dt.datetime.now(dt.UTC)):
        raise ValueError(f"month {month} has not ended yet (ends {end.astimezone(park.tz).isoformat()})")
    content = service.report_content(store, park, start, end)
    completeness = Decimal(content["data_quality"]["mean_completeness"])
    if completeness < MIN_COMPLETENESS:
        raise IncompleteMonth(
            f"month {month}: the boundary meters cover {completeness:.1%} of the intervals "
            f"(at least {MIN_COMPLETENESS:.0%} needed for an operator report)"
        )
    t = {k: Decimal(v) for k, v in content["totals"].items()}
    iv = content["intervals"]
    starts = [dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC) for s in iv["start_utc"]]
    imp = [Decimal(x) for x in iv["grid_import_kwh"]]
    con = [Decimal(x) for x in iv["contract_kwh"]]
    exp = [Decimal(x) for x in iv["export_kwh"]]
    local = [s.astimezone(park.tz) for s in starts]
    price = [park.tariff.mean_price(lt, park.interval_minutes) for lt in local]
    grid_energy = sum((max(i - c, Decimal(0)) * p for i, c, p in zip(imp, con, price, strict=True)), Decimal(0))
    prices = {c.id: c.price_cny_per_mwh / 1000 for c in park.green.contracts}
    contracts = sum(
        (
            Decimal(d["claimed_in_report_kwh"]) * prices[d["contract_id"]]
            for d in content["evidence"]["contract_deliveries"]
        ),
        Decimal(0),
    )
    direct = _direct_cost(store, park, start, end)
    h = Decimal(park.interval_minutes) / 60
    k_peak = int(np.argmax([float(x) for x in imp])) if imp else 0
    peak_kw = imp[k_peak] / h if imp else Decimal(0)
    cost = {
        "grid_energy": _money(grid_energy),
        "contracts": _money(contracts),
        "direct_lines": _money(direct),
        "demand_charge": _money(peak_kw * park.tariff.demand_charge_cny_per_kw_month),
        "export": _money(-sum(exp, Decimal(0)) * park.tariff.export_price_cny_per_kwh),
    }
    cost["total"] = sum(cost.values(), Decimal(0))
    factors = {
        m: None if (v := content[f"{m}_based"]["park_factor_kg_per_kwh"]) is None else Decimal(v) * 1000
        for m in ("location", "market")
    }
    return MonthlyReport(
        park=park.name,
        timezone=park.timezone,
        month=month,
        start=start,
        end=end,
        completeness=completeness,
        energy_mwh={k: (t[k] / 1000).quantize(MWH) for k, _ in ENERGY_ROWS},
        cost_cny=cost,
        peak_import_kw=peak_kw.quantize(Decimal("0.1")),
        peak_at=local[k_peak] if local else start,
        indicators=content["indicators"],
        park_factor_g_per_kwh=factors,
        daily=_daily(iv, local, price),
        carbon_report_sha256=content_hash(content),
        alerts=_alerts(store, park, start, end),
    )


def _alerts(store: Store, park: Park, start: dt.datetime, end: dt.datetime) -> list[dict[str, str]]:
    def local(t: dt.datetime | None) -> str:
        return "" if t is None else t.astimezone(park.tz).isoformat(timespec="minutes")

    rows = [a for a in alerts(store, since=start, limit=MAX_ALERTS) if a.raised_at < end]
    return [
        {
            "raised": local(a.raised_at),
            "severity": a.severity,
            "rule": a.rule,
            "subject": a.subject,
            "message": a.message,
            "cleared": local(a.cleared_at),
            "acknowledged_by": a.acked_by or "",
        }
        for a in reversed(rows)
    ]


def _direct_cost(store: Store, park: Park, start: dt.datetime, end: dt.datetime) -> Decimal:
    lines = [c for c in park.green.direct_connections if c.meter]
    if not lines:
        return Decimal(0)
    ie = store.interval_energy(start, end, [c.meter for c in lines if c.meter])
    total = Decimal(0)
    for i, c in enumerate(lines):
        kwh = Decimal(repr(float(ie.e_out_kwh[i].sum()))).quantize(MWH)
        total += kwh * c.price_cny_per_kwh
    return total


def _daily(iv: dict[str, list[Any]], local: list[dt.datetime], price: list[Decimal]) -> list[dict[str, Any]]:
    keys = ("grid_import_kwh", "contract_kwh", "re_consumed_kwh", "direct_consumed_kwh", "discharge_kwh", "export_kwh")
    days: dict[dt.date, dict[str, Any]] = {}
    for j, lt in enumerate(local):
        row = days.setdefault(
            lt.date(), {"day": lt.date().isoformat(), **{k: Decimal(0) for k in keys}, "cost": Decimal(0)}
        )
        for k in keys:
            row[k] += Decimal(iv[k][j])
        row["cost"] += max(Decimal(iv["grid_import_kwh"][j]) - Decimal(iv["contract_kwh"][j]), Decimal(0)) * price[j]
    out = []
    for row in days.values():
        out.append({"day": row["day"], **{k: (row[k] / 1000).quantize(MWH) for k in keys}, "cost": _money(row["cost"])})
    return out


# ---------------------------------------------------------------------------- renderings


def _local(t: dt.datetime, tz: str) -> str:
    return t.astimezone(zoneinfo.ZoneInfo(tz)).isoformat()


def to_xlsx(r: MonthlyReport) -> bytes:
    """Excel workbook: Summary (energy, cost, indicators) and Daily (with a stacked bar chart)."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Summary"
    bold = Font(bold=True)
    ws.append([f"{r.park}: operator report {r.month}"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(["period (park time)", _local(r.start, r.timezone), _local(r.end, r.timezone)])
    ws.append(["data completeness", float(r.completeness)])
    ws.append(["carbon report content sha256", r.carbon_report_sha256])
    ws.append([])
    ws.append(["Energy", "MWh"])
    ws.cell(ws.max_row, 1).font = bold
    for k, label in ENERGY_ROWS:
        ws.append([label, r.energy_mwh[k]])
    ws.append([])
    ws.append(["Cost", "CNY"])
    ws.cell(ws.max_row, 1).font = bold
    for k, label in COST_ROWS:
        ws.append([label, r.cost_cny[k]])
    ws.append(["Peak import (kW, 15-min mean)", r.peak_import_kw, r.peak_at.isoformat()])
    ws.append([])
    ws.append(["Indicators (market-based)", ""])
    ws.cell(ws.max_row, 1).font = bold
    for k in ("intensity_t_per_tce", "clean_share", "direct_green_share", "energy_tce", "co2_t"):
        ws.append([k, r.indicators.get(k)])
    for m, v in r.park_factor_g_per_kwh.items():
        ws.append([f"park factor, {m}-based (gCO2/kWh)", None if v is None else v.quantize(Decimal("0.1"))])
    for col, width in (("A", 38), ("B", 18), ("C", 28)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_col=2, max_col=2):
        for cell in row:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00" if cell.row > 16 else "#,##0.000"
    daily = wb.create_sheet("Daily")
    head = ["day", "grid mix", "contracts", "local RE", "direct lines", "battery", "export", "grid energy CNY"]
    daily.append(head)
    for d in r.daily:
        daily.append(
            [
                d["day"],
                d["grid_import_kwh"] - d["contract_kwh"],
                d["contract_kwh"],
                d["re_consumed_kwh"],
                d["direct_consumed_kwh"],
                d["discharge_kwh"],
                d["export_kwh"],
                d["cost"],
            ]
        )
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title, chart.y_axis.title = "Supply by source (MWh)", "MWh"
    n = len(r.daily) + 1
    chart.add_data(Reference(daily, min_col=2, max_col=6, min_row=1, max_row=n), titles_from_data=True)
    chart.set_categories(Reference(daily, min_col=1, min_row=2, max_row=n))
    for series, colour in zip(chart.series, ("9E9E9E", "2E7D32", "F2B705", "3A86FF", "8338EC"), strict=True):
        series.graphicalProperties.solidFill = colour  # grid mix grey, green only for green supply
    chart.width, chart.height = 24, 10
    daily.add_chart(chart, "J2")
    sheet = wb.create_sheet("Alerts")
    cols = ["raised", "severity", "rule", "subject", "message", "cleared", "acknowledged_by"]
    sheet.append(cols)
    for a in r.alerts:
        sheet.append([a[c] for c in cols])
    sheet.column_dimensions["E"].width = 60
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def daily_chart_png(r: MonthlyReport) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = [d["day"][5:] for d in r.daily]
    layers = [
        ("grid mix", "#9e9e9e", [float(d["grid_import_kwh"] - d["contract_kwh"]) for d in r.daily]),
        ("contracts", "#2e7d32", [float(d["contract_kwh"]) for d in r.daily]),
        ("local RE", "#f2b705", [float(d["re_consumed_kwh"]) for d in r.daily]),
        ("direct lines", "#3a86ff", [float(d["direct_consumed_kwh"]) for d in r.daily]),
        ("battery", "#8338ec", [float(d["discharge_kwh"]) for d in r.daily]),
    ]
    fig, ax = plt.subplots(figsize=(7.5, 3.2), dpi=110)
    bottom = np.zeros(len(days))
    for label, colour, values in layers:
        ax.bar(days, values, bottom=bottom, color=colour, label=label, width=0.8)
        bottom += np.asarray(values)
    ax.set_ylabel("MWh")
    ax.set_title(f"Supply by source, {r.month}", fontsize=10)
    ax.tick_params(axis="x", labelsize=6, rotation=90)
    ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def to_pdf(r: MonthlyReport) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table

    from ems.carbon.pdf import pdf_styles

    styles = pdf_styles(r)  # the font subset holds every string of the report (park name, alerts)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=f"{r.park} {r.month}", invariant=1)
    energy = [["Energy", "MWh"], *([label, f"{r.energy_mwh[k]:,}"] for k, label in ENERGY_ROWS)]
    cost = [["Cost", "CNY"], *([label, f"{r.cost_cny[k]:,}"] for k, label in COST_ROWS)]
    ind = r.indicators
    story = [
        Paragraph(f"{r.park}: operator report {r.month}", styles["Title"]),
        Paragraph(
            f"Period {_local(r.start, r.timezone)} to {_local(r.end, r.timezone)} ({r.timezone}); "
            f"data completeness {r.completeness:.1%}; carbon report content {r.carbon_report_sha256[:16]}…",
            styles["BodyText"],
        ),
        Spacer(1, 0.3 * cm),
        Table(energy, colWidths=[9 * cm, 4 * cm]),
        Spacer(1, 0.3 * cm),
        Table(cost, colWidths=[9 * cm, 4 * cm]),
        Paragraph(f"Peak import {r.peak_import_kw:,} kW at {r.peak_at.isoformat()}", styles["BodyText"]),
        Spacer(1, 0.3 * cm),
        Paragraph(
            f"Indicators (market-based): {ind.get('intensity_t_per_tce')} tCO2/tce, clean-energy share "
            f"{ind.get('clean_share')}, direct green share {ind.get('direct_green_share')}; park factor "
            f"{r.park_factor_g_per_kwh['location']} (location) / {r.park_factor_g_per_kwh['market']} (market) gCO2/kWh",
            styles["BodyText"],
        ),
        Image(io.BytesIO(daily_chart_png(r)), width=17 * cm, height=7.2 * cm),
        Paragraph(f"Alerts raised in the month: {len(r.alerts)}", styles["Heading2"]),
    ]
    if r.alerts:
        rows = [["raised", "severity", "rule", "subject", "cleared", "ack."]]
        rows += [
            [a["raised"], a["severity"], a["rule"], a["subject"], a["cleared"], a["acknowledged_by"]]
            for a in r.alerts[:40]
        ]
        story.append(Table(rows, colWidths=[3.4 * cm, 1.8 * cm, 3.2 * cm, 3.2 * cm, 3.4 * cm, 2.0 * cm]))
    doc.build(story)
    return buf.getvalue()
