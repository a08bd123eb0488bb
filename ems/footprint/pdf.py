"""PDF view of a tenant statement (reportlab), in English or Chinese. Reads only the statement
content; names its hash. Labels are catalogue messages (docs/i18n.md); values and ids as issued."""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from ems.carbon.pdf import para, pdf_styles
from ems.i18n import N_, translate

# supply_mix_kwh keys (ems.footprint.allocate.COLUMNS without the _kwh suffix) → label
SUPPLY: dict[str, str] = {
    "local_re": N_("Local renewables"),
    "direct_green": N_("Direct green supply (绿电直连)"),
    "discharge": N_("Storage discharge"),
    "grid": N_("Grid"),
    "own_contract": N_("Own green-power trading contracts (绿电交易)"),
    "own_certificate": N_("Own green certificates (绿证)"),
    "park_instruments": N_("Park green instruments, shared"),
    "residual": N_("Residual grid mix"),
}


def _table(rows: list[list[Any]], style: Any) -> Table:
    t = Table([[para(a, style), para(b, style)] for a, b in rows], hAlign="LEFT", colWidths=[7 * cm, 8 * cm])
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    return t


def render_statement_pdf(content: dict[str, Any], content_sha256: str, lang: str = "en") -> bytes:
    """Summary, supply mix, both methods, lines and evidence in ``lang``; deterministic (reportlab
    invariant mode: same content and language → same bytes)."""

    def _(msgid: str, **params: Any) -> str:
        return translate(msgid, lang, **params)

    st = pdf_styles(content)
    cell = st["BodyText"].clone("cell", fontSize=8, leading=10)
    t, p = content["tenant"], content["period"]
    none = _("none")
    story: list[Any] = [
        para(_("Tenant electricity statement: {name} ({id})", name=t["name"], id=t["id"]), st["Title"]),
        para(
            _("{park} · {start} to {end}", park=content["park"]["name"], start=p["start"], end=p["end"]), st["BodyText"]
        ),
        para(_("content sha256 {hash}", hash=content_sha256), st["BodyText"]),
        Spacer(1, 0.4 * cm),
        _table(
            [
                [_("Consumption [kWh]"), content["consumption_kwh"]],
                [_("Share of park consumption"), content["share_of_park_consumption"]],
                [_("Location-based emissions (基于位置) [kgCO₂]"), content["location_based"]["emissions_kg"]],
                [_("Location-based factor [kgCO₂/kWh]"), content["location_based"]["factor_kg_per_kwh"]],
                [_("Market-based emissions (基于市场) [kgCO₂]"), content["market_based"]["emissions_kg"]],
                [_("Market-based factor [kgCO₂/kWh]"), content["market_based"]["factor_kg_per_kwh"]],
                [_("Meter completeness"), content["data_quality"]["meter_completeness"]],
            ],
            cell,
        ),
        Spacer(1, 0.3 * cm),
        para(_("Supply mix [kWh]"), st["Heading2"]),
        _table([[_(SUPPLY[k]) if k in SUPPLY else k, v] for k, v in content["supply_mix_kwh"].items()], cell),
        para(_("Products"), st["Heading2"]),
    ]
    for ln in content["lines"]:
        story.append(
            _table(
                [
                    [f"{ln['line']} ({ln['product']})", f"{ln['production']['quantity']} {ln['unit']}"],
                    [_("kWh per unit"), ln["kwh_per_unit"]],
                    [
                        _("kgCO₂ per unit, market / location"),
                        f"{ln['market_kg_per_unit']} / {ln['location_kg_per_unit']}",
                    ],
                ],
                cell,
            )
        )
    ev = content["evidence"]
    certificates = ", ".join(c["serial"] for c in ev["own_certificates"]) or none
    deliveries = ", ".join(str(d["delivery_id"]) for d in ev["own_contract_deliveries"]) or none
    grid, rounding = content["factors"]["grid"], content["rounding"]  # rounding: a catalogue message
    story += [
        para(_("Evidence"), st["Heading2"]),
        para(_("own green certificates (绿证): {serials}", serials=certificates), st["BodyText"]),
        para(_("own contract deliveries: {ids}", ids=deliveries), st["BodyText"]),
        para(_("grid factor: {id}", id=grid.get("id", grid) if isinstance(grid, dict) else grid), st["BodyText"]),
        para(translate(rounding, lang), st["BodyText"]),
    ]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, invariant=1, title=f"statement {t['id']}").build(story)
    return buf.getvalue()
