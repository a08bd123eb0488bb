"""Conversions between the store's plain carbon rows (:mod:`ems.store.carbon_queries`) and carbon types.

The store knows tables, not the carbon model: it returns and accepts rows, and this module is the
one place that maps them (so ``ems.store`` never imports ``ems.carbon``).
"""

from __future__ import annotations

import dataclasses

from ems.carbon.certificates import Certificate, ContractDelivery, Period, RetirementEntry
from ems.carbon.factors import EmissionFactor, FactorSeries
from ems.store.carbon_queries import CertificateRow, DeliveryRow, EventRow, FactorRow, SeriesRow


def factor(r: FactorRow) -> EmissionFactor:
    """A user factor from its row (origin ``user``, recorded time as its verification note)."""
    created = r.created_at.isoformat() if r.created_at else "now"
    return EmissionFactor(
        key=r.key,
        version=r.version,
        value=r.value,
        unit=r.unit,
        scope=r.scope,
        region=r.region,
        data_year=r.data_year,
        publisher=r.publisher,
        document=r.document,
        published=r.published,
        note=r.note,
        origin="user",
        verification=f"user-supplied, recorded {created}",
    )


def factor_row(f: EmissionFactor) -> FactorRow:
    return FactorRow(
        f.key, f.version, f.value, f.unit, f.scope, f.region, f.data_year, f.publisher, f.document, f.published, f.note
    )


def series(r: SeriesRow) -> FactorSeries:
    return FactorSeries(r.key, r.version, r.starts, r.values, r.interval_minutes, r.publisher, r.document, r.note)


def series_row(s: FactorSeries) -> SeriesRow:
    return SeriesRow(s.key, s.version, s.starts, s.values, s.interval_minutes, s.publisher, s.document, s.note)


def certificate(r: CertificateRow) -> Certificate:
    return Certificate(**dataclasses.asdict(r))


def entry(r: EventRow) -> RetirementEntry:
    return RetirementEntry(
        event_id=r.event_id,
        serial=r.serial,
        seq=r.seq,
        kind=r.kind,
        period=Period(r.period_start, r.period_end),
        basis_kwh=r.basis_kwh,
        beneficiary=r.beneficiary,
        reason=r.reason,
        created_at=r.created_at,
    )


def delivery(r: DeliveryRow) -> ContractDelivery:
    return ContractDelivery(
        r.delivery_id,
        r.contract_id,
        Period(r.period_start, r.period_end),
        r.kwh,
        r.granularity,
        r.basis_kwh,
        r.reference,
        r.replaces,
    )
