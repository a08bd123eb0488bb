"""SQL for the footprint production counts (migration 0005). Every function takes an open psycopg connection.

The footprint document chain is in :mod:`ems.store.document_queries`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg


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
