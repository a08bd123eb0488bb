"""The tenant statement: plain data (no floats) for one tenant and period, plus its CSV.

Like the park report (``ems.carbon.report``) it is a pure function of its inputs, so the same
inputs give the same canonical JSON bytes and the same content hash. It shows the tenant's own
figures and the park totals, never another tenant's data.
"""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np

from ems.carbon.aggregate import milli_strings, milli_to_decimal, ratio
from ems.documents.content import header, park_identity
from ems.footprint.allocate import COLUMNS
from ems.footprint.result import FootprintRun
from ems.i18n import N_

SCHEMA = "ems.footprint.tenant-statement/1"
_Q = Decimal("0.000001")

METHOD = {
    "consumption": "tenant meters (nested meters netted, line meters are subdivisions) + key x shared meters",
    "supply_mix": "local renewables, direct green supply, storage discharge and grid energy reaching "
    "consumption are split pro rata to consumption in each interval",
    "instruments": "the tenant's own green contracts and retired certificates cover its own grid energy first "
    "(capped at it, surplus returns to the park pool); park instruments are split pro rata to the grid "
    "energy left uncovered",
    "location_based": "grid_kwh x grid factor + discharge_kwh x storage-ledger location intensity",
    "market_based": "residual_kwh x residual factor + discharge_kwh x storage-ledger market intensity",
    "balance": "per interval and column, tenants + shared:unallocated + park:remainder = park value exactly "
    "(largest-remainder split of integer Wh and gCO2)",
    "per_unit": "line emissions = tenant emissions split pro rata to line meter consumption per interval; "
    "kgCO2 per unit = line emissions over the period / production counted in the period",
    "reference": "docs/footprints.md",
}

ROUNDING = N_(
    "Park interval values are rounded to integer Wh and gCO2 as in the park report; each is split among "
    "tenants by the largest-remainder rule on integers, so tenant values add up to the park value exactly; "
    "factors are exact decimal quotients rounded half-to-even to 0.000001."
)

INTERVAL_COLUMNS = ("start_utc", *COLUMNS, "meter_completeness", "estimated")


def _s(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _certificate(fr: FootprintRun, serial: str) -> dict[str, Any]:
    c = fr.certificates.get(serial)
    return {"serial": serial} | (c.issuance() if c is not None else {})


def evidence(fr: FootprintRun, tenant_id: str) -> dict[str, Any]:
    """Own instruments (deliveries, serials with vintage) and the share of park instruments received."""
    run = fr.run
    own_ids = set(fr.held.deliveries.get(tenant_id, []))
    own_serials = fr.held.serials.get(tenant_id, [])
    deliveries = [
        {
            "delivery_id": d.delivery_id,
            "contract_id": d.contract_id,
            "granularity": d.granularity,
            "period_start": d.period.start.isoformat(),
            "period_end": d.period.end.isoformat(),
            "kwh": str(d.kwh),
            "reference": d.reference,
        }
        for d in run.deliveries
        if d.delivery_id in own_ids
    ]
    held_ids = {i for ids in fr.held.deliveries.values() for i in ids}
    held_serials = {s for ss in fr.held.serials.values() for s in ss}
    return {
        "own_contract_deliveries": deliveries,
        "own_certificates": [_certificate(fr, s) for s in own_serials],
        "own_contract_claimed_kwh": str(fr.kwh("own_contract_kwh", tenant_id)),
        "own_certificate_claimed_kwh": str(fr.kwh("own_certificate_kwh", tenant_id)),
        "own_surplus_returned_to_pool_kwh": str(milli_to_decimal(fr.allocation.own_surplus_milli[tenant_id])),
        "park_instruments_received_kwh": str(fr.kwh("park_instruments_kwh", tenant_id)),
        "park_pool_contract_deliveries": sorted(d.delivery_id for d in run.deliveries if d.delivery_id not in held_ids),
        "park_pool_certificates": sorted(r.serial for r in run.retirements if r.serial not in held_serials),
    }


def per_unit(x: Decimal, qty: Decimal) -> str | None:
    """Exact quotient rounded half-to-even to 0.000001; None without production."""
    return None if qty == 0 else str((x / qty).quantize(_Q, rounding=ROUND_HALF_EVEN))


def lines_section(fr: FootprintRun, tenant_id: str) -> list[dict[str, Any]]:
    out = []
    days = fr.days()
    for ln in fr.tenant(tenant_id).lines:
        counts = [fr.production[(ln.id, d)][0] for d in days if (ln.id, d) in fr.production]
        qty = sum(counts, Decimal(0))
        kwh = fr.line_total(ln.id, "consumption_kwh")
        loc, mkt = fr.line_total(ln.id, "location_kg"), fr.line_total(ln.id, "market_kg")
        out.append(
            {
                "line": ln.id,
                "product": ln.product,
                "unit": ln.unit,
                "meter": ln.meter,
                "consumption_kwh": str(kwh),
                "location_kg": str(loc),
                "market_kg": str(mkt),
                "production": {
                    "quantity": str(qty),
                    "days_reported": len(counts),
                    "days_in_period": len(days),
                    "complete": len(counts) == len(days),
                },
                "kwh_per_unit": per_unit(kwh, qty),
                "location_kg_per_unit": per_unit(loc, qty),
                "market_kg_per_unit": per_unit(mkt, qty),
            }
        )
    return out


def interval_table(fr: FootprintRun, row: str) -> dict[str, list[Any]]:
    al = fr.allocation
    j = al.row(row)
    starts = [s + "Z" for s in np.datetime_as_string(al.starts, unit="s").tolist()]
    out: dict[str, list[Any]] = {"start_utc": starts}
    for c in COLUMNS:
        out[c] = milli_strings(al.columns[c][j])
    out["meter_completeness"] = [f"{x:.6f}" for x in al.coverage[row].tolist()]
    out["estimated"] = [
        bool(a or b) for a, b in zip(al.filled[row].tolist(), fr.run.accounts.flows.estimated.tolist(), strict=True)
    ]
    return out


def build_statement(
    fr: FootprintRun, tenant_id: str, *, software_version: str, replaces: str | None = None
) -> dict[str, Any]:
    """The statement content (module docstring); every number is a decimal string or an int."""
    t = fr.tenant(tenant_id)
    park, run, al = fr.park, fr.run, fr.allocation
    k = al.total("consumption_kwh", tenant_id)
    loc, mkt = al.total("location_kg", tenant_id), al.total("market_kg", tenant_id)
    comp = al.coverage[tenant_id]
    park_k = int(al.park["consumption_kwh"].sum())
    return {
        **header(SCHEMA, software_version),
        "park": park_identity(park),
        "tenant": {
            "id": t.id,
            "name": t.name,
            "meters": list(t.meters),
            "shared_meter_key": None if t.shared_meter_key is None else repr(t.shared_meter_key),
            "contracts": list(t.contracts),
            "metering_terms": [f"{'+' if s > 0 else '-'}{d}" for d, s in fr.plan.terms[tenant_id]],
        },
        "period": {
            "start": fr.start.astimezone(park.tz).isoformat(),
            "end": fr.end.astimezone(park.tz).isoformat(),
            "interval_minutes": run.accounts.flows.interval_minutes,
            "intervals": len(al.starts),
        },
        "replaces": replaces,
        "consumption_kwh": str(milli_to_decimal(k)),
        "share_of_park_consumption": _s(ratio(k, park_k)),
        "supply_mix_kwh": {
            c.removesuffix("_kwh"): str(fr.kwh(c, tenant_id))
            for c in COLUMNS
            if c.endswith("_kwh") and c != "consumption_kwh"
        },
        "location_based": {
            "emissions_kg": str(milli_to_decimal(loc)),
            "factor_kg_per_kwh": _s(ratio(loc, k)),
        },
        "market_based": {"emissions_kg": str(milli_to_decimal(mkt)), "factor_kg_per_kwh": _s(ratio(mkt, k))},
        "park_totals": {
            "consumption_kwh": str(milli_to_decimal(park_k)),
            "location_kg": str(milli_to_decimal(int(al.park["location_kg"].sum()))),
            "market_kg": str(milli_to_decimal(int(al.park["market_kg"].sum()))),
        },
        "lines": lines_section(fr, tenant_id),
        "evidence": evidence(fr, tenant_id),
        "factors": {"grid": run.grid_factor.provenance, "residual": run.residual_factor.provenance},
        "method": METHOD,
        "rounding": ROUNDING,
        "data_quality": {
            "meter_completeness": f"{float(comp.mean()) if len(comp) else 1.0:.6f}",
            "park_completeness": f"{float(run.accounts.flows.completeness.mean()) if len(comp) else 1.0:.6f}",
            "intervals_estimated": int(np.sum(al.filled[tenant_id] | run.accounts.flows.estimated)),
            "intervals": len(al.starts),
        },
        "intervals": interval_table(fr, tenant_id),
    }


def statement_csv(content: dict[str, Any]) -> bytes:
    """The statement's interval table as CSV (UTF-8, header row)."""
    table = content["intervals"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(INTERVAL_COLUMNS)
    cols = [["true" if v else "false" for v in table[c]] if c == "estimated" else table[c] for c in INTERVAL_COLUMNS]
    w.writerows(zip(*cols, strict=True))
    return buf.getvalue().encode("utf-8")
