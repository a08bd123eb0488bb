"""PDF view of a tenant statement (reportlab). Reads only the statement content; names its hash."""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ems.carbon.pdf import pdf_styles


def _table(rows: list[list[str]]) -> Table:
    t = Table(rows, hAlign="LEFT", colWidths=[7 * cm, 8 * cm])
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 8)]))
    return t


def render_statement_pdf(content: dict[str, Any], content_sha256: str) -> bytes:
    """Summary, supply mix, both methods, lines and evidence; deterministic (reportlab invariant mode)."""
    st = pdf_styles(content)
    t, p = content["tenant"], content["period"]
    story: list[Any] = [
        Paragraph(f"Tenant electricity statement: {t['name']} ({t['id']})", st["Title"]),
        Paragraph(f"{content['park']['name']} · {p['start']} to {p['end']}", st["BodyText"]),
        Paragraph(f"content sha256 {content_sha256}", st["BodyText"]),
        Spacer(1, 0.4 * cm),
        _table(
            [
                ["consumption [kWh]", content["consumption_kwh"]],
                ["share of park consumption", str(content["share_of_park_consumption"])],
                ["location-based [kgCO2]", content["location_based"]["emissions_kg"]],
                ["location-based factor [kg/kWh]", str(content["location_based"]["factor_kg_per_kwh"])],
                ["market-based [kgCO2]", content["market_based"]["emissions_kg"]],
                ["market-based factor [kg/kWh]", str(content["market_based"]["factor_kg_per_kwh"])],
                ["meter completeness", content["data_quality"]["meter_completeness"]],
            ]
        ),
        Spacer(1, 0.3 * cm),
        Paragraph("Supply mix [kWh]", st["Heading2"]),
        _table([[k, v] for k, v in content["supply_mix_kwh"].items()]),
        Paragraph("Products", st["Heading2"]),
    ]
    for ln in content["lines"]:
        story.append(
            _table(
                [
                    [f"{ln['line']} ({ln['product']})", f"{ln['production']['quantity']} {ln['unit']}"],
                    ["kWh per unit", str(ln["kwh_per_unit"])],
                    [
                        "kgCO2 per unit, market / location",
                        f"{ln['market_kg_per_unit']} / {ln['location_kg_per_unit']}",
                    ],
                ]
            )
        )
    ev = content["evidence"]
    story += [
        Paragraph("Evidence", st["Heading2"]),
        Paragraph(
            f"own certificates: {', '.join(c['serial'] for c in ev['own_certificates']) or 'none'}",
            st["BodyText"],
        ),
        Paragraph(
            "own contract deliveries: "
            + (", ".join(str(d["delivery_id"]) for d in ev["own_contract_deliveries"]) or "none"),
            st["BodyText"],
        ),
        Paragraph(f"grid factor: {content['factors']['grid'].get('id', content['factors']['grid'])}", st["BodyText"]),
        Paragraph(content["rounding"], st["BodyText"]),
    ]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, invariant=1, title=f"statement {t['id']}").build(story)
    return buf.getvalue()
