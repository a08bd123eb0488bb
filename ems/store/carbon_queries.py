"""SQL for the carbon ledgers and factors of migration 0003 (the report chain is in
:mod:`ems.store.document_queries`). Every function takes an open psycopg connection.

Writes that must check ledger state first (retirements) lock the event table for the
transaction, so two concurrent retirements of one serial cannot both pass the check; the
``UNIQUE (serial, seq)`` constraint is the backstop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg

# Plain rows of the carbon tables; ems.carbon converts them to and from its own types.


@dataclass(frozen=True)
class FactorRow:
    key: str
    version: int
    value: Decimal  # kgCO2/kWh
    unit: str
    scope: str
    region: str
    data_year: int
    publisher: str
    document: str
    published: dt.date | None
    note: str
    created_at: dt.datetime | None = None  # set by the database


@dataclass(frozen=True)
class SeriesRow:
    key: str
    version: int
    starts: np.ndarray  # datetime64[us], UTC
    values: np.ndarray  # float64 kgCO2/kWh
    interval_minutes: int
    publisher: str
    document: str
    note: str


@dataclass(frozen=True)
class CertificateRow:
    serial: str
    generator: str
    technology: str
    location: str
    production_start: dt.date
    production_end: dt.date
    issuer: str
    mwh: Decimal = Decimal(1)  # the table's CHECK (mwh = 1): one certificate is 1 MWh


@dataclass(frozen=True)
class EventRow:
    event_id: int
    serial: str
    seq: int
    kind: str
    period_start: dt.datetime
    period_end: dt.datetime
    basis_kwh: Decimal
    beneficiary: str
    reason: str
    created_at: dt.datetime | None


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: int
    contract_id: str
    period_start: dt.datetime
    period_end: dt.datetime
    kwh: Decimal
    granularity: str
    basis_kwh: Decimal | None
    reference: str
    replaces: int | None


# ---------------------------------------------------------------------------- factors


def insert_factor(conn: psycopg.Connection, f: FactorRow) -> None:
    conn.execute(
        "INSERT INTO carbon_factor (key, version, value, unit, scope, region, data_year, publisher, "
        "document, "
        "published, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            f.key,
            f.version,
            f.value,
            f.unit,
            f.scope,
            f.region,
            f.data_year,
            f.publisher,
            f.document,
            f.published,
            f.note,
        ),
    )


def user_factors(conn: psycopg.Connection) -> list[FactorRow]:
    rows = conn.execute(
        "SELECT key, version, value, unit, scope, region, data_year, publisher, document, published, note, "
        "created_at FROM carbon_factor ORDER BY key, version"
    ).fetchall()
    return [FactorRow(r[0], r[1], Decimal(r[2]), r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]) for r in rows]


def insert_series(conn: psycopg.Connection, s: SeriesRow) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO carbon_factor_series (key, version, interval_minutes, publisher, document, note) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (s.key, s.version, s.interval_minutes, s.publisher, s.document, s.note),
        )
        times = [dt.datetime.fromtimestamp(int(t) / 1e6, dt.UTC) for t in s.starts.astype(np.int64)]
        with (
            conn.cursor() as cur,
            cur.copy("COPY carbon_factor_point (key, version, t, value) FROM STDIN") as cp,
        ):
            for t, v in zip(times, s.values.tolist(), strict=True):
                cp.write_row((s.key, s.version, t, v))


def factor_series(conn: psycopg.Connection) -> list[SeriesRow]:
    heads = conn.execute(
        "SELECT key, version, interval_minutes, publisher, document, note FROM carbon_factor_series "
        "ORDER BY key, version"
    ).fetchall()
    out = []
    for key, version, minutes, publisher, document, note in heads:
        pts = conn.execute(
            "SELECT t, value FROM carbon_factor_point WHERE key = %s AND version = %s ORDER BY t",
            (key, version),
        ).fetchall()
        starts = np.array(
            [np.datetime64(t.astimezone(dt.UTC).replace(tzinfo=None), "us") for t, _ in pts],
            dtype="datetime64[us]",
        )
        out.append(
            SeriesRow(
                key, version, starts, np.array([v for _, v in pts], dtype=float), minutes, publisher, document, note
            )
        )
    return out


# ---------------------------------------------------------------------------- certificates


def register_certificates(conn: psycopg.Connection, certs: Sequence[CertificateRow]) -> int:
    """Insert certificates not yet known; returns how many were new. Known serials are left untouched."""
    with conn.transaction(), conn.cursor() as cur:
        before = cur.execute("SELECT count(*) FROM carbon_certificate").fetchone()[0]  # type: ignore[index]
        cur.executemany(
            "INSERT INTO carbon_certificate (serial, generator, technology, location, production_start, "
            "production_end, issuer) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (serial) DO NOTHING",
            [
                (
                    c.serial,
                    c.generator,
                    c.technology,
                    c.location,
                    c.production_start,
                    c.production_end,
                    c.issuer,
                )
                for c in certs
            ],
        )
        after = cur.execute("SELECT count(*) FROM carbon_certificate").fetchone()[0]  # type: ignore[index]
    return int(after - before)


def certificates(conn: psycopg.Connection, serials: list[str] | None = None) -> list[CertificateRow]:
    sql = (
        "SELECT serial, generator, technology, location, production_start, production_end, issuer, mwh "
        "FROM carbon_certificate"
    )
    rows = (
        conn.execute(sql + " WHERE serial = ANY(%s) ORDER BY serial", (serials,)).fetchall()
        if serials is not None
        else conn.execute(sql + " ORDER BY serial").fetchall()
    )
    return [CertificateRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], Decimal(r[7])) for r in rows]


def known_serials(conn: psycopg.Connection, serials: list[str]) -> set[str]:
    rows = conn.execute("SELECT serial FROM carbon_certificate WHERE serial = ANY(%s)", (serials,)).fetchall()
    return {r[0] for r in rows}


def _entry(r: Any) -> EventRow:
    return EventRow(r[0], r[1], r[2], r[3], r[4], r[5], Decimal(r[6]), r[7], r[8], r[9])


_EVENT_COLS = "event_id, serial, seq, kind, period_start, period_end, basis_kwh, beneficiary, reason, created_at"


def retirement_events(conn: psycopg.Connection, serial: str | None = None) -> list[EventRow]:
    if serial is None:
        rows = conn.execute(f"SELECT {_EVENT_COLS} FROM carbon_certificate_event ORDER BY event_id").fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_EVENT_COLS} FROM carbon_certificate_event WHERE serial = %s ORDER BY seq", (serial,)
        ).fetchall()
    return [_entry(r) for r in rows]


def effective_retirements(conn: psycopg.Connection) -> list[EventRow]:
    """The latest entry of every retired serial."""
    rows = conn.execute(
        f"SELECT DISTINCT ON (serial) {_EVENT_COLS} FROM carbon_certificate_event ORDER BY serial, seq DESC"
    ).fetchall()
    return [_entry(r) for r in rows]


def lock_events(conn: psycopg.Connection) -> None:
    """Serialise ledger writers for the current transaction."""
    conn.execute("LOCK TABLE carbon_certificate_event IN SHARE ROW EXCLUSIVE MODE")


def insert_events(
    conn: psycopg.Connection,
    serials: list[str],
    seqs: dict[str, int],
    kind: str,
    period_start: dt.datetime,
    period_end: dt.datetime,
    basis_kwh: Decimal,
    beneficiary: str,
    reason: str,
) -> list[EventRow]:
    out = []
    for s in serials:
        r = conn.execute(
            "INSERT INTO carbon_certificate_event (serial, seq, kind, period_start, period_end, basis_kwh, "
            f"beneficiary, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_EVENT_COLS}",
            (s, seqs[s], kind, period_start, period_end, basis_kwh, beneficiary, reason),
        ).fetchone()
        out.append(_entry(r))
    return out


# ---------------------------------------------------------------------------- contract deliveries


_DELIVERY_COLS = "delivery_id, contract_id, period_start, period_end, kwh, granularity, basis_kwh, reference, replaces"


def _delivery(r: Any) -> DeliveryRow:
    return DeliveryRow(r[0], r[1], r[2], r[3], Decimal(r[4]), r[5], None if r[6] is None else Decimal(r[6]), r[7], r[8])


def insert_delivery(
    conn: psycopg.Connection,
    contract_id: str,
    period_start: dt.datetime,
    period_end: dt.datetime,
    kwh: Decimal,
    granularity: str,
    basis_kwh: Decimal | None,
    reference: str,
    replaces: int | None,
) -> DeliveryRow:
    r = conn.execute(
        "INSERT INTO carbon_contract_delivery (contract_id, period_start, period_end, kwh, granularity, "
        "basis_kwh, "
        f"reference, replaces) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_DELIVERY_COLS}",
        (contract_id, period_start, period_end, kwh, granularity, basis_kwh, reference, replaces),
    ).fetchone()
    return _delivery(r)


def active_deliveries(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime) -> list[DeliveryRow]:
    """Deliveries overlapping [start, end) that no later delivery replaces."""
    rows = conn.execute(
        f"SELECT {_DELIVERY_COLS} FROM carbon_contract_delivery d "
        "WHERE period_start < %s AND period_end > %s "
        "AND NOT EXISTS (SELECT 1 FROM carbon_contract_delivery r WHERE r.replaces = d.delivery_id) "
        "ORDER BY delivery_id",
        (end, start),
    ).fetchall()
    return [_delivery(r) for r in rows]


def all_deliveries(conn: psycopg.Connection) -> list[DeliveryRow]:
    rows = conn.execute(f"SELECT {_DELIVERY_COLS} FROM carbon_contract_delivery ORDER BY delivery_id").fetchall()
    return [_delivery(r) for r in rows]
