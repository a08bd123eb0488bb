"""PDF rendering of a report (reportlab, matplotlib charts). Reads only the report content.

The PDF is a human-readable view: summary, both methods, factor provenance, evidence,
indicators, data quality, formulas and charts. The interval data live in the JSON/CSV files,
which are what the hash chain protects; the PDF names the content hash it was made from.
Rendering is deterministic (reportlab ``invariant`` mode, fixed chart metadata).
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ems.documents.chain import content_hash


def _chart_png(report: dict[str, Any], resolution: str, title: str) -> bytes:
    data = report["factors_by_period"][resolution]
    x = list(range(len(data["time"])))
    loc = [float(v) if v is not None else float("nan") for v in data["location_g_per_kwh"]]
    mkt = [float(v) if v is not None else float("nan") for v in data["market_g_per_kwh"]]
    fig, ax = plt.subplots(figsize=(7.5, 3.0), dpi=110)
    ax.plot(x, loc, label="location-based", color="#b5651d", linewidth=1.2)
    ax.plot(x, mkt, label="market-based", color="#2e7d32", linewidth=1.2)
    ax.set_ylabel("gCO2/kWh")
    ax.set_title(title, fontsize=10)
    step = max(1, len(x) // 8)
    ax.set_xticks(x[::step])
    ax.set_xticklabels(
        [t[:10] if resolution != "hour" else t[5:13] for t in data["time"][::step]], fontsize=7, rotation=20
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


# Chinese document names need a CJK font: Adobe's STSong-Light CID font is built into reportlab
# (no font file shipped; PDF viewers supply the glyphs), and it covers Latin text too.
CJK_FONT = "STSong-Light"


def pdf_styles() -> Any:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    styles = getSampleStyleSheet()
    styles["BodyText"].fontName = CJK_FONT
    return styles


def _table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    styles = pdf_styles()
    cells = [[Paragraph(str(c) if c is not None else "-", styles["BodyText"]) for c in r] for r in rows]
    t = Table(cells, colWidths=widths, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0e8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return t


def render_pdf(report: dict[str, Any]) -> bytes:
    """The report as PDF bytes (same content → same bytes)."""
    styles = pdf_styles()
    h1, h2, body = styles["Heading1"], styles["Heading2"], styles["BodyText"]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        invariant=1,
        title="Park emission-factor report",
        leftMargin=1.6 * cm,
        rightMargin=1.6 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
    )
    p, per, loc, mkt = report["park"], report["period"], report["location_based"], report["market_based"]
    story: list[Any] = [
        Paragraph("Park emission-factor report", h1),
        Paragraph(f"{p['name']} ({p['province']}, {p['grid_region']} grid)", body),
        Paragraph(
            f"Period {per['start']} to {per['end']} ({per['intervals']} intervals of {per['interval_minutes']} min)",
            body,
        ),
        Paragraph(
            f"Content SHA-256: {content_hash(report)}; software {report['software']['name']} "
            f"{report['software']['version']}; replaces: {report['replaces'] or 'none'}",
            body,
        ),
        Spacer(1, 0.3 * cm),
        Paragraph("Results", h2),
        _table(
            [
                ["", "location-based", "market-based"],
                ["Scope 2 emissions [kgCO2]", loc["scope2_emissions_kg"], mkt["scope2_emissions_kg"]],
                [
                    "Consumption-attributed [kgCO2]",
                    loc["attributed_emissions_kg"],
                    mkt["attributed_emissions_kg"],
                ],
                [
                    "Park emission factor [kgCO2/kWh]",
                    loc["park_factor_kg_per_kwh"],
                    mkt["park_factor_kg_per_kwh"],
                ],
                [
                    "Storage pool start / end [kgCO2]",
                    f"{loc['storage_pool_start_kg']} / {loc['storage_pool_end_kg']}",
                    f"{mkt['storage_pool_start_kg']} / {mkt['storage_pool_end_kg']}",
                ],
                [
                    "Reconciliation residual [kgCO2]",
                    loc["reconciliation_residual_kg"],
                    mkt["reconciliation_residual_kg"],
                ],
            ],
            [7 * cm, 5 * cm, 5 * cm],
        ),
        Spacer(1, 0.3 * cm),
        _table(
            [["Quantity", "kWh"]] + [[k, v] for k, v in report["totals"].items() if k.endswith("_kwh")],
            [9 * cm, 6 * cm],
        ),
        *[
            Paragraph(f"{d['title']} [{name}]: {d['score'] if d['score'] is not None else 'n/a'} {d['note']}", body)
            for name, d in report["cfe_scores"].items()
        ],
    ]
    story.append(
        Image(
            io.BytesIO(_chart_png(report, "day", "Daily park emission factor")),
            width=17 * cm,
            height=6.8 * cm,
        )
    )
    if len(report["factors_by_period"]["hour"]["time"]) <= 24 * 62:
        story.append(
            Image(
                io.BytesIO(_chart_png(report, "hour", "Hourly park emission factor")),
                width=17 * cm,
                height=6.8 * cm,
            )
        )
    story += [PageBreak(), Paragraph("Indicators (zero-carbon park)", h2)]
    ind = report["indicators"]
    keys = [
        "energy_tce",
        "energy_tce_per_year",
        "co2_t",
        "intensity_t_per_tce",
        "intensity_limit",
        "intensity_gap",
        "intensity_ok",
        "clean_share",
        "clean_share_gap",
        "clean_share_ok",
        "direct_green_share",
        "band",
    ]
    story.append(
        _table(
            [["Indicator", "location-based", "market-based"]]
            + [[k, ind["location"][k], ind["market"][k]] for k in keys],
            [6 * cm, 5.5 * cm, 5.5 * cm],
        )
    )
    story.append(Paragraph(report["thresholds_source"], body))
    b = report["budget"]
    if b:
        story.append(
            Paragraph(
                f"Annual budget {b['budget_t']} t; year to date {b['ytd_t']} t; projected "
                f"{b['projected_t']} t. {' '.join(b['warnings']) or 'No warning.'}",
                body,
            )
        )
    story.append(Paragraph("Emission factors (provenance)", h2))
    for role, f in report["factors"].items():
        story.append(_table([["field", role]] + [[k, v] for k, v in f.items()], [4 * cm, 13 * cm]))
        story.append(Spacer(1, 0.2 * cm))
    ev = report["evidence"]
    story.append(Paragraph("Evidence: green-power contract deliveries", h2))
    story.append(
        _table(
            [["id", "contract", "granularity", "period", "kWh", "claimed kWh"]]
            + [
                [
                    d["delivery_id"],
                    d["contract_id"],
                    d["granularity"],
                    f"{d['period_start']} - {d['period_end']}",
                    d["kwh"],
                    d["claimed_in_report_kwh"],
                ]
                for d in ev["contract_deliveries"]
            ]
        )
    )
    story.append(Paragraph("Evidence: retired green certificates", h2))
    story.append(
        _table(
            [["period", "certificates", "serials", "allocated kWh", "unallocated kWh"]]
            + [
                [
                    f"{r['period_start']} - {r['period_end']}",
                    r["certificates"],
                    f"{r['serials'][0]} … {r['serials'][-1]}" if r["serials"] else "",
                    r["allocated_in_report_kwh"],
                    r["unallocated_kwh"],
                ]
                for r in ev["certificate_retirements"]
            ]
        )
    )
    dq = report["data_quality"]
    story += [
        Paragraph("Data quality", h2),
        Paragraph(
            f"Mean completeness {dq['mean_completeness']}; {dq['intervals_estimated']} of {dq['intervals']} "
            f"intervals contain filled values ({dq['filled_values']}). {dq['gap_filling']}",
            body,
        ),
        Paragraph("Boundary and meters", h2),
        Paragraph(", ".join(f"{k}: {v}" for k, v in report["boundary"].items()), body),
        Paragraph("Formulas", h2),
    ]
    story += [Paragraph(f"<b>{k}</b>: {v}", body) for k, v in report["formulas"].items()]
    story.append(Paragraph(report["rounding"], body))
    story.append(
        Paragraph("Verify with: ems report verify FILE.json (checks the content hash and the hash chain).", body)
    )
    doc.build(story)
    return buf.getvalue()
