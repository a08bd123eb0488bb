"""SQL for the delivery outbox (migration 0009). Every function takes an open psycopg connection."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class OutboxRow:
    message_id: int
    channel: str
    receiver: str
    dedup_key: str
    body: str
    created_at: dt.datetime
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    delivered_at: dt.datetime | None


_COLUMNS = (
    "message_id, channel, receiver, dedup_key, body, created_at, attempts, next_attempt_at, last_error, delivered_at"
)


def enqueue(conn: psycopg.Connection, channel: str, receiver: str, dedup_key: str, body: str) -> int | None:
    """Add a message; None when (channel, receiver, dedup_key) is already queued or sent."""
    row = conn.execute(
        "INSERT INTO outbox (channel, receiver, dedup_key, body) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (channel, receiver, dedup_key) DO NOTHING RETURNING message_id",
        (channel, receiver, dedup_key, body),
    ).fetchone()
    return None if row is None else int(row[0])


def claim_due(conn: psycopg.Connection, now: dt.datetime, limit: int) -> list[OutboxRow]:
    """Undelivered messages due by ``now`` (never tried: due at once), oldest first, locked for this transaction.

    SKIP LOCKED lets two delivery workers run without sending a message twice.
    """
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE delivered_at IS NULL AND (attempts = 0 OR next_attempt_at <= %s) "
        "ORDER BY message_id LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, limit),
    ).fetchall()
    return [OutboxRow(*r) for r in rows]


def mark_delivered(conn: psycopg.Connection, message_id: int, at: dt.datetime) -> None:
    conn.execute(
        "UPDATE outbox SET delivered_at = %s, attempts = attempts + 1, last_error = NULL WHERE message_id = %s",
        (at, message_id),
    )


def mark_failed(conn: psycopg.Connection, message_id: int, error: str, retry_at: dt.datetime) -> None:
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = %s, next_attempt_at = %s WHERE message_id = %s",
        (error[:500], retry_at, message_id),
    )


def messages(conn: psycopg.Connection, channel: str | None = None, pending_only: bool = False) -> list[OutboxRow]:
    where, params = [], []
    if channel is not None:
        where.append("channel = %s")
        params.append(channel)
    if pending_only:
        where.append("delivered_at IS NULL")
    sql = f"SELECT {_COLUMNS} FROM outbox" + (" WHERE " + " AND ".join(where) if where else "")
    return [OutboxRow(*r) for r in conn.execute(sql + " ORDER BY message_id", params).fetchall()]


def depth(conn: psycopg.Connection) -> int:
    """Messages not yet delivered (a metric: grows while a receiver is down)."""
    row = conn.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()
    return int(row[0]) if row else 0


def queued_keys(conn: psycopg.Connection, channel: str, keys: list[str]) -> set[str]:
    """Which of ``keys`` were ever queued on ``channel`` (delivered or not)."""
    rows = conn.execute(
        "SELECT dedup_key FROM outbox WHERE channel = %s AND dedup_key = ANY(%s)", (channel, keys)
    ).fetchall()
    return {str(r[0]) for r in rows}
