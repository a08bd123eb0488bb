"""SQL for the carbon tables of migration 0003. Every function takes an open psycopg connection.

Writes that must check ledger state first (retirements) lock the event table for the
transaction, so two concurrent retirements of one serial cannot both pass the check; the
``UNIQUE (serial, seq)`` constraint is the backstop.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from ems.carbon.certificates import Certificate, ContractDelivery, Period, RetirementEntry
from ems.carbon.factors import EmissionFactor, FactorSeries

# ---------------------------------------------------------------------------- factors


def insert_factor(conn: psycopg.Connection, f: EmissionFactor) -> None:
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


def user_factors(conn: psycopg.Connection) -> list[EmissionFactor]:
    rows = conn.execute(
        "SELECT key, version, value, unit, scope, region, data_year, publisher, document, published, note, "
        "created_at FROM carbon_factor ORDER BY key, version"
    ).fetchall()
    return [
        EmissionFactor(
            key=r[0],
            version=r[1],
            value=Decimal(r[2]),
            unit=r[3],
            scope=r[4],
            region=r[5],
            data_year=r[6],
            publisher=r[7],
            document=r[8],
            published=r[9],
            note=r[10],
            origin="user",
            verification=f"user-supplied, recorded {r[11].isoformat()}",
        )
        for r in rows
    ]


def insert_series(conn: psycopg.Connection, s: FactorSeries) -> None:
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


def factor_series(conn: psycopg.Connection) -> list[FactorSeries]:
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
            FactorSeries(
                key,
                version,
                starts,
                np.array([v for _, v in pts], dtype=float),
                minutes,
                publisher,
                document,
                note,
            )
        )
    return out


# ---------------------------------------------------------------------------- certificates


def register_certificates(conn: psycopg.Connection, certs: list[Certificate]) -> int:
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


def certificates(conn: psycopg.Connection, serials: list[str] | None = None) -> list[Certificate]:
    sql = (
        "SELECT serial, generator, technology, location, production_start, production_end, issuer, mwh "
        "FROM carbon_certificate"
    )
    rows = (
        conn.execute(sql + " WHERE serial = ANY(%s) ORDER BY serial", (serials,)).fetchall()
        if serials is not None
        else conn.execute(sql + " ORDER BY serial").fetchall()
    )
    return [Certificate(r[0], r[1], r[2], r[3], r[4], r[5], r[6], Decimal(r[7])) for r in rows]


def known_serials(conn: psycopg.Connection, serials: list[str]) -> set[str]:
    rows = conn.execute("SELECT serial FROM carbon_certificate WHERE serial = ANY(%s)", (serials,)).fetchall()
    return {r[0] for r in rows}


def _entry(r: Any) -> RetirementEntry:
    return RetirementEntry(
        event_id=r[0],
        serial=r[1],
        seq=r[2],
        kind=r[3],
        period=Period(r[4], r[5]),
        basis_kwh=Decimal(r[6]),
        beneficiary=r[7],
        reason=r[8],
        created_at=r[9],
    )


_EVENT_COLS = "event_id, serial, seq, kind, period_start, period_end, basis_kwh, beneficiary, reason, created_at"


def retirement_events(conn: psycopg.Connection, serial: str | None = None) -> list[RetirementEntry]:
    if serial is None:
        rows = conn.execute(f"SELECT {_EVENT_COLS} FROM carbon_certificate_event ORDER BY event_id").fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_EVENT_COLS} FROM carbon_certificate_event WHERE serial = %s ORDER BY seq", (serial,)
        ).fetchall()
    return [_entry(r) for r in rows]


def effective_retirements(conn: psycopg.Connection) -> list[RetirementEntry]:
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
    period: Period,
    basis_kwh: Decimal,
    beneficiary: str,
    reason: str,
) -> list[RetirementEntry]:
    out = []
    for s in serials:
        r = conn.execute(
            "INSERT INTO carbon_certificate_event (serial, seq, kind, period_start, period_end, basis_kwh, "
            f"beneficiary, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_EVENT_COLS}",
            (s, seqs[s], kind, period.start, period.end, basis_kwh, beneficiary, reason),
        ).fetchone()
        out.append(_entry(r))
    return out


# ---------------------------------------------------------------------------- contract deliveries


_DELIVERY_COLS = "delivery_id, contract_id, period_start, period_end, kwh, granularity, basis_kwh, reference, replaces"


def _delivery(r: Any) -> ContractDelivery:
    return ContractDelivery(
        r[0],
        r[1],
        Period(r[2], r[3]),
        Decimal(r[4]),
        r[5],
        None if r[6] is None else Decimal(r[6]),
        r[7],
        r[8],
    )


def insert_delivery(
    conn: psycopg.Connection,
    contract_id: str,
    period: Period,
    kwh: Decimal,
    granularity: str,
    basis_kwh: Decimal | None,
    reference: str,
    replaces: int | None,
) -> ContractDelivery:
    r = conn.execute(
        "INSERT INTO carbon_contract_delivery (contract_id, period_start, period_end, kwh, granularity, "
        "basis_kwh, "
        f"reference, replaces) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_DELIVERY_COLS}",
        (contract_id, period.start, period.end, kwh, granularity, basis_kwh, reference, replaces),
    ).fetchone()
    return _delivery(r)


def active_deliveries(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime) -> list[ContractDelivery]:
    """Deliveries overlapping [start, end) that no later delivery replaces."""
    rows = conn.execute(
        f"SELECT {_DELIVERY_COLS} FROM carbon_contract_delivery d "
        "WHERE period_start < %s AND period_end > %s "
        "AND NOT EXISTS (SELECT 1 FROM carbon_contract_delivery r WHERE r.replaces = d.delivery_id) "
        "ORDER BY delivery_id",
        (end, start),
    ).fetchall()
    return [_delivery(r) for r in rows]


def all_deliveries(conn: psycopg.Connection) -> list[ContractDelivery]:
    rows = conn.execute(f"SELECT {_DELIVERY_COLS} FROM carbon_contract_delivery ORDER BY delivery_id").fetchall()
    return [_delivery(r) for r in rows]


# ---------------------------------------------------------------------------- reports and hash chain


_REPORT_KEYS = (
    "seq",
    "content_sha256",
    "prev_chain_sha256",
    "chain_sha256",
    "park",
    "period_start",
    "period_end",
    "replaces_sha256",
    "software_version",
    "files",
    "issued_at",
)
_REPORT_SELECT = f"SELECT {', '.join(_REPORT_KEYS)} FROM carbon_report"


def chain_row(keys: tuple[str, ...], row: tuple[Any, ...]) -> dict[str, Any]:
    """A hash-chain row as the dict the chain hash was computed on (timestamps as UTC ISO strings)."""
    d = dict(zip(keys, row, strict=True))
    for k in ("period_start", "period_end", "issued_at"):
        d[k] = d[k].astimezone(dt.UTC).isoformat()
    return d


def chain_entries(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return [chain_row(_REPORT_KEYS, r) for r in conn.execute(_REPORT_SELECT + " ORDER BY seq").fetchall()]


def lock_reports(conn: psycopg.Connection) -> None:
    conn.execute("LOCK TABLE carbon_report IN SHARE ROW EXCLUSIVE MODE")


def last_chain(conn: psycopg.Connection) -> tuple[int, str] | None:
    r = conn.execute("SELECT seq, chain_sha256 FROM carbon_report ORDER BY seq DESC LIMIT 1").fetchone()
    return None if r is None else (int(r[0]), str(r[1]))


def find_report(conn: psycopg.Connection, content_sha256: str) -> dict[str, Any] | None:
    r = conn.execute(_REPORT_SELECT + " WHERE content_sha256 = %s", (content_sha256,)).fetchone()
    return None if r is None else chain_row(_REPORT_KEYS, r)


def insert_report(conn: psycopg.Connection, entry: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO carbon_report (seq, content_sha256, prev_chain_sha256, chain_sha256, park, "
        "period_start, "
        "period_end, replaces_sha256, software_version, files, issued_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            entry["seq"],
            entry["content_sha256"],
            entry["prev_chain_sha256"],
            entry["chain_sha256"],
            entry["park"],
            entry["period_start"],
            entry["period_end"],
            entry["replaces_sha256"],
            entry["software_version"],
            Jsonb(entry["files"]),
            entry["issued_at"],
        ),
    )
