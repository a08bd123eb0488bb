"""SQL for the footprint tables of migration 0005. Every function takes an open psycopg connection."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ems.store.carbon_queries import chain_row

_DOC_KEYS = (
    "seq",
    "doc_type",
    "tenant_id",
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


def insert_production(conn: psycopg.Connection, rows: list[tuple[str, dt.date, Decimal, str, str]]) -> int:
    """Append production entries (line, day, quantity, unit, source); returns the number written."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO footprint_production (line_id, day, quantity, unit, source) VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
    return len(rows)


def production(
    conn: psycopg.Connection, lines: list[str], first: dt.date, last: dt.date
) -> dict[tuple[str, dt.date], tuple[Decimal, str]]:
    """Effective (latest) count per (line, day) for days in [first, last]."""
    rows = conn.execute(
        "SELECT DISTINCT ON (line_id, day) line_id, day, quantity, unit FROM footprint_production "
        "WHERE line_id = ANY(%s) AND day BETWEEN %s AND %s ORDER BY line_id, day, entry_id DESC",
        (lines, first, last),
    ).fetchall()
    return {(r[0], r[1]): (Decimal(r[2]), str(r[3])) for r in rows}


def documents(conn: psycopg.Connection, tenant_id: str | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT {', '.join(_DOC_KEYS)} FROM footprint_document"
    params: tuple[Any, ...] = ()
    if tenant_id is not None:
        sql += " WHERE tenant_id = %s"
        params = (tenant_id,)
    return [chain_row(_DOC_KEYS, r) for r in conn.execute(sql + " ORDER BY seq", params).fetchall()]


def lock_documents(conn: psycopg.Connection) -> None:
    conn.execute("LOCK TABLE footprint_document IN SHARE ROW EXCLUSIVE MODE")


def last_document(conn: psycopg.Connection) -> tuple[int, str] | None:
    r = conn.execute("SELECT seq, chain_sha256 FROM footprint_document ORDER BY seq DESC LIMIT 1").fetchone()
    return None if r is None else (int(r[0]), str(r[1]))


def find_document(conn: psycopg.Connection, content_sha256: str) -> dict[str, Any] | None:
    r = conn.execute("SELECT seq FROM footprint_document WHERE content_sha256 = %s", (content_sha256,)).fetchone()
    if r is None:
        return None
    return next(d for d in documents(conn) if d["seq"] == r[0])


def insert_document(conn: psycopg.Connection, entry: dict[str, Any]) -> None:
    conn.execute(
        f"INSERT INTO footprint_document ({', '.join(_DOC_KEYS)}) VALUES ({', '.join(['%s'] * len(_DOC_KEYS))})",
        tuple(Jsonb(entry[k]) if k == "files" else entry[k] for k in _DOC_KEYS),
    )
