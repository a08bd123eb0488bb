"""Export layouts for exporters: the CBAM electricity data sheet and an ISO 14067 electricity inventory.

CBAM (Regulation (EU) 2023/956; Implementing Regulation (EU) 2023/1773, Annex III section D):
indirect emissions = electricity consumed x emission factor. The default is the grid factor;
an *actual* factor may be used only for electricity received through a direct technical
connection to the generator or covered by a power purchase agreement. Unbundled certificates
do not qualify, so they are listed but not used here. Sources in the sheet:

* ``grid_default``: grid energy not covered by the tenant's own contracts, at the grid factor;
* ``direct_technical_connection``: on-site renewables and the direct green line (zero, metered);
* ``power_purchase_agreement``: grid energy covered by the tenant's own green contracts (zero);
* ``storage_discharge``: at the storage ledger's location-based intensity (what charged it).

``emissions_g = sum_t round(kWh_t * EF_t * 1000)`` per source; the factor is total CO2 over consumption.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from ems.carbon.aggregate import ratio
from ems.documents.content import header
from ems.footprint.result import FootprintRun
from ems.footprint.statement import lines_section

CBAM_SCHEMA = "ems.footprint.cbam-electricity/1"
ISO_SCHEMA = "ems.footprint.iso14067-electricity/1"
CBAM_RULE = (
    "Implementing Regulation (EU) 2023/1773, Annex III section D: default grid emission factor unless "
    "electricity comes through a direct technical connection or a power purchase agreement"
)


def _mwh(milli: int) -> str:
    return str(Decimal(int(milli)).scaleb(-6))  # Wh → MWh, exact


def _t(g: int) -> str:
    return str(Decimal(g).scaleb(-6))


def cbam_sources(fr: FootprintRun, tenant_id: str) -> list[dict[str, Any]]:
    al, a = fr.allocation, fr.run.accounts
    j = al.row(tenant_id)
    col = {c: al.columns[c][j] for c in al.columns}
    grid_default = col["grid_kwh"] - col["own_contract_kwh"]
    dtc = col["local_re_kwh"] + col["direct_green_kwh"]
    g = lambda kwh_milli, ef: int(np.rint(kwh_milli * ef).sum())  # noqa: E731  (Wh x kg/kWh = g)
    grid_prov = fr.run.grid_factor.provenance
    held = fr.held.deliveries.get(tenant_id, [])
    b = fr.run.boundary
    return [
        {
            "source": "grid_default",
            "mwh": _mwh(int(grid_default.sum())),
            "emissions_t": _t(g(grid_default, a.grid_kg_per_kwh)),
            "factor_basis": "default",
            "factor_t_per_mwh": str(fr.run.grid_factor.constant)
            if fr.run.grid_factor.constant is not None
            else "time-varying",
            "evidence": {"factor": grid_prov},
        },
        {
            "source": "direct_technical_connection",
            "mwh": _mwh(int(dtc.sum())),
            "emissions_t": "0",
            "factor_basis": "actual",
            "factor_t_per_mwh": "0",
            "evidence": {
                "generators_metered": b.generators,
                "direct_green_meters": b.green_meters,
                "note": "renewable plants inside the park network (private distribution) and dedicated lines",
            },
        },
        {
            "source": "power_purchase_agreement",
            "mwh": _mwh(int(col["own_contract_kwh"].sum())),
            "emissions_t": "0",
            "factor_basis": "actual",
            "factor_t_per_mwh": "0",
            "evidence": {"contracts": list(fr.tenant(tenant_id).contracts), "delivery_ids": held},
        },
        {
            "source": "storage_discharge",
            "mwh": _mwh(int(col["discharge_kwh"].sum())),
            "emissions_t": _t(g(col["discharge_kwh"], a.ledger.discharge_kg_per_kwh_loc)),
            "factor_basis": "actual",
            "factor_t_per_mwh": None,
            "evidence": {"note": "park battery; intensity of the energy that charged it (storage carbon ledger)"},
        },
    ]


def cbam_sheet(fr: FootprintRun, tenant_id: str, *, software_version: str) -> dict[str, Any]:
    """The CBAM electricity sheet of one installation (= tenant) and period (layout in docs/footprints.md)."""
    t = fr.tenant(tenant_id)
    k = fr.allocation.total("consumption_kwh", tenant_id)
    sources = cbam_sources(fr, tenant_id)
    total_g = sum(int(Decimal(s["emissions_t"]).scaleb(6)) for s in sources)
    for s in sources:
        if s["factor_t_per_mwh"] is None:
            s["factor_t_per_mwh"] = str(
                ratio(int(Decimal(s["emissions_t"]).scaleb(6)), int(Decimal(s["mwh"]).scaleb(6)))
            )
    factor = ratio(total_g, k)
    actual_mwh = sum(Decimal(s["mwh"]) for s in sources if s["factor_basis"] == "actual")
    products = []
    for ln in lines_section(fr, tenant_id):
        qty = Decimal(ln["production"]["quantity"])
        kwh = Decimal(ln["consumption_kwh"])
        products.append(
            {
                "production_line": ln["line"],
                "product": ln["product"],
                "unit": ln["unit"],
                "production_quantity": ln["production"]["quantity"],
                "production_complete": ln["production"]["complete"],
                "electricity_mwh": str(kwh.scaleb(-3)),
                "specific_electricity_mwh_per_unit": None
                if qty == 0
                else str((kwh / 1000 / qty).quantize(Decimal("0.000001"))),
                "specific_indirect_emissions_t_per_unit": None
                if qty == 0 or factor is None
                else str((kwh / 1000 * factor / qty).quantize(Decimal("0.000001"))),
            }
        )
    return {
        **header(CBAM_SCHEMA, software_version),
        "installation": {
            "id": t.id,
            "name": t.name,
            "park": fr.park.name,
            "country": "CN",
            "province": fr.park.province,
        },
        "reporting_period": {
            "start": fr.start.astimezone(fr.park.tz).isoformat(),
            "end": fr.end.astimezone(fr.park.tz).isoformat(),
        },
        "electricity": {
            "consumed_mwh": _mwh(k),
            "indirect_emissions_t": _t(total_g),
            "emission_factor_t_per_mwh": None if factor is None else str(factor),
            "emission_factor_basis": "default"
            if actual_mwh == 0
            else "actual (mixed: default grid factor for the rest)",
            "rule": CBAM_RULE,
            "sources": sources,
            "certificates_not_used": {
                "serials": fr.held.serials.get(tenant_id, []),
                "reason": "unbundled energy attribute certificates are not evidence for an actual factor under CBAM",
            },
        },
        "products": products,
    }


def product_inventory(fr: FootprintRun, line_id: str, *, software_version: str) -> dict[str, Any]:
    """ISO 14067-style electricity inventory of one product line: kWh per unit, factor, method, vintages."""
    tenant_id = fr.allocation.line_tenant.get(line_id)
    if tenant_id is None:
        raise KeyError(
            f"unknown production line {line_id!r} (known: {', '.join(sorted(fr.allocation.lines)) or 'none'})"
        )
    ln = next(x for x in lines_section(fr, tenant_id) if x["line"] == line_id)
    kwh = int(Decimal(ln["consumption_kwh"]) * 1000)
    own = fr.held.serials.get(tenant_id, [])
    vintages = sorted(
        {
            (c.production_start.isoformat(), c.production_end.isoformat(), c.technology)
            for s in own
            if (c := fr.certificates.get(s))
        }
    )
    return {
        **header(ISO_SCHEMA, software_version),
        "product": {
            "line": line_id,
            "name": ln["product"],
            "declared_unit": f"1 {ln['unit']}",
            "tenant": tenant_id,
        },
        "period": {
            "start": fr.start.astimezone(fr.park.tz).isoformat(),
            "end": fr.end.astimezone(fr.park.tz).isoformat(),
        },
        "production": ln["production"],
        "electricity_kwh": ln["consumption_kwh"],
        "electricity_kwh_per_unit": ln["kwh_per_unit"],
        "market_based": {
            "factor_kg_per_kwh": None if kwh == 0 else str(ratio(int(Decimal(ln["market_kg"]) * 1000), kwh)),
            "kg_per_unit": ln["market_kg_per_unit"],
        },
        "location_based": {
            "factor_kg_per_kwh": None if kwh == 0 else str(ratio(int(Decimal(ln["location_kg"]) * 1000), kwh)),
            "kg_per_unit": ln["location_kg_per_unit"],
        },
        "method": "ISO 14067:2018 6.4.9.4: market-based electricity with contractual instruments (own contracts and "
        "retired certificates first, park instruments pro rata), residual factor for the rest; location-based "
        "reported alongside; line share of tenant emissions pro rata to line metering per interval",
        "certificate_vintages": [{"production_start": a, "production_end": b, "technology": c} for a, b, c in vintages],
        "contracts": list(fr.tenant(tenant_id).contracts),
        "factors": {"grid": fr.run.grid_factor.provenance, "residual": fr.run.residual_factor.provenance},
    }
