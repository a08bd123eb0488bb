"""The auditor report: plain data (no floats) built from an :class:`AccountingRun`, plus CSV output.

The report content is a pure function of its inputs (metered energy, ledger entries,
factors, park file, software version), so the same inputs give the same canonical JSON
bytes. It contains no issue time: that lives in the hash-chain entry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from ems.carbon.aggregate import (
    group_index,
    grouped_factor_points,
    milli_strings,
    milli_to_decimal,
    ratio,
    to_milli,
)
from ems.carbon.balances import balances, violations
from ems.carbon.certificates import Certificate
from ems.carbon.flows import FILL_NAMES
from ems.carbon.indicators import THRESHOLD_SOURCE, BudgetStatus, FuelUse, compute_indicators
from ems.carbon.labels import csv_header
from ems.carbon.matching import DEFINITIONS, cfe_scores
from ems.carbon.run import AccountingRun
from ems.carbon.storage_ledger import PoolState
from ems.documents.content import header, park_identity
from ems.i18n import N_

SCHEMA = "ems.carbon.park-emission-factor-report/1"

FORMULAS = {
    "consumption": "K_t = I_t + G_t + D_t + Bd_t - Bc_t - X_t (boundary balance; includes network losses)",
    "location_scope2": "E_loc = sum_t I_t * EF_grid_t",
    "market_scope2": "E_mkt = sum_t (I_t - C_t - Z_t) * EF_residual; C_t = min(contract_t, I_t); Z_t <= I_t - C_t",
    "certificate_allocation": "Z_t = (I_t - C_t) * min(1, V / basis), basis = eligible import of the retirement period",
    "storage_ledger": "discharge intensity = pool CO2 / stored kWh / eta_discharge; charge adds grid_kWh * g_t; "
    "carbon-free (green) share of each discharged kWh = pool carbon-free (green) kWh / stored kWh; losses carry "
    "the pool's shares out",
    "storage_balance": "charged_o + unknown_o = discharged_o + losses_o + (pool_o,end - pool_o,start), "
    "o = all, carbon-free, green",
    "attributed": "A_t = grid_to_load_t * g_t + discharge_to_load_t * discharge_intensity_t",
    "park_factor": "EF_park = sum(A_t) / sum(K_t) over the period [kgCO2/kWh]",
    "reconciliation": "sum(E) + unknown_origin + imbalance = sum(A) + exported + (pool_end - pool_start)",
    "cfe": "CFE = sum_h matched_h / sum_h K_h; matched_h per definition (cfe_scores.*.matched)",
    "clean_share": "clean-energy share = (renewables + direct green consumed + contract/certificate-covered grid "
    "energy + green share of storage discharge + green share of storage losses) [kWh] * kgce_per_kWh / 1000 "
    "/ energy [tce]",
    "energy": "energy [tce] = (K + L) * kgce_per_kWh / 1000 + fuel tce; L = storage losses of the period "
    "(inside the boundary, as their CO2 is)",
    "intensity": "tCO2/tce = (A/1000 + fuel CO2) / energy [tce]",
}

ROUNDING = N_(
    "Interval energies [kWh] and CO2 [kg] are computed in double precision and rounded half-to-even "
    "to 0.001; totals are exact sums of the rounded interval values; factors and shares are exact "
    "decimal quotients of totals rounded half-to-even to 0.000001 (gCO2/kWh series to 0.001). Certificate "
    "and period-contract volumes are allocated in whole Wh by largest remainder (ties to the earlier "
    "interval), so the allocated Wh add up to the rounded volume; the Google grid credit of an hour is "
    "rounded half-to-even to a Wh. Worked example: docs/carbon_methodology.md section 7."
)

GAP_RULES = N_(
    "Coverage c of each boundary meter per interval: c >= 0.999 measured; 0 < c < 0.999 scaled e/c; "
    "c = 0 on the grid meter with all other meters complete: filled from the balance of the other "
    "meters; c = 0 otherwise: linear interpolation between the device's nearest measured intervals. "
    "Completeness = mean coverage of the boundary meters; filled values are flagged per interval."
)

INTERVAL_COLUMNS = (
    "start_utc",
    "grid_import_kwh",
    "export_kwh",
    "local_re_kwh",
    "re_consumed_kwh",
    "direct_green_kwh",
    "direct_consumed_kwh",
    "charge_kwh",
    "discharge_kwh",
    "storage_losses_kwh",
    "consumption_kwh",
    "contract_kwh",
    "certificate_kwh",
    "residual_kwh",
    "grid_factor_kg_per_kwh",
    "location_scope2_kg",
    "market_scope2_kg",
    "location_attributed_kg",
    "market_attributed_kg",
    "cfe_kwh",
    "completeness",
    "estimated",
    "fills",
)


def _dec(x: float, places: int = 6) -> str:
    return f"{x:.{places}f}"


def _sum(arr: np.ndarray) -> int:
    return int(to_milli(arr).sum())


def _totals(run: AccountingRun) -> dict[str, int]:
    a, f, lg = run.accounts, run.accounts.flows, run.accounts.ledger
    arrays = {
        "grid_import_kwh": f.grid_import_kwh,
        "export_kwh": f.export_kwh,
        "local_re_kwh": f.local_re_kwh,
        "re_consumed_kwh": a.re_to_load_kwh,
        "direct_green_kwh": f.direct_green_kwh,
        "direct_consumed_kwh": a.direct_to_load_kwh,
        "charge_kwh": f.charge_kwh,
        "discharge_kwh": f.discharge_kwh,
        "storage_losses_kwh": lg.losses_kwh,
        "storage_losses_cfe_kwh": lg.losses_cfe_kwh,
        "storage_losses_green_kwh": lg.losses_green_kwh,
        "storage_charged_cfe_kwh": lg.charged_cfe_kwh,
        "storage_charged_green_kwh": lg.charged_green_kwh,
        "storage_discharged_cfe_kwh": f.discharge_kwh * lg.discharge_cfe_share,
        "storage_discharged_green_kwh": f.discharge_kwh * lg.discharge_green_share,
        "consumption_kwh": a.consumption_kwh,
        "load_metered_kwh": f.load_metered_kwh,
        "imbalance_kwh": a.imbalance_kwh,
        "contract_kwh": a.contract_kwh,
        "contract_time_matched_kwh": a.contract_interval_kwh,
        "contract_excess_kwh": a.contract_excess_kwh,
        "certificate_kwh": a.certificate_kwh,
        "residual_kwh": a.residual_kwh,
        "cfe_kwh": a.cfe_kwh,
        "green_kwh": a.green_kwh,
        "location_scope2_kg": a.import_kg_loc,
        "market_scope2_kg": a.import_kg_mkt,
        "location_attributed_kg": a.attributed_kg_loc,
        "market_attributed_kg": a.attributed_kg_mkt,
        "location_exported_kg": a.exported_kg_loc,
        "market_exported_kg": a.exported_kg_mkt,
        "unknown_origin_kwh": lg.unknown_origin_kwh,
        "location_unknown_origin_kg": lg.unknown_origin_kg_loc,
        "market_unknown_origin_kg": lg.unknown_origin_kg_mkt,
        "location_imbalance_kg": a.imbalance_kg_loc,
        "market_imbalance_kg": a.imbalance_kg_mkt,
    }
    return {k: _sum(v) for k, v in arrays.items()}


def _method(t: dict[str, int], run: AccountingRun, m: str) -> dict[str, Any]:
    lg = run.accounts.ledger
    pool_end = lg.closing.kg_loc if m == "location" else lg.closing.kg_mkt
    pool_start = lg.opening.kg_loc if m == "location" else lg.opening.kg_mkt
    pool_delta = int(to_milli(np.array([pool_end]))[0]) - int(to_milli(np.array([pool_start]))[0])
    scope2, attributed = t[f"{m}_scope2_kg"], t[f"{m}_attributed_kg"]
    unknown, exported = t[f"{m}_unknown_origin_kg"], t[f"{m}_exported_kg"]
    imbalance = t[f"{m}_imbalance_kg"]
    return {
        "scope2_emissions_kg": str(milli_to_decimal(scope2)),
        "scope2_factor_kg_per_kwh": _opt(ratio(scope2, t["consumption_kwh"])),
        "attributed_emissions_kg": str(milli_to_decimal(attributed)),
        "park_factor_kg_per_kwh": _opt(ratio(attributed, t["consumption_kwh"])),
        "exported_kg": str(milli_to_decimal(exported)),
        "storage_pool_start_kg": str(milli_to_decimal(int(to_milli(np.array([pool_start]))[0]))),
        "storage_pool_end_kg": str(milli_to_decimal(int(to_milli(np.array([pool_end]))[0]))),
        "storage_losses_kg": "0.000",  # the CO2 of lost energy is carried by the energy delivered
        "unknown_origin_kg": str(milli_to_decimal(unknown)),
        "imbalance_kg": str(milli_to_decimal(imbalance)),
        # rounding of each interval can leave a few grams; shown, never hidden
        "reconciliation_residual_kg": str(
            milli_to_decimal(scope2 + unknown + imbalance - attributed - exported - pool_delta)
        ),
    }


def _pool(run: AccountingRun) -> dict[str, Any]:
    """Storage pool at the period's start and end, carried from the accounting origin."""

    def state(p: PoolState) -> dict[str, str]:
        return {
            "stored_kwh": _dec(p.stored_kwh, 3),
            "location_kg": _dec(p.kg_loc, 3),
            "market_kg": _dec(p.kg_mkt, 3),
            "cfe_kwh": _dec(p.cfe_kwh, 3),
            "green_kwh": _dec(p.green_kwh, 3),
        }

    lg = run.accounts.ledger
    return {
        "empty_at": run.span_start.astimezone(run.park.tz).isoformat(),
        "opening": state(lg.opening),
        "closing": state(lg.closing),
    }


def _balances(run: AccountingRun) -> dict[str, Any]:
    """Residuals of the energy (by origin) and CO2 balances on unrounded figures, and what breaks."""
    b = balances(run.accounts)
    return {
        "storage_kwh": _dec(b.storage_kwh, 6),
        "storage_cfe_kwh": _dec(b.storage_cfe_kwh, 6),
        "storage_green_kwh": _dec(b.storage_green_kwh, 6),
        "location_co2_kg": _dec(b.co2_loc_kg, 6),
        "market_co2_kg": _dec(b.co2_mkt_kg, 6),
        "violations": violations(b),
    }


def _opt(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _periods(run: AccountingRun) -> dict[str, Any]:
    a, f = run.accounts, run.accounts.flows
    out: dict[str, Any] = {}
    for res in ("hour", "day", "month", "year"):
        groups = group_index(f.starts, run.park.timezone, res)
        loc, mkt = (
            grouped_factor_points(groups, m, attributed, a.consumption_kwh, f.completeness, f.estimated)
            for m, attributed in (("location", a.attributed_kg_loc), ("market", a.attributed_kg_mkt))
        )
        out[res] = {
            "time": [p.time.isoformat() for p in loc],
            "consumption_kwh": [str(p.consumption_kwh) for p in loc],
            "location_g_per_kwh": [_opt(p.value_g_per_kwh) for p in loc],
            "market_g_per_kwh": [_opt(p.value_g_per_kwh) for p in mkt],
            "completeness": [str(p.completeness) for p in loc],
            "estimated": [p.estimated for p in loc],
        }
    return out


def _evidence(run: AccountingRun, certs: dict[str, Certificate]) -> dict[str, Any]:
    a = run.accounts
    alloc_by_ref = {al.block.refs: al for al in a.allocations}
    deliveries = []
    per_delivery: dict[str, float] = {}
    refs = run.claims.contract_interval_refs
    requested = run.claims.contract_interval_kwh
    for t, kwh, ref in refs:  # the capped claim of an interval is shared among its deliveries pro rata
        share = kwh / requested[t] if requested[t] > 0 else 0.0
        per_delivery[ref] = per_delivery.get(ref, 0.0) + float(a.contract_interval_kwh[t]) * share
    for d in run.deliveries:
        ref = f"delivery:{d.delivery_id}"
        if d.granularity == "interval":
            claimed = per_delivery.get(ref, 0.0)
        else:
            al = alloc_by_ref.get((ref,))
            claimed = al.allocated_kwh if al else 0.0
        deliveries.append(
            {
                "delivery_id": d.delivery_id,
                "contract_id": d.contract_id,
                "granularity": d.granularity,
                "period_start": d.period.start.isoformat(),
                "period_end": d.period.end.isoformat(),
                "kwh": str(d.kwh),
                "basis_kwh": _opt(d.basis_kwh),
                "reference": d.reference,
                "replaces": d.replaces,
                "claimed_in_report_kwh": str(milli_to_decimal(round(claimed * 1000))),
            }
        )
    retirements = []
    for al in a.allocations:
        if al.block.kind != "certificate":
            continue
        serials = list(al.block.refs)
        entries = [r for r in run.retirements if r.serial in set(serials)]
        first = entries[0]
        details = sorted({tuple(c.issuance().items()) for s in serials if (c := certs.get(s))})
        retirements.append(
            {
                "period_start": first.period.start.isoformat(),
                "period_end": first.period.end.isoformat(),
                "certificates": len(serials),
                "mwh": str(len(serials)),
                "serials": serials,
                "event_ids": sorted(r.event_id for r in entries),
                # the eligible energy this report spread the certificates over (issue 22: not the figure
                # recorded at retirement, which late data or contract corrections may since have changed)
                "basis_kwh": str(milli_to_decimal(round(al.basis_kwh * 1000))),
                "basis_at_retirement_kwh": str(max(r.basis_kwh for r in entries)),
                "allocated_in_report_kwh": str(milli_to_decimal(round(al.allocated_kwh * 1000))),
                "unallocated_kwh": str(milli_to_decimal(round(al.unallocated_kwh * 1000))),
                "issuance": [dict(d) for d in details],
            }
        )
    return {"contract_deliveries": deliveries, "certificate_retirements": retirements}


def interval_table(run: AccountingRun) -> dict[str, list[Any]]:
    """Columnar per-interval data (the report's activity data)."""
    a, f, lg = run.accounts, run.accounts.flows, run.accounts.ledger
    starts = [s + "Z" for s in np.datetime_as_string(f.starts, unit="s").tolist()]
    m = lambda x: milli_strings(to_milli(x))  # noqa: E731
    if run.grid_factor.constant is not None:
        gf = [str(run.grid_factor.constant)] * len(starts)
    else:
        gf = [_dec(v) for v in run.grid_factor.per_interval.tolist()]
    return {
        "start_utc": starts,
        "grid_import_kwh": m(f.grid_import_kwh),
        "export_kwh": m(f.export_kwh),
        "local_re_kwh": m(f.local_re_kwh),
        "re_consumed_kwh": m(a.re_to_load_kwh),
        "direct_green_kwh": m(f.direct_green_kwh),
        "direct_consumed_kwh": m(a.direct_to_load_kwh),
        "charge_kwh": m(f.charge_kwh),
        "discharge_kwh": m(f.discharge_kwh),
        "storage_losses_kwh": m(lg.losses_kwh),
        "consumption_kwh": m(a.consumption_kwh),
        "contract_kwh": m(a.contract_kwh),
        "certificate_kwh": m(a.certificate_kwh),
        "residual_kwh": m(a.residual_kwh),
        "grid_factor_kg_per_kwh": gf,
        "location_scope2_kg": m(a.import_kg_loc),
        "market_scope2_kg": m(a.import_kg_mkt),
        "location_attributed_kg": m(a.attributed_kg_loc),
        "market_attributed_kg": m(a.attributed_kg_mkt),
        "cfe_kwh": m(a.cfe_kwh),
        "completeness": [_dec(c) for c in f.completeness.tolist()],
        "estimated": [bool(e) for e in f.estimated.tolist()],
        "fills": run.fills.all_flags(),
    }


def build_report(
    run: AccountingRun,
    *,
    software_version: str,
    replaces: str | None = None,
    fuels: Sequence[FuelUse] = (),
    budget: BudgetStatus | None = None,
    certificates: dict[str, Certificate] | None = None,
    opening_depends_on: Sequence[str] = (),
    public_key: str | None = None,
) -> dict[str, Any]:
    """The complete report content (module docstring); every number is a decimal string or an int.

    ``opening_depends_on``: restatements the opening storage pool was carried through (issue 19);
    ``public_key``: the park's Ed25519 key (hex) that signs the report's chain entry, if any.
    """
    park, f, b = run.park, run.accounts.flows, run.boundary
    t = _totals(run)
    days = Decimal(len(f.starts) * f.interval_minutes) / Decimal(1440)
    scores = cfe_scores(run.accounts, park.timezone, run.grid_cfe_share)
    match = scores["ems-storage-aware-interval"]
    indicators = {
        m: compute_indicators(
            m,
            milli_to_decimal(t["consumption_kwh"]),
            milli_to_decimal(t[f"{m}_attributed_kg"]),
            milli_to_decimal(t["green_kwh"]),
            milli_to_decimal(t["direct_consumed_kwh"]),
            park.carbon,
            days,
            list(fuels),
            milli_to_decimal(t["storage_losses_kwh"]),
            milli_to_decimal(t["storage_losses_green_kwh"]),
        ).as_dict()
        for m in ("location", "market")
    }
    codes = run.fills.codes
    return {
        **header(SCHEMA, software_version),
        "park": park_identity(park),
        "boundary": {
            "grid_meter": b.grid_meter,
            "generators": b.generators,
            "batteries": b.batteries,
            "green_meters": b.green_meters,
            "load_meters": b.loads,
            "consumption": "boundary balance K = import + generation + direct green + discharge - charge - export",
        },
        "period": {
            "start": run.start.astimezone(park.tz).isoformat(),
            "end": run.end.astimezone(park.tz).isoformat(),
            "interval_minutes": f.interval_minutes,
            "intervals": len(f.starts),
        },
        "replaces": replaces,
        "factors": {"grid": run.grid_factor.provenance, "residual": run.residual_factor.provenance},
        "storage_parameters": {
            "eta_charge": _dec(run.storage.eta_charge),
            "eta_discharge": _dec(run.storage.eta_discharge),
            "self_discharge_per_h": _dec(run.storage.self_discharge_per_h, 8),
        },
        "storage_pool": {**_pool(run), "opening_state_depends_on": list(opening_depends_on)},
        "signature": None
        if public_key is None
        else {
            "algorithm": "Ed25519",
            "public_key": public_key,
            "signs": "chain_sha256 of this report's hash-chain entry (ASCII hex); signature in the entry",
        },
        "balances": _balances(run),
        "formulas": FORMULAS,
        "rounding": ROUNDING,
        "totals": {k: str(milli_to_decimal(v)) for k, v in sorted(t.items())},
        "location_based": _method(t, run, "location"),
        "market_based": _method(t, run, "market"),
        "matching": {
            "definition": match.definition,
            "cfe_score": _opt(match.cfe_score),
            "hours": len(match.hours),
            "hours_fully_matched": match.hours_fully_matched,
            "hourly_cfe_share": [_opt(h.share) for h in match.hours],
        },
        "cfe_scores": {
            name: {
                "title": DEFINITIONS[name].title,
                "source": DEFINITIONS[name].source,
                "matched": DEFINITIONS[name].matched,
                "score": _opt(r.cfe_score),
                "matched_kwh": str(r.cfe_kwh),
                "consumption_kwh": str(r.consumption_kwh),
                "hours_fully_matched": r.hours_fully_matched,
                "note": r.note,
            }
            for name, r in scores.items()
        },
        "grid_cfe_share": run.grid_cfe_provenance,
        "factors_by_period": _periods(run),
        "evidence": _evidence(run, certificates or {}),
        "indicators": indicators,
        "thresholds_source": THRESHOLD_SOURCE,
        "budget": None if budget is None else budget.as_dict(),
        "data_quality": {
            "mean_completeness": _dec(float(f.completeness.mean()) if len(f.completeness) else 1.0),
            "intervals": len(f.starts),
            "intervals_estimated": int(f.estimated.sum()),
            "filled_values": {FILL_NAMES[c]: int((codes == c).sum()) for c in range(1, len(FILL_NAMES))},
            "gap_filling": GAP_RULES,
        },
        "intervals": interval_table(run),
    }


def intervals_csv(report: dict[str, Any], lang: str = "en") -> bytes:
    """The report's interval table as CSV (UTF-8, header row, one row per interval); the header is
    the column keys in English, labels with units in other languages (:mod:`ems.carbon.labels`)."""
    table = report["intervals"]
    head = csv_header(INTERVAL_COLUMNS, lang)
    cols = [["true" if v else "false" for v in table[c]] if c == "estimated" else table[c] for c in INTERVAL_COLUMNS]
    if any(any(ch in v for ch in ',"\n') for v in [*head, *table["fills"]] if v):  # labels, device ids to quote
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(head)
        w.writerows(zip(*cols, strict=True))
        text = buf.getvalue()
    else:
        text = "\n".join([",".join(head)] + [",".join(row) for row in zip(*cols, strict=True)]) + "\n"
    # a byte-order mark makes Excel read Chinese headers as UTF-8 (docs/i18n.md)
    return text.encode("utf-8" if lang == "en" else "utf-8-sig")
