"""PDF rendering of a report (reportlab, matplotlib charts) in English or Chinese. Reads only the
report content.

The PDF is a human-readable view: summary, both methods, factor provenance, evidence,
indicators, data quality, formulas and charts, with human labels and units
(:mod:`ems.carbon.labels`) in the language asked for (:mod:`ems.i18n`). The interval data live
in the JSON/CSV files, which are what the hash chain protects; the PDF names the content hash it
was made from. Every text is drawn with Noto Sans CJK SC embedded as a TrueType subset
(:mod:`ems.cjk_font`), so it renders the same in every viewer; rendering is deterministic
(reportlab ``invariant`` mode, fixed chart metadata).
"""

from __future__ import annotations

import functools
import io
import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.font_manager import FontProperties
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ems.carbon.labels import (
    BOUNDARY,
    FACTOR_FIELDS,
    FACTOR_ROLES,
    FILL_METHODS,
    FORMULAS,
    INDICATORS,
    QUANTITIES,
    label,
)
from ems.cjk_font import subset_font
from ems.documents.chain import content_hash
from ems.i18n import N_, catalogue, translate


@functools.lru_cache(maxsize=16)
def _register(name: str, data: bytes) -> str:
    """Register a subset font with reportlab and matplotlib (a file, which matplotlib needs)."""
    pdfmetrics.registerFont(TTFont(name, io.BytesIO(data)))
    pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)
    path = Path(tempfile.gettempdir()) / f"ems-{name}.ttf"
    if not path.exists():  # written whole, then renamed: other processes never see half a file
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as fh:
            fh.write(data)
        os.replace(fh.name, path)
    return str(path)


def pdf_styles(content: Any = None) -> StyleSheet1:
    """reportlab styles drawn with the embedded CJK font, subset to what a document can put on a
    page: ``content`` (any JSON-like data or dataclass; its strings) and every message of the
    catalogue in both languages. Text from elsewhere must be in ``content`` or the font lacks it."""
    messages = catalogue("zh-CN", "ems")
    text = json.dumps(content, ensure_ascii=False, default=str) + "".join(messages) + "".join(messages.values())
    name, data = subset_font(text.replace("₂", "2"))  # CO₂ is drawn as CO<sub>2</sub>
    path = _register(name, data)
    styles = getSampleStyleSheet()
    for s in styles.byName.values():
        s.fontName = name
    styles.font_path = path
    return styles


def para(text: Any, style: Any) -> Paragraph:
    """A paragraph of plain text (escaped; CO₂ with a subscript the font has)."""
    return Paragraph(escape("–" if text is None else str(text)).replace("₂", "<sub>2</sub>"), style)


def _chart_png(report: dict[str, Any], resolution: str, title: str, lang: str, font_path: str) -> bytes:
    fp = FontProperties(fname=font_path)
    data = report["factors_by_period"][resolution]
    x = list(range(len(data["time"])))
    loc = [float(v) if v is not None else float("nan") for v in data["location_g_per_kwh"]]
    mkt = [float(v) if v is not None else float("nan") for v in data["market_g_per_kwh"]]
    fig, ax = plt.subplots(figsize=(7.5, 3.0), dpi=110)
    ax.plot(x, loc, label=translate("location-based", lang), color="#b5651d", linewidth=1.2)
    ax.plot(x, mkt, label=translate("market-based", lang), color="#2e7d32", linewidth=1.2)
    ax.set_ylabel("gCO2/kWh", fontproperties=fp)
    ax.set_title(title, fontsize=10, fontproperties=fp)
    step = max(1, len(x) // 8)
    ax.set_xticks(x[::step])
    ax.set_xticklabels(
        [t[:10] if resolution != "hour" else t[5:13] for t in data["time"][::step]],
        fontsize=7,
        rotation=20,
        fontproperties=fp,
    )
    ax.grid(alpha=0.3)
    ax.legend(prop=FontProperties(fname=font_path, size=8))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _table(rows: list[list[Any]], styles: StyleSheet1, widths: list[float] | None = None) -> Table:
    cells = [[para(c if c is not None else "-", styles["BodyText"]) for c in r] for r in rows]
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


def _order(item: tuple[str, Any]) -> int:
    """Totals in the order of the label table (flows, storage, consumption, claims), others last."""
    return list(QUANTITIES).index(item[0]) if item[0] in QUANTITIES else len(QUANTITIES)


def _value(key: str, v: Any, lang: str) -> str:
    """An indicator value for people: shares in per cent, yes/no, '–' for none."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return translate(N_("yes") if v else N_("no"), lang)
    if key == "band":
        return translate(v, lang)
    if INDICATORS.get(key, ("", ""))[1] == "%":
        return f"{(Decimal(v) * 100).quantize(Decimal('0.0001'))}"
    return str(v)


def render_pdf(report: dict[str, Any], lang: str = "en") -> bytes:
    """The report as PDF bytes in ``lang`` (same content and language → same bytes)."""

    def _(msgid: str, **params: Any) -> str:
        return translate(msgid, lang, **params)

    styles = pdf_styles(report)
    h1, h2, body = styles["Heading1"], styles["Heading2"], styles["BodyText"]
    buf = io.BytesIO()
    title = _("Park electricity carbon emission factor report")
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        invariant=1,
        title=title,
        lang=lang,
        leftMargin=1.6 * cm,
        rightMargin=1.6 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
    )
    p, per, loc, mkt = report["park"], report["period"], report["location_based"], report["market_based"]
    lb, mb = _("location-based"), _("market-based")
    story: list[Any] = [
        para(title, h1),
        para(
            _("{name} ({province}, {grid} grid)", name=p["name"], province=p["province"], grid=p["grid_region"]), body
        ),
        para(
            _(
                "Period {start} to {end} ({intervals} intervals of {minutes} min)",
                start=per["start"],
                end=per["end"],
                intervals=per["intervals"],
                minutes=per["interval_minutes"],
            ),
            body,
        ),
        para(
            _(
                "Content SHA-256: {sha}; software {software} {version}; replaces: {replaces}",
                sha=content_hash(report),
                software=report["software"]["name"],
                version=report["software"]["version"],
                replaces=report["replaces"] or _("none"),
            ),
            body,
        ),
        Spacer(1, 0.3 * cm),
        para(_("Results"), h2),
        _table(
            [
                ["", lb, mb],
                [_("Scope 2 emissions [kgCO₂]"), loc["scope2_emissions_kg"], mkt["scope2_emissions_kg"]],
                [
                    _("Consumption-attributed emissions [kgCO₂]"),
                    loc["attributed_emissions_kg"],
                    mkt["attributed_emissions_kg"],
                ],
                [
                    _("Park electricity carbon emission factor [kgCO₂/kWh]"),
                    loc["park_factor_kg_per_kwh"],
                    mkt["park_factor_kg_per_kwh"],
                ],
                [
                    _("Storage carbon pool, start / end [kgCO₂]"),
                    f"{loc['storage_pool_start_kg']} / {loc['storage_pool_end_kg']}",
                    f"{mkt['storage_pool_start_kg']} / {mkt['storage_pool_end_kg']}",
                ],
                [
                    _("Reconciliation residual [kgCO₂]"),
                    loc["reconciliation_residual_kg"],
                    mkt["reconciliation_residual_kg"],
                ],
            ],
            styles,
            [7 * cm, 5 * cm, 5 * cm],
        ),
        Spacer(1, 0.3 * cm),
        _table(
            [[_("Energy"), _("Value")]]
            + [
                [label(QUANTITIES, k, lang), v]
                for k, v in sorted(report["totals"].items(), key=_order)
                if k.endswith("_kwh")
            ],
            styles,
            [11 * cm, 6 * cm],
        ),
        *[
            para(
                _(
                    "{title}: {score}{note}",
                    title=d["title"],
                    score=d["score"] if d["score"] is not None else _("n/a"),
                    note=f" ({d['note']})" if d["note"] else "",
                ),
                body,
            )
            for d in report["cfe_scores"].values()
        ],
    ]
    charts = [("day", _("Daily park electricity carbon emission factor"))]
    if len(report["factors_by_period"]["hour"]["time"]) <= 24 * 62:
        charts.append(("hour", _("Hourly park electricity carbon emission factor")))
    for resolution, chart_title in charts:
        png = _chart_png(report, resolution, chart_title, lang, styles.font_path)
        story.append(Image(io.BytesIO(png), width=17 * cm, height=6.8 * cm))
    story += [PageBreak(), para(_("Zero-carbon park indicators"), h2)]
    ind = report["indicators"]
    story.append(
        _table(
            [[_("Indicator"), lb, mb]]
            + [
                [label(INDICATORS, k, lang), _value(k, ind["location"][k], lang), _value(k, ind["market"][k], lang)]
                for k in INDICATORS
                if k in ind["location"]
            ],
            styles,
            [7 * cm, 5 * cm, 5 * cm],
        )
    )
    story.append(
        para(_("Clean-energy share definition: {text}", text=ind["location"].get("clean_share_definition", "")), body)
    )
    story.append(para(report["thresholds_source"], body))
    b = report["budget"]
    if b:
        story.append(
            para(
                _(
                    "Annual budget {budget} t; year to date {ytd} t; projected {projected} t. {warnings}",
                    budget=b["budget_t"],
                    ytd=b["ytd_t"],
                    projected=b["projected_t"],
                    warnings=" ".join(b["warnings"]) or _("No warning."),
                ),
                body,
            )
        )
    story.append(para(_("Emission factors (provenance)"), h2))
    for role, f in report["factors"].items():
        head = [_("Field"), translate(FACTOR_ROLES[role], lang) if role in FACTOR_ROLES else role]
        rows = [[translate(FACTOR_FIELDS[k], lang) if k in FACTOR_FIELDS else k, v] for k, v in f.items()]
        story.append(_table([head, *rows], styles, [4 * cm, 13 * cm]))
        story.append(Spacer(1, 0.2 * cm))
    ev = report["evidence"]
    story.append(para(_("Evidence: green-power trading deliveries (绿电交易)"), h2))
    story.append(
        _table(
            [[_("Delivery"), _("Contract"), _("Granularity"), _("Period"), "kWh", _("Claimed [kWh]")]]
            + [
                [
                    d["delivery_id"],
                    d["contract_id"],
                    d["granularity"],
                    f"{d['period_start']} – {d['period_end']}",
                    d["kwh"],
                    d["claimed_in_report_kwh"],
                ]
                for d in ev["contract_deliveries"]
            ],
            styles,
        )
    )
    story.append(para(_("Evidence: retired green certificates (绿证)"), h2))
    story.append(
        _table(
            [[_("Period"), _("Certificates"), _("Serials"), _("Allocated [kWh]"), _("Unallocated [kWh]")]]
            + [
                [
                    f"{r['period_start']} – {r['period_end']}",
                    r["certificates"],
                    f"{r['serials'][0]} … {r['serials'][-1]}" if r["serials"] else "",
                    r["allocated_in_report_kwh"],
                    r["unallocated_kwh"],
                ]
                for r in ev["certificate_retirements"]
            ],
            styles,
        )
    )
    dq = report["data_quality"]
    fills = ", ".join(f"{translate(FILL_METHODS.get(k, k), lang)}: {n}" for k, n in dq["filled_values"].items())
    story += [
        para(_("Data quality"), h2),
        para(
            _(
                "Mean completeness {completeness}; {estimated} of {intervals} intervals contain filled values "
                "({fills}).",
                completeness=dq["mean_completeness"],
                estimated=dq["intervals_estimated"],
                intervals=dq["intervals"],
                fills=fills,
            ),
            body,
        ),
        para(translate(dq["gap_filling"], lang), body),
        para(_("Boundary and meters"), h2),
        *[
            para(
                f"{translate(BOUNDARY[k], lang) if k in BOUNDARY else k}: {', '.join(v) if isinstance(v, list) else v}",
                body,
            )
            for k, v in report["boundary"].items()
        ],
        para(_("Formulas"), h2),
    ]
    story += [
        para(f"{translate(FORMULAS[k], lang) if k in FORMULAS else k}: {v}", body)
        for k, v in report["formulas"].items()
    ]
    story.append(para(translate(report["rounding"], lang), body))
    story.append(
        para(_("Verify with: ems report verify FILE.json (checks the content hash and the hash chain)."), body)
    )
    doc.build(story)
    return buf.getvalue()
