"""Carbon functions over the store: factor registry, ledgers, factor series, reports, verification.

These are the entry points for the CLI and the API:

* :func:`load_registry`, :func:`add_factor`, :func:`add_series`
* :func:`register_park_certificates`, :func:`retire`, :func:`reassign`, :func:`record_delivery`,
  :func:`eligible_kwh`
* :func:`run_for`, :func:`factor_series` (``GET /v1/carbon/factors``)
* :func:`issue_report`, :func:`list_reports`, :func:`verify_report_file` (the chain itself:
  :data:`ems.documents.service.CARBON_REPORTS`)
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from cryptography import x509

import ems
from ems.carbon import records
from ems.carbon.aggregate import FactorPoint, factor_points, milli_to_decimal, to_milli
from ems.carbon.certificates import (
    Certificate,
    ContractDelivery,
    LedgerError,
    Period,
    RetirementEntry,
    certificates_from_park,
    check_retirement,
    effective,
)
from ems.carbon.eligibility import check_eligibility
from ems.carbon.factors import EmissionFactor, FactorRegistry, FactorSeries, registry_with
from ems.carbon.flows import FULL_COVERAGE, boundary_of
from ems.carbon.indicators import BudgetStatus, FuelUse, budget_status
from ems.carbon.intensity import IntensityPoint, forecast_points, measured_points
from ems.carbon.report import build_report, intervals_csv
from ems.carbon.run import AccountingRun, accounting_span, compute_run, default_residual_ref, resolve_factor
from ems.documents.chain import Verification, verify_report
from ems.documents.content import slug
from ems.documents.service import CARBON_REPORTS as REPORTS
from ems.documents.service import DocumentError, IssuedDocument, read_chain_file
from ems.documents.signing import Signer
from ems.documents.timestamp import verify_token
from ems.i18n import Msg
from ems.park import Park
from ems.store import Store
from ems.store import carbon_queries as CQ
from ems.store import change_queries as CQ_VERSION
from ems.store.schedules import StoredSchedule, latest_schedule


def _registry(conn: psycopg.Connection) -> FactorRegistry:
    return registry_with(
        [records.factor(r) for r in CQ.user_factors(conn)], [records.series(r) for r in CQ.factor_series(conn)]
    )


def load_registry(store: Store) -> FactorRegistry:
    """Published factors plus every user version and time-varying series in the database."""
    with store.connection() as conn:
        return _registry(conn)


def add_factor(store: Store, factor: EmissionFactor) -> EmissionFactor:
    """Store a user factor as the next version of its key (never overwriting; the primary key ensures it)."""
    with store.connection() as conn, conn.transaction():
        conn.execute("LOCK TABLE carbon_factor IN SHARE ROW EXCLUSIVE MODE")
        reg = _registry(conn)
        new = reg.add(factor)
        CQ.insert_factor(conn, records.factor_row(new))
    return new


def add_series(store: Store, series: FactorSeries) -> FactorSeries:
    with store.connection() as conn, conn.transaction():
        conn.execute("LOCK TABLE carbon_factor_series IN SHARE ROW EXCLUSIVE MODE")
        reg = _registry(conn)
        s = FactorSeries(
            series.key,
            reg.next_version(series.key),
            series.starts,
            series.values,
            series.interval_minutes,
            series.publisher,
            series.document,
            series.note,
        )
        reg.add_series(s)
        CQ.insert_series(conn, records.series_row(s))
    return s


# ---------------------------------------------------------------------------- accounting runs


def certificates(store: Store) -> list[Certificate]:
    with store.connection() as conn:
        return [records.certificate(r) for r in CQ.certificates(conn)]


def effective_retirements(store: Store) -> list[RetirementEntry]:
    """The latest ledger entry of every retired serial."""
    with store.connection() as conn:
        return [records.entry(r) for r in CQ.effective_retirements(conn)]


def retirement_events(store: Store, serial: str) -> list[RetirementEntry]:
    """Every ledger entry of one serial, in order."""
    with store.connection() as conn:
        return [records.entry(r) for r in CQ.retirement_events(conn, serial)]


def deliveries(store: Store) -> list[ContractDelivery]:
    """Every recorded contract delivery, corrections included."""
    with store.connection() as conn:
        return [records.delivery(r) for r in CQ.all_deliveries(conn)]


def run_for(
    store: Store,
    park: Park,
    start: dt.datetime,
    end: dt.datetime,
    registry: FactorRegistry | None = None,
    *,
    with_certificates: bool = True,
    loads: str = "always",
) -> AccountingRun:
    """Account [start, end) from the store's rollups and the ledgers.

    ``loads="if_needed"`` reads the load meters only when the grid meter has a gap (they are
    needed for the balance fill only); the factor series use it, as the loads are most of a
    park's meters.
    """
    registry = registry or load_registry(store)
    b = boundary_of(park)
    with_loads = loads == "always"
    with store.connection() as conn:
        retirements, (span0, span1) = _span(conn, park, start, end, with_certificates)
        span_deliveries = [records.delivery(r) for r in CQ.active_deliveries(conn, span0, span1)]
    ie = store.interval_energy(span0, span1, b.all_devices if with_loads else b.boundary_devices)
    if not with_loads and (ie.coverage[ie.devices.index(b.grid_meter)] < FULL_COVERAGE).any():
        with_loads = True
        ie = store.interval_energy(span0, span1, b.all_devices)
    return compute_run(park, ie, start, end, registry, span_deliveries, retirements, with_loads=with_loads)


def _span(
    conn: psycopg.Connection, park: Park, start: dt.datetime, end: dt.datetime, with_certificates: bool = True
) -> tuple[list[RetirementEntry], tuple[dt.datetime, dt.datetime]]:
    """The retirements and the accounting span, which carries the storage pool into the period."""
    retirements = [records.entry(r) for r in CQ.effective_retirements(conn)] if with_certificates else []
    active = [records.delivery(r) for r in CQ.active_deliveries(conn, start, end)]
    return retirements, accounting_span(park, start, end, active, retirements)


def inputs_version(store: Store, park: Park, start: dt.datetime, end: dt.datetime) -> tuple[int, ...]:
    """A value that changes whenever :func:`run_for` over [start, end) could: a ledger or factor entry
    added, or a reading in the accounting span (which may reach past ``end`` to a claim period's end)."""
    store.refresh_rollups()
    with store.connection() as conn:
        _, (span0, span1) = _span(conn, park, start, end)
        return CQ_VERSION.accounting_inputs_version(conn, span0, span1)


def year_start(park: Park, end: dt.datetime) -> dt.datetime:
    """1 January (park time) of the year a period ending at ``end`` belongs to."""
    zone = zoneinfo.ZoneInfo(park.timezone)
    return dt.datetime((end.astimezone(zone) - dt.timedelta(microseconds=1)).year, 1, 1, tzinfo=zone)


def factor_series(
    store: Store,
    park: Park,
    start: dt.datetime,
    end: dt.datetime,
    resolution: str = "hour",
    method: str = "market",
    registry: FactorRegistry | None = None,
) -> list[FactorPoint]:
    """Park emission factor series [gCO2/kWh] for ``GET /v1/carbon/factors``."""
    run = run_for(store, park, start, end, registry, loads="if_needed")
    a = run.accounts
    attributed = a.attributed_kg_loc if method == "location" else a.attributed_kg_mkt
    return factor_points(
        a.flows.starts,
        park.timezone,
        resolution,
        method,
        attributed,
        a.consumption_kwh,
        a.flows.completeness,
        a.flows.estimated,
    )


def series_provenance(park: Park, registry: FactorRegistry) -> dict[str, Any]:
    """Provenance of the factors behind :func:`factor_series` (for the API response)."""
    grid = park.carbon.grid_factor
    residual = default_residual_ref(park, registry)

    def prov(ref: str) -> dict[str, Any]:
        return (registry.get_series(ref) if registry.is_series(ref) else registry.get(ref)).provenance()

    return {
        "grid": prov(grid),
        "residual": prov(residual),
        "unit": "gCO2/kWh",
        "method_note": "location: grid import x grid factor; market: contracts and certificates zero, "
        "rest at the residual factor; storage ledger applied (docs/carbon_methodology.md)",
    }


def eligible_kwh(store: Store, park: Park, period: Period, registry: FactorRegistry | None = None) -> Decimal:
    """Grid import minus green-contract claims over the period [kWh]: the most certificates may cover."""
    run = run_for(store, park, period.start, period.end, registry, with_certificates=False, loads="if_needed")
    a = run.accounts
    return milli_to_decimal(int(to_milli(a.flows.grid_import_kwh - a.contract_kwh).sum()))


# ---------------------------------------------------------------------------- ledgers


def register_park_certificates(store: Store, park: Park) -> int:
    """Enter the park file's held certificates in the ledger (known serials are left as they are)."""
    with store.connection() as conn:
        return CQ.register_certificates(conn, certificates_from_park(park))


def _check_eligible(conn: psycopg.Connection, park: Park, serials: list[str], period: Period) -> None:
    certs = [records.certificate(r) for r in CQ.certificates(conn, serials)]
    check_eligibility(certs, period, park.green.certificate_rules, park.tz)


def retire(store: Store, park: Park, serials: list[str], period: Period, beneficiary: str) -> list[RetirementEntry]:
    """Retire certificates against a consumption period; LedgerError (nothing written) if not allowed."""
    basis = eligible_kwh(store, park, period)
    with store.connection() as conn, conn.transaction():
        CQ.lock_events(conn)
        known = CQ.known_serials(conn, serials)
        current = effective([records.entry(r) for r in CQ.effective_retirements(conn)])
        _check_eligible(conn, park, serials, period)
        check_retirement(serials, period, basis, known, current)
        rows = CQ.insert_events(
            conn, serials, dict.fromkeys(serials, 1), "retire", period.start, period.end, basis, beneficiary, ""
        )
    return [records.entry(r) for r in rows]


def reassign(store: Store, park: Park, serials: list[str], period: Period, reason: str) -> list[RetirementEntry]:
    """Move retired certificates to another period: new ledger entries, the old ones stay visible."""
    if not reason.strip():
        raise LedgerError(Msg("a reassignment needs a reason (it is a correction of the ledger)"))
    basis = eligible_kwh(store, park, period)
    with store.connection() as conn, conn.transaction():
        CQ.lock_events(conn)
        known = CQ.known_serials(conn, serials)
        current = effective([records.entry(r) for r in CQ.effective_retirements(conn)])
        _check_eligible(conn, park, serials, period)
        check_retirement(serials, period, basis, known, current, reassign=True)
        seqs = {s: current[s].seq + 1 for s in serials}
        beneficiary = current[serials[0]].beneficiary
        rows = CQ.insert_events(conn, serials, seqs, "reassign", period.start, period.end, basis, beneficiary, reason)
    return [records.entry(r) for r in rows]


def certificate_ledger(store: Store) -> list[dict[str, Any]]:
    """Read-only view of the certificate ledger: every certificate with its full entry history."""
    with store.connection() as conn:
        certs = [records.certificate(r) for r in CQ.certificates(conn)]
        events = [records.entry(r) for r in CQ.retirement_events(conn)]
    history: dict[str, list[RetirementEntry]] = {}
    for e in events:
        history.setdefault(e.serial, []).append(e)
    out = []
    for c in certs:
        entries = history.get(c.serial, [])
        out.append(
            {
                "serial": c.serial,
                **c.issuance(),
                "mwh": str(c.mwh),
                "status": "retired" if entries else "available",
                "entries": [
                    {
                        "event_id": e.event_id,
                        "seq": e.seq,
                        "kind": e.kind,
                        "period_start": e.period.start.isoformat(),
                        "period_end": e.period.end.isoformat(),
                        "basis_kwh": str(e.basis_kwh),
                        "beneficiary": e.beneficiary,
                        "reason": e.reason,
                        "created_at": e.created_at.isoformat() if e.created_at else None,
                    }
                    for e in entries
                ],
            }
        )
    return out


def record_delivery(
    store: Store,
    park: Park,
    contract_id: str,
    period: Period,
    kwh: Decimal,
    granularity: str,
    reference: str = "",
    replaces: int | None = None,
) -> ContractDelivery:
    """Record a green-contract delivery (or a correction replacing an earlier one)."""
    known = {c.id for c in park.green.contracts}
    if contract_id not in known:
        raise LedgerError(
            Msg(
                "unknown green contract {contract!r} (park file knows: {known})",
                contract=contract_id,
                known=", ".join(sorted(known)) or Msg("none"),
            )
        )
    if kwh < 0:
        raise LedgerError(Msg("delivered energy cannot be negative"))
    if granularity not in ("interval", "period"):
        raise LedgerError(Msg("granularity must be 'interval' or 'period'"))
    basis = None
    if granularity == "period":
        ie = store.interval_energy(period.start, period.end, [boundary_of(park).grid_meter])
        basis = milli_to_decimal(int(to_milli(ie.e_out_kwh.sum(axis=0)).sum()))
        if basis <= 0:
            raise LedgerError(
                Msg(
                    "no metered grid import in {period} yet: record the delivery once the period is metered "
                    "(deliveries are shares of grid import)",
                    period=period.label(),
                )
            )
    with store.connection() as conn:
        row = CQ.insert_delivery(
            conn, contract_id, period.start, period.end, kwh, granularity, basis, reference, replaces
        )
    return records.delivery(row)


# ---------------------------------------------------------------------------- reports


def year_budget(store: Store, park: Park, run: AccountingRun, registry: FactorRegistry) -> BudgetStatus:
    """Market-based emissions from 1 January (park time) to the period end against the annual budget."""
    zone = zoneinfo.ZoneInfo(park.timezone)
    jan1 = year_start(park, run.end)
    year = jan1.year
    ytd_run = run if run.start.astimezone(zone) == jan1 else run_for(store, park, jan1, run.end, registry)
    ytd_t = milli_to_decimal(int(to_milli(ytd_run.accounts.attributed_kg_mkt).sum())) / 1000
    days_in_year = (dt.datetime(year + 1, 1, 1, tzinfo=zone) - jan1).days
    elapsed = Decimal((run.end - jan1).total_seconds()) / Decimal(86400)
    comp = ytd_run.accounts.flows.completeness
    completeness = Decimal(f"{float(comp.mean()):.6f}") if len(comp) else Decimal(0)
    return budget_status(park.carbon.annual_budget_tco2, year, ytd_t, elapsed, days_in_year, completeness)


def report_content(
    store: Store,
    park: Park,
    start: dt.datetime,
    end: dt.datetime,
    *,
    replaces: str | None = None,
    fuels: Sequence[FuelUse] = (),
    signer: Signer | None = None,
) -> dict[str, Any]:
    registry = load_registry(store)
    run = run_for(store, park, start, end, registry)
    budget = year_budget(store, park, run, registry)
    serials = sorted({r.serial for r in run.retirements})
    with store.connection() as conn:
        certs = {r.serial: records.certificate(r) for r in CQ.certificates(conn, serials)} if serials else {}
    return build_report(
        run,
        software_version=ems.__version__,
        replaces=replaces,
        fuels=fuels,
        budget=budget,
        certificates=certs,
        opening_depends_on=opening_state_depends_on(REPORTS.entries(store), park, run),
        public_key=None if signer is None else signer.public_key_hex,
    )


def opening_state_depends_on(entries: list[dict[str, Any]], park: Park, run: AccountingRun) -> list[str]:
    """Content hashes of the restatements (in chain order) of periods between the accounting origin and
    this period's start: the storage pool this period opens with was carried through them (issue 19)."""
    lo, hi = run.span_start.astimezone(dt.UTC), run.start.astimezone(dt.UTC)
    return [
        e["content_sha256"]
        for e in entries
        if e["replaces_sha256"] is not None
        and e["park"] == park.name
        and dt.datetime.fromisoformat(e["period_start"]) < hi
        and dt.datetime.fromisoformat(e["period_end"]) > lo
    ]


MIN_COMPLETENESS = Decimal("0.9")


def completeness_problems(content: dict[str, Any], end: dt.datetime, now: dt.datetime) -> list[str]:
    """Why a report would not cover a closed, metered period (issue 21): empty list = complete enough."""
    problems = []
    if end > now:
        problems.append(f"the period ends {end.isoformat()}, after the report was issued (period not over)")
    mean = Decimal(content["data_quality"]["mean_completeness"])
    if mean < MIN_COMPLETENESS:
        problems.append(f"mean data completeness is {mean} (below {MIN_COMPLETENESS}; 0 = no data at all)")
    return problems


def issue_report(
    store: Store,
    park: Park,
    start: dt.datetime,
    end: dt.datetime,
    reports_dir: Path,
    *,
    replaces: str | None = None,
    fuels: Sequence[FuelUse] = (),
    pdf: bool = True,
    signer: Signer | None = None,
    allow_incomplete: bool = False,
    now: dt.datetime | None = None,
    lang: str | None = None,
) -> IssuedDocument:
    """Build the report, write JSON/CSV(/PDF) under ``reports_dir`` and append it to the hash chain.
    CSV header and PDF are in ``lang`` (default: the park file's language).

    Refused (DocumentError, nothing written) for a period not yet over or without enough data
    unless ``allow_incomplete``; the report states its completeness either way.
    """
    lang = lang or park.language
    content = report_content(store, park, start, end, replaces=replaces, fuels=fuels, signer=signer)
    problems = completeness_problems(content, end, now or dt.datetime.now(dt.UTC))
    if problems and not allow_incomplete:
        raise DocumentError(
            "report refused, nothing issued: " + "; ".join(problems) + " (--allow-incomplete to issue it anyway, "
            "stating so in the report)"
        )
    content["data_quality"]["completeness_problems"] = problems
    content["data_quality"]["issued_incomplete"] = bool(problems)

    def renderings(_h: str) -> dict[str, bytes]:
        blobs = {"csv": intervals_csv(content, lang)}
        if pdf:
            from ems.carbon.pdf import render_pdf

            blobs["pdf"] = render_pdf(content, lang)
        return blobs

    name = slug(park.name, "park")
    return REPORTS.issue(
        store, content, reports_dir, name, park.name, start, end, replaces, renderings, tz=park.tz, signer=signer
    )


def list_reports(store: Store) -> list[dict[str, Any]]:
    """The hash chain of issued reports, in order."""
    return REPORTS.entries(store)


def verify_report_file(
    path: Path,
    *,
    store: Store | None = None,
    chain_file: Path | None = None,
    trusted_keys: frozenset[str] | None = None,
    tsa_roots: tuple[x509.Certificate, ...] = (),
) -> Verification:
    """Verify a report file (JSON, CSV or PDF) against the chain in the database (or an exported chain file).

    With the database, the entry's RFC 3161 token (if it has one) is checked too, against ``tsa_roots``."""
    if store is not None:
        entries = REPORTS.entries(store)
    elif chain_file is not None:
        entries = read_chain_file(chain_file)
    else:
        raise ValueError("give a store or an exported chain file to verify against")
    v = verify_report(path.read_bytes(), entries, trusted_keys)
    stamp = None if store is None or v.entry is None else REPORTS.timestamp_of(store, v.entry["chain_sha256"])
    if stamp is not None and v.entry is not None:
        token, when, url = stamp
        v.timestamp = f"{when.isoformat()} ({url})"
        problems = verify_token(token, v.entry["chain_sha256"], tsa_roots)
        if problems:
            v.ok = False
            v.problems += problems
    return v


# ---------------------------------------------------------------------------- carbon intensity


def _factor_ref(park: Park, registry: FactorRegistry, method: str) -> str:
    return park.carbon.grid_factor if method == "location" else default_residual_ref(park, registry)


def factor_scope(park: Park, registry: FactorRegistry, method: str) -> str:
    """Scope of the factor behind ``method`` (time-varying series carry none: grid operators' hourly
    data are operational, i.e. combustion)."""
    ref = _factor_ref(park, registry, method)
    return "combustion_co2" if registry.is_series(ref) else registry.get(ref).scope


def intensity_measured(
    store: Store,
    park: Park,
    start: dt.datetime,
    end: dt.datetime,
    resolution: str,
    method: str,
    registry: FactorRegistry | None = None,
) -> list[IntensityPoint]:
    """Measured park carbon intensity, missing where data are too sparse (:mod:`ems.carbon.intensity`)."""
    return measured_points(factor_series(store, park, start, end, resolution, method, registry))


def intensity_forecast(
    store: Store, park: Park, method: str, now: dt.datetime, registry: FactorRegistry | None = None
) -> tuple[StoredSchedule | None, list[IntensityPoint]]:
    """Forecast intensity of the planned intervals ending after ``now`` in the newest stored plan."""
    with store.connection() as conn:
        plan = latest_schedule(conn)
    if plan is None:
        return None, []
    registry = registry or load_registry(store)
    step = dt.timedelta(minutes=plan.interval_minutes)
    keep = [i for i, t in enumerate(plan.times) if t + step > now]
    if not keep:
        return plan, []
    times = [plan.times[i] for i in keep]
    starts = np.array([np.datetime64(t.astimezone(dt.UTC).replace(tzinfo=None), "us") for t in times])
    factor = resolve_factor(registry, _factor_ref(park, registry, method), starts, plan.interval_minutes).per_interval
    contract = sum((plan.device_series(c.id, "p_kw") for c in park.green.contracts), np.zeros(len(plan.times)))
    consumption = plan.consumption_kw if plan.consumption_kw is not None else np.zeros(len(plan.times))
    return plan, forecast_points(
        times, plan.grid_import_kw[keep], contract[keep], np.asarray(consumption)[keep], factor, method
    )
